// The composition root: builds the data model, the engine, the MTP manager and the store from a validated config.
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
import type { ContainerRuntime } from './runtime/container-runtime.ts';
import type { PackageCatalog } from './smm/package-catalog.ts';
import { systemClock } from './smm/clock.ts';
import type { Clock } from './smm/clock.ts';
import { httpUpload } from './transfer/http-upload.ts';
import type { Upload } from './datamodel/bindings/vendor-log-files.ts';
import { createRuntimeMonitor } from './smm/runtime-monitor.ts';
import { berthModel, DATA_MODEL_URI } from '../datamodel/index.ts';
import { createEngine } from './engine/engine.ts';
import { createAccessControl } from './access/access.ts';
import type { Engine } from './engine/engine.ts';
import { createRequestManager } from './engine/requests.ts';
import type { RequestManager } from './engine/requests.ts';
import { createSubscriptionService } from './engine/subscriptions.ts';
import type { SubscriptionService } from './engine/subscriptions.ts';
import { mtpLocalSettings } from './config/mtp-local-settings.ts';
import { createMtpManager } from './mtp/mtp-manager.ts';
import type { MtpFactory, MtpManager } from './mtp/mtp-manager.ts';
import { defaultMtpFactory } from './mtp/default-mtp-factory.ts';
import { bindMtps } from './datamodel/bindings/mtps.ts';
import { createJsonStateStore } from './store/state-store.ts';
import type { StateStore } from './store/state-store.ts';
import { createPersistence } from './store/persistence.ts';
import { makePrivate, octal } from './store/private-dir.ts';
import type { BerthConfig } from './config/config.ts';
import { applyConfig, seedHash } from './config/seed.ts';
import { SUPPORTED_PROTOCOL_VERSIONS } from './usp/codec.ts';
import { BERTH_VERSION } from './version.ts';
import type { Logger } from './log.ts';

/** The audit trail on disk, <dataDir>/audit/audit.log and older files: at most AUDIT_FILES × AUDIT_FILE_BYTES. */
export const AUDIT_FILE_BYTES = 1024 * 1024;
export const AUDIT_FILES = 4;

/** A write to one of these connects the client to another broker: its Stats start again (TR-181). */
const NEW_BROKER = new Set(['BrokerAddress', 'BrokerPort', 'TransportProtocol']);

/** What the agent keeps across restarts (the state store's contents). */
export interface PersistedState {
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
  /** Stops the MTPs and timers, waits for pending writes. */
  stop(): Promise<void>;
  /** Whether any MTP is up (a broker connection, a WebSocket session or the listening server). */
  readonly mtpUp: boolean;
  readonly smm: SmmService;
  /** When the agent last worked, in ms since the epoch (0: never): a Record sent or received; now, while a DU operation runs. */
  readonly lastActivityAt: number;
}

/**
 * The adapters createAgent uses. Each has a default (in brackets); tests and OEM builds may pass their own: an
 * in-memory runtime, another MTP factory, a state store on other storage, a catalog of their own, a test clock.
 */
export interface AgentAdapters {
  /** Where apps run [the Docker Engine at config.docker.socketPath]. */
  readonly runtime?: ContainerRuntime;
  /** Builds the MQTT, STOMP and WebSocket MTPs [src/mtp/default-mtp-factory.ts]. */
  readonly mtpFactory?: MtpFactory;
  /** Where the agent's state is kept [<dataDir>/state.json, written atomically]. */
  readonly stateStore?: StateStore<PersistedState>;
  /** Where InstallDU and Update find packages [the TUF catalog at config.catalog, loaded at the first install]. */
  readonly catalog?: PackageCatalog;
  /** Time and timers [the system clock]. */
  readonly clock?: Clock;
  /** How VendorLogFile.Upload() sends a log [HTTP PUT with node:http/https]. */
  readonly upload?: Upload;
}

export async function createAgent(givenConfig: BerthConfig, logger: Logger, adapters: AgentAdapters = {}): Promise<Agent> {
  const config = withDefaultExecEnvs(givenConfig);
  const clock = adapters.clock ?? systemClock;
  const now = (): Date => new Date(clock.now());
  const startedAt = clock.now();
  const upTimeSeconds = (): number => Math.floor((clock.now() - startedAt) / 1000);
  const store = adapters.stateStore ?? createJsonStateStore<PersistedState>(config.dataDir);

  // Built once the data model is: the bindings reach it through this. Rows change before that too (the config is
  // seeded, state restored): those changes need no MTP to follow them, as none runs yet.
  let mtps: MtpManager | undefined;
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
      requests: () => requests!,
      sendOnBoardRequest: (controller) => {
        subscriptions!.sendOnBoardRequest(controller, {
          oui: config.deviceInfo.manufacturerOui,
          productClass: config.deviceInfo.productClass,
          serialNumber: config.deviceInfo.serialNumber ?? hostname(),
          versions: SUPPORTED_PROTOCOL_VERSIONS,
        });
      },
      now,
    },
    model,
  );
  const localSettings = mtpLocalSettings(config);
  bindMqtt(
    registry,
    {
      status: (client) => mtps!.mqttClientStatus(client),
      responseInformation: (client) => {
        const agentMtp = [...model().table('Device.LocalAgent.MTP.').rows.values()].find((row) => model().read(row.objects.get('MQTT')!, 'Reference') === client.path.slice(0, -1));
        return agentMtp ? mtps!.responseTopicDiscovered(agentMtp) : '';
      },
      stats: (client) => mtps!.mqttStats(client),
      configChanged: (client, names) => {
        // TR-181 Stats: reset when the client is (re-)enabled or connects to another broker.
        mtps?.mqttClientChanged(client, (names.includes('Enable') && model().read(client, 'Enable') === 'true') || names.some((name) => NEW_BROKER.has(name)));
      },
      retryChanged: (client) => { mtps?.mqttLiveSettingsChanged(client); },
      forceReconnect: (client) => { mtps?.reconnect(client); },
      subscriptionsChanged: (client) => { mtps?.mqttLiveSettingsChanged(client); },
      subscriptionStatus: (client, topic) => mtps!.mqttSubscriptionStatus(client, topic),
      tlsRequired: (client) => localSettings.mqtt(model().read(client, 'Alias')).requireTls,
    },
    model,
  );
  bindMtps(
    registry,
    {
      agentMtpStatus: (row) => mtps!.agentMtpStatus(row),
      responseTopicDiscovered: (row) => mtps!.responseTopicDiscovered(row),
      destinationFromServer: (row) => mtps!.destinationFromServer(row),
      stompStatus: (connection) => mtps!.stompStatus(connection),
      stompLastChange: (connection) => mtps!.stompLastChange(connection),
      stompIsEncrypted: (connection) => mtps!.stompIsEncrypted(connection),
      stompTlsRequired: (connection) => localSettings.stomp(model().read(connection, 'Alias')).requireTls,
      webSocketRetryCount: (webSocket) => mtps!.webSocketRetryCount(webSocket),
      webSocketReset: (webSocket) => { mtps?.reconnect(webSocket); },
      changed: () => { mtps?.changed(); },
    },
    model,
  );
  const execEnvRows = (): DmObject[] => [...model().table(EXEC_ENV_TABLE).rows.values()];
  const runtime = adapters.runtime ?? createDockerRuntime(config.docker?.socketPath ?? '/var/run/docker.sock');
  let smm: SmmService | undefined;
  const runtimeMonitor = createRuntimeMonitor(runtime, 10_000, (up) => {
    logger.info({ up }, up ? 'container runtime answers' : 'container runtime does not answer');
    for (const row of execEnvRows()) model().notifyValueChange(row, 'Status');
    if (up) void smm?.recover();
  }, clock);
  bindSoftwareModules(
    registry,
    { runtimeUp: () => runtimeMonitor.up, runtimeVersion: () => runtimeMonitor.version, smm: () => smm!, now },
    model,
  );
  const deploymentRows = bindDeploymentUnits(registry, { smm: () => smm!, catalogConfigured: adapters.catalog !== undefined || config.catalog !== undefined, now }, model);
  bindVendorLogFiles(registry, { smm: () => smm!, upload: adapters.upload ?? httpUpload });
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

  const persistence = createPersistence(store, () => ({ configSeed, dataModel: model().snapshot(), smm: smmState }), saved?.configSeed !== configSeed);
  const flushPersistence = persistence.flush;
  dm.addListener({ persistentChange: () => { persistence.markDirty(); } });
  await flushPersistence();

  smm = createSmmService(
    {
      runtime,
      catalog: adapters.catalog ?? (config.catalog
        ? createLazyCatalogClient({ url: config.catalog.url, rootFile: config.catalog.root, stateDir: join(config.dataDir, 'trust'), berthVersion: BERTH_VERSION, logger: logger.child({ component: 'catalog' }) })
        : undefined),
      work,
      owner: config.endpointId,
      cpuCount: availableParallelism(),
      execEnv: (name) => execEnvInfo(model(), name),
      isolation: (name) => {
        const env = config.execEnvs?.find((e) => e.name === name);
        return env ? { allowRoot: env.allowRoot, network: env.network } : DEFAULT_EXEC_ENV_ISOLATION;
      },
      persist: () => {
        persistence.markDirty();
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
      clock,
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
    transport: { sendToController: (controller, bytes, kind) => mtps!.sendToController(controller, bytes, kind) },
    flushPersistence,
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
  mtps = createMtpManager({
    dm,
    endpointId: config.endpointId,
    factory: adapters.mtpFactory ?? defaultMtpFactory,
    local: localSettings,
    logger: logger.child({ component: 'mtp' }),
    onRecord: (record) => { engine.handleRecord(record); },
  });
  const mtpManager = mtps;

  // Async commands and agent-side changes persist too (e.g. a subscription expiring): flush soon after.
  dm.addListener({ persistentChange: () => setImmediate(() => void flushPersistence().catch((error: unknown) => { logger.error({ err: error }, 'saving state failed'); })) });


  return {
    dm,
    engine,
    requests,
    subscriptions,
    get mtpUp() {
      return mtpManager.anyUp;
    },
    get lastActivityAt() {
      return smm.state.inFlight.length > 0 ? clock.now() : mtpManager.lastActivityAt;
    },
    smm,
    start() {
      runtimeMonitor.start();
      void smm.boot().catch((error: unknown) => {
        logger.error({ err: error }, 'software module management could not start');
      });
      // Boot! is raised now; it waits in the outbox until an MTP of each Controller connects.
      subscriptions.start({ cause: 'LocalReboot' });
      mtpManager.start();
      logger.info({ endpointId: config.endpointId, dataDir: config.dataDir, version: BERTH_VERSION }, 'berth agent started');
    },
    async stop() {
      runtimeMonitor.stop();
      smm.close();
      subscriptions.stop();
      await engine.idle();
      await mtpManager.stop();
      audit.close();
      await flushPersistence();
    },
  };
}
