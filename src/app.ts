// The composition root: builds the data model, the engine, the MTP and the store from a validated config.
// The only place adapters are constructed (DESIGN.md §1). Nothing here listens until start().
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { createRegistry } from './datamodel/registry.ts';
import type { DataModel, DataModelSnapshot } from './datamodel/data-model.ts';
import type { DmObject } from './datamodel/instances.ts';
import { bindDevice } from './datamodel/bindings/device.ts';
import { bindLocalAgent } from './datamodel/bindings/local-agent.ts';
import { bindMqtt } from './datamodel/bindings/mqtt.ts';
import { bindSoftwareModules, execEnvInfo, EXEC_ENV_TABLE } from './datamodel/bindings/software-modules.ts';
import { bindDeploymentUnits, raiseDuStateChange } from './datamodel/bindings/deployment-units.ts';
import { bindVendorLogFiles } from './datamodel/bindings/vendor-log-files.ts';
import { bindAudit, AUDIT_ROWS } from './datamodel/bindings/audit.ts';
import { createAuditTrail } from './audit/audit-trail.ts';
import { createMasker, securedNames } from './audit/audit-mask.ts';
import type { AuditEntry } from './audit/audit-entry.ts';
import { openJsonLinesLog } from './store/json-lines-log.ts';
import { createLazyCatalogClient } from './catalog/client/lazy-catalog-client.ts';
import { createSmmService } from './smm/smm-service.ts';
import type { SmmService } from './smm/smm-service.ts';
import { emptySmmState } from './smm/smm-state.ts';
import type { SmmState } from './smm/smm-state.ts';
import { createWorkArea } from './store/work-area.ts';
import { withDefaultExecEnvs } from './config/machine-defaults.ts';
import { DEFAULT_EXEC_ENV_ISOLATION } from './smm/exec-env-policy.ts';
import { createDockerRuntime } from './runtime/docker-runtime.ts';
import { createRuntimeMonitor } from './smm/runtime-monitor.ts';
import { berthModel, DATA_MODEL_URI } from '../datamodel/index.ts';
import { createEngine } from './engine/engine.ts';
import { createAccessControl } from './access/access.ts';
import type { Engine } from './engine/engine.ts';
import { createRequestManager } from './engine/requests.ts';
import type { RequestManager } from './engine/requests.ts';
import { createSubscriptionService } from './engine/subscriptions.ts';
import type { SubscriptionService } from './engine/subscriptions.ts';
import { createMqttMtp } from './mtp/mqtt.ts';
import type { MqttMtp, RetrySettings } from './mtp/mqtt.ts';
import { createMqttStats } from './mtp/mqtt-stats.ts';
import { configRequiresTls } from './mtp/mqtt-transport-security.ts';
import type { Qos, SubscriptionRow } from './mtp/mqtt-subscriptions.ts';
import type { Mtp, MtpStatus } from './mtp/mtp.ts';
import { createJsonStateStore } from './store/state-store.ts';
import { makePrivate, octal } from './store/private-dir.ts';
import type { BerthConfig } from './config/config.ts';
import { applyConfig, seedHash, AGENT_MTP, MQTT_CLIENT } from './config/seed.ts';
import { SUPPORTED_PROTOCOL_VERSIONS } from './usp/codec.ts';
import { BERTH_VERSION } from './version.ts';
import type { Logger } from './log.ts';

/** The audit trail on disk, <dataDir>/audit/audit.log and older files: at most AUDIT_FILES × AUDIT_FILE_BYTES. */
export const AUDIT_FILE_BYTES = 1024 * 1024;
export const AUDIT_FILES = 4;

/** A write to one of these connects the client to another broker: its Stats start again (TR-181). */
const NEW_BROKER = new Set(['BrokerAddress', 'BrokerPort', 'TransportProtocol']);

interface PersistedState {
  readonly configSeed: string;
  readonly dataModel: DataModelSnapshot;
  /** Installed apps and operations in flight; saved in the same atomic write as the rows that show them. */
  readonly smm?: SmmState;
}

export interface Agent {
  readonly dm: DataModel;
  readonly engine: Engine;
  readonly requests: RequestManager;
  readonly subscriptions: SubscriptionService;
  start(): void;
  /** Stops the MTP and timers, waits for pending writes. */
  stop(): Promise<void>;
  /** The MQTT MTP's status (tests, ctl). */
  readonly mtpStatus: MtpStatus;
  readonly smm: SmmService;
  /** When the agent last worked, in ms since the epoch (0: never): a Record sent or received; now, while a DU operation runs. */
  readonly lastActivityAt: number;
}

export async function createAgent(givenConfig: BerthConfig, logger: Logger): Promise<Agent> {
  const config = withDefaultExecEnvs(givenConfig);
  const startedAt = Date.now();
  const upTimeSeconds = (): number => Math.floor((Date.now() - startedAt) / 1000);
  const store = createJsonStateStore<PersistedState>(config.dataDir);

  // The MQTT MTP itself (its Subscription table, its back-off), and as the engine sees it: counting failed publishes.
  let mqtt: MqttMtp | undefined;
  let mtp: Mtp | undefined;
  let mtpStatus: MtpStatus = 'Disabled';
  let responseTopic = '';
  // Device.MQTT.Client.1.Stats: one set of counters for the client, whichever MTP instance runs it.
  const stats = createMqttStats();
  let statsRestart = false;

  const countingPublishErrors = (inner: Mtp): Mtp => ({
    get status() {
      return inner.status;
    },
    get maxRecordBytes() {
      return inner.maxRecordBytes;
    },
    start: () => {
      inner.start();
    },
    stop: () => inner.stop(),
    async send(topic, bytes, kind) {
      try {
        await inner.send(topic, bytes, kind);
      } catch (error) {
        stats.publishFailed();
        throw error;
      }
    },
  });
  let requests: RequestManager | undefined;
  let subscriptions: SubscriptionService | undefined;
  let dm: DataModel | undefined;
  const model = (): DataModel => dm!;

  const registry = createRegistry(berthModel, DATA_MODEL_URI);
  bindDevice(
    registry,
    {
      manufacturer: config.deviceInfo.manufacturer,
      manufacturerOui: config.deviceInfo.manufacturerOui,
      modelName: config.deviceInfo.modelName,
      description: 'Home gateway running the berth app runtime',
      productClass: config.deviceInfo.productClass,
      serialNumber: config.deviceInfo.serialNumber ?? hostname(),
      hardwareVersion: config.deviceInfo.hardwareVersion,
      softwareVersion: BERTH_VERSION,
    },
    upTimeSeconds,
  );
  bindLocalAgent(
    registry,
    {
      endpointId: config.endpointId,
      softwareVersion: BERTH_VERSION,
      upTimeSeconds,
      mtpStatus: () => (mtpStatus === 'Connected' ? 'Up' : mtpStatus.startsWith('Error') ? 'Error' : 'Down'),
      responseTopicDiscovered: () => responseTopic,
      requests: () => requests!,
      sendOnBoardRequest: (controller) => {
        subscriptions!.sendOnBoardRequest(controller, {
          oui: config.deviceInfo.manufacturerOui,
          productClass: config.deviceInfo.productClass,
          serialNumber: config.deviceInfo.serialNumber ?? hostname(),
          versions: SUPPORTED_PROTOCOL_VERSIONS,
        });
      },
      // Takes effect by reconnecting with the new settings, as a write to the MQTT client does.
      agentMtpChanged: () => { scheduleReconnect(); },
      now: () => new Date(),
    },
    model,
  );
  let reconnectTimer: NodeJS.Timeout | undefined;
  const scheduleReconnect = (): void => {
    // Several parameters are usually written in one Set: reconnect once, after the commit.
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void restartMtp();
    }, 50);
  };
  // The agent runs one MQTT client, Device.MQTT.Client.1.
  const tlsRequired = configRequiresTls(config.mqtt);
  const isRunClient = (client: DmObject): boolean => client.path === MQTT_CLIENT;
  const retrySettings = (client: DmObject): RetrySettings => ({
    connectRetryTime: Number(model().read(client, 'ConnectRetryTime')),
    multiplier: Number(model().read(client, 'ConnectRetryIntervalMultiplier')),
    maxInterval: Number(model().read(client, 'ConnectRetryMaxInterval')),
  });
  const subscriptionRows = (client: DmObject): SubscriptionRow[] =>
    [...(client.tables.get('Subscription')?.rows.values() ?? [])]
      .map((row) => ({ topic: model().read(row, 'Topic'), qos: Number(model().read(row, 'QoS')) as Qos, enabled: model().read(row, 'Enable') === 'true' }))
      .filter((row) => row.topic !== '');
  bindMqtt(
    registry,
    {
      status: () => mtpStatus,
      responseInformation: () => responseTopic,
      stats: () => stats.values(),
      configChanged: (client, names) => {
        // TR-181 Stats: reset when the client is (re-)enabled or connects to another broker; done when the old connection is closed.
        if ((names.includes('Enable') && model().read(client, 'Enable') === 'true') || names.some((name) => NEW_BROKER.has(name))) statsRestart = true;
        scheduleReconnect();
      },
      retryChanged: (client) => {
        if (isRunClient(client)) mqtt?.setRetry(retrySettings(client));
      },
      forceReconnect: scheduleReconnect,
      subscriptionsChanged: (client) => {
        if (isRunClient(client)) mqtt?.setSubscriptions(subscriptionRows(client));
      },
      subscriptionStatus: (client, topic) => (isRunClient(client) ? mqtt?.subscriptionStatus(topic) : undefined) ?? 'Unsubscribed',
      tlsRequired: (client) => isRunClient(client) && tlsRequired,
    },
    model,
  );
  const execEnvRows = (): DmObject[] => [...model().table(EXEC_ENV_TABLE).rows.values()];
  const runtime = createDockerRuntime(config.docker?.socketPath ?? '/var/run/docker.sock');
  let smm: SmmService | undefined;
  const runtimeMonitor = createRuntimeMonitor(runtime, 10_000, (up) => {
    logger.info({ up }, up ? 'container runtime answers' : 'container runtime does not answer');
    for (const row of execEnvRows()) model().notifyValueChange(row, 'Status');
    if (up) void smm?.recover();
  });
  bindSoftwareModules(
    registry,
    { runtimeUp: () => runtimeMonitor.up, runtimeVersion: () => runtimeMonitor.version, smm: () => smm!, now: () => new Date() },
    model,
  );
  const deploymentRows = bindDeploymentUnits(registry, { smm: () => smm!, catalogConfigured: config.catalog !== undefined, now: () => new Date() }, model);
  bindVendorLogFiles(registry, { smm: () => smm! });
  const auditRows = bindAudit(registry, model);
  dm = registry.freeze();

  // state.json holds the MQTT password (and every secured parameter) in clear: dataDir 0700, the file 0600.
  for (const change of await makePrivate(config.dataDir, [store.path])) {
    logger.warn({ path: change.path, from: octal(change.from), to: octal(change.to) }, 'set the mode of the agent\'s data folder or state file: it holds secrets in clear');
  }
  // Persisted state first, then the config where it is new or changed.
  const saved = await store.load();
  const configSeed = seedHash(config);
  if (saved) {
    const skipped = dm.restore(saved.dataModel);
    if (skipped.length > 0) logger.warn({ skipped }, 'persisted values the data model no longer declares were dropped');
  }
  if (saved?.configSeed !== configSeed) applyConfig(dm, config);
  // Run levels start where the ExecEnv's InitialRunLevel says, at every start (TR-181).
  dm.update((tx) => {
    for (const row of execEnvRows()) tx.setInternal(row, 'CurrentRunLevel', model().read(row, 'InitialRunLevel'));
  });

  // Whether Docker answers is known before the first Controller asks (ExecEnv Status).
  await runtimeMonitor.checkNow();

  const smmState = saved?.smm ?? emptySmmState();
  const work = createWorkArea(join(config.dataDir, 'work'));
  // Downloads a crash cut short are of no use: the operation is reported failed and never resumed.
  await work.clear();

  let dirty = saved?.configSeed !== configSeed;
  dm.addListener({
    persistentChange: () => {
      dirty = true;
    },
  });
  // Resolves once the newest state is on disk, also when another caller started that write.
  // A failed write leaves the state dirty, so the next flush tries again.
  let lastSave: Promise<void> = Promise.resolve();
  const flushPersistence = (): Promise<void> => {
    if (!dirty) return lastSave;
    dirty = false;
    const attempt = store.save({ configSeed, dataModel: model().snapshot(), smm: smmState }).catch((error: unknown) => {
      dirty = true;
      throw error;
    });
    lastSave = attempt.catch(() => undefined);
    return attempt;
  };
  await flushPersistence();

  smm = createSmmService(
    {
      runtime,
      catalog: config.catalog
        ? createLazyCatalogClient({ url: config.catalog.url, rootFile: config.catalog.root, stateDir: join(config.dataDir, 'trust'), berthVersion: BERTH_VERSION, logger: logger.child({ component: 'catalog' }) })
        : undefined,
      work,
      owner: config.endpointId,
      cpuCount: availableParallelism(),
      execEnv: (name) => execEnvInfo(model(), name),
      isolation: (name) => {
        const env = config.execEnvs?.find((e) => e.name === name);
        return env ? { allowRoot: env.allowRoot, network: env.network } : DEFAULT_EXEC_ENV_ISOLATION;
      },
      persist: () => {
        dirty = true;
        return flushPersistence();
      },
      options: {
        allowDowngrade: config.smm.allowDowngrade,
        probationMs: config.smm.updateProbationSeconds * 1000,
        installProbationMs: config.smm.installProbationSeconds * 1000,
        startTimeoutMs: config.smm.startTimeoutSeconds * 1000,
        allowedCapabilities: config.smm.allowedCapabilities,
        sampleIntervalMs: config.smm.sampleIntervalSeconds * 1000,
      },
      logger: logger.child({ component: 'smm' }),
      onRuntimeChange: () => void runtimeMonitor.checkNow(),
    },
    smmState,
  );
  // Rows follow the service; syncing is coalesced (a burst of unit changes costs one pass).
  let syncQueued = false;
  smm.onChange(() => {
    if (syncQueued) return;
    syncQueued = true;
    queueMicrotask(() => {
      syncQueued = false;
      deploymentRows.syncRows();
    });
  });
  deploymentRows.syncRows();

  const auditLog = await openJsonLinesLog<AuditEntry>({
    dir: join(config.dataDir, 'audit'),
    name: 'audit.log',
    fileBytes: AUDIT_FILE_BYTES,
    files: AUDIT_FILES,
    recent: AUDIT_ROWS,
    logger: logger.child({ component: 'audit' }),
  });
  const audit = createAuditTrail(auditLog, createMasker(securedNames(berthModel)));
  auditRows.show(audit.recent);
  audit.onEntry((entry) => { auditRows.show([entry]); });

  requests = createRequestManager(dm, logger.child({ component: 'requests' }));
  const accessControl = createAccessControl(dm);
  const engine = createEngine({
    dm,
    endpointId: config.endpointId,
    logger: logger.child({ component: 'engine' }),
    requests,
    mtp: () => mtp,
    flushPersistence,
    maxRecordBytes: () => mtp?.maxRecordBytes ?? config.mqtt.maxMessageBytes,
    accessControl,
    audit: (request) => { audit.request(request); },
  });
  subscriptions = createSubscriptionService({ dm, accessControl, send: (controller, msgId, notify) => engine.sendNotify(controller, msgId, notify), logger: logger.child({ component: 'subscriptions' }) });
  engine.attachSubscriptions(subscriptions);
  requests.onOperationComplete((obj, name, key, result, originator) => { subscriptions.operationComplete(obj, name, key, result, originator); });
  requests.onOperationComplete((obj, name, _key, result, originator, requestPath) => { audit.operationComplete(`${obj.path}${name}`, result, { originator, requestPath }); });
  // DUStateChange! follows the operation's OperationComplete (TR-181 §InstallDU: complete, then the event).
  smm.onReport((report) => {
    deploymentRows.syncRows();
    setImmediate(() => { raiseDuStateChange(model(), report); });
  });
  // Async commands and agent-side changes persist too (e.g. a subscription expiring): flush soon after.
  dm.addListener({ persistentChange: () => setImmediate(() => void flushPersistence().catch((error: unknown) => { logger.error({ err: error }, 'saving state failed'); })) });

  const mtpLogger = logger.child({ component: 'mqtt' });
  const setStatus = (status: MtpStatus): void => {
    if (status === mtpStatus) return;
    if (status === 'Connected') stats.connected();
    if (status.startsWith('Error')) stats.connectionFailed();
    mtpStatus = status;
    const client = model().lookup(MQTT_CLIENT);
    if (client) model().notifyValueChange(client, 'Status');
    const agentMtp = model().lookup(AGENT_MTP);
    if (agentMtp) model().notifyValueChange(agentMtp, 'Status');
  };

  const buildMtp = (): MqttMtp | undefined => {
    const d = model();
    const client = d.lookup(MQTT_CLIENT);
    const agentMtp = d.lookup(AGENT_MTP);
    if (!client || !agentMtp || d.read(client, 'Enable') !== 'true' || d.read(agentMtp, 'Enable') !== 'true') return undefined;
    const raw = (obj: DmObject, name: string): string => d.readRaw(obj, obj.schema.params.get(name)!);
    const scheme = { 'TCP/IP': 'mqtt', TLS: 'mqtts', WebSocket: 'ws', WebSocketTLS: 'wss' }[raw(client, 'TransportProtocol')] ?? 'mqtt';
    const host = raw(client, 'BrokerAddress').includes(':') ? `[${raw(client, 'BrokerAddress')}]` : raw(client, 'BrokerAddress');
    const wsPath = scheme.startsWith('ws') ? new URL(config.mqtt.url).pathname : '';
    const mqttObj = agentMtp.objects.get('MQTT')!;
    const optional = <K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> =>
      value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, string>);
    const retry = retrySettings(client);
    return createMqttMtp(
      {
        url: `${scheme}://${host}:${raw(client, 'BrokerPort')}${wsPath}`,
        version: raw(client, 'ProtocolVersion') === '5.0' ? 5 : 4,
        endpointId: config.endpointId,
        agentTopic: raw(mqttObj, 'ResponseTopicConfigured'),
        ...optional('clientId', raw(client, 'ClientID')),
        ...optional('username', raw(client, 'Username')),
        ...optional('password', raw(client, 'Password')),
        ...optional('caFile', config.mqtt.caFile),
        ...optional('certFile', config.mqtt.certFile),
        ...optional('keyFile', config.mqtt.keyFile),
        keepAliveSeconds: Number(raw(client, 'KeepAliveTime')),
        connectRetryTime: retry.connectRetryTime,
        connectRetryIntervalMultiplier: retry.multiplier,
        connectRetryMaxInterval: retry.maxInterval,
        publishQos: Number(raw(mqttObj, 'PublishQoS')) as 0 | 1 | 2,
        subscriptions: subscriptionRows(client),
        maxPacketBytes: config.mqtt.maxMessageBytes,
        requireTls: tlsRequired,
      },
      {
        onRecord: (record) => {
          engine.handleRecord(record);
        },
        onConnected: (info) => {
          responseTopic = info.subscribedTopic === raw(mqttObj, 'ResponseTopicConfigured') ? '' : info.subscribedTopic;
          engine.mtpConnected(info);
        },
        onStatus: (status, detail) => {
          mtpLogger.info({ status, detail }, 'MQTT status');
          setStatus(status);
        },
        onPacket: (direction, cmd) => {
          if (direction === 'sent') stats.packetSent(cmd);
          else stats.packetReceived(cmd);
        },
        onSubscriptionStatus: (topic) => {
          const table = model().lookup(MQTT_CLIENT)?.tables.get('Subscription');
          for (const row of table?.rows.values() ?? []) if (model().read(row, 'Topic') === topic) model().notifyValueChange(row, 'Status');
        },
      },
      mtpLogger,
    );
  };

  let running = false;
  const startMtp = (): void => {
    mqtt = buildMtp();
    mtp = mqtt && countingPublishErrors(mqtt);
    if (mtp) mtp.start();
    else setStatus('Disabled');
  };
  // One restart at a time: two overlapping ones would leave two MQTT clients fighting over one client ID.
  let restarting: Promise<void> = Promise.resolve();
  const restartMtp = (): Promise<void> => {
    restarting = restarting.then(async () => {
      const old = mtp;
      mtp = undefined;
      mqtt = undefined;
      await old?.stop();
      if (statsRestart) stats.reset();
      statsRestart = false;
      if (running) startMtp();
    });
    return restarting;
  };

  return {
    dm,
    engine,
    requests,
    subscriptions,
    get mtpStatus() {
      return mtpStatus;
    },
    get lastActivityAt() {
      const { lastPublishMessageSent, lastPublishMessageReceived } = stats.values();
      return smm.state.inFlight.length > 0 ? Date.now() : Math.max(lastPublishMessageSent, lastPublishMessageReceived);
    },
    smm,
    start() {
      running = true;
      runtimeMonitor.start();
      void smm.boot().catch((error: unknown) => {
        logger.error({ err: error }, 'software module management could not start');
      });
      // Boot! is raised now; it waits in the outbox until the MTP connects.
      subscriptions.start({ cause: 'LocalReboot' });
      startMtp();
      logger.info({ endpointId: config.endpointId, dataDir: config.dataDir, version: BERTH_VERSION }, 'berth agent started');
    },
    async stop() {
      running = false;
      runtimeMonitor.stop();
      smm.close();
      if (reconnectTimer) clearTimeout(reconnectTimer);
      subscriptions.stop();
      await engine.idle();
      await restarting;
      await mtp?.stop();
      mtp = undefined;
      mqtt = undefined;
      audit.close();
      await flushPersistence();
    },
  };
}
