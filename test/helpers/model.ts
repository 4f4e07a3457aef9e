// A complete, frozen berth data model with a seeded config, for unit tests of the engine handlers (no MTP).
import { createRegistry } from '../../src/datamodel/registry.ts';
import type { DataModel } from '../../src/datamodel/data-model.ts';
import { bindDevice } from '../../src/datamodel/bindings/device.ts';
import { bindLocalAgent } from '../../src/datamodel/bindings/local-agent.ts';
import { bindMqtt } from '../../src/datamodel/bindings/mqtt.ts';
import { bindMtps } from '../../src/datamodel/bindings/mtps.ts';
import { createMqttStats } from '../../src/mtp/mqtt-stats.ts';
import { configRequiresTls, stompConfigRequiresTls } from '../../src/datamodel/transport-security.ts';
import { STOMP_CONNECTION_ALIAS } from '../../src/config/seed-mtps.ts';
import { bindSoftwareModules } from '../../src/datamodel/bindings/software-modules.ts';
import { bindDeploymentUnits } from '../../src/datamodel/bindings/deployment-units.ts';
import { bindVendorLogFiles } from '../../src/datamodel/bindings/vendor-log-files.ts';
import { bindAudit } from '../../src/datamodel/bindings/audit.ts';
import type { Transaction } from '../../src/datamodel/transaction.ts';
import type { SmmService } from '../../src/smm/smm-service.ts';
import { berthModel, DATA_MODEL_URI } from '../../datamodel/index.ts';
import { createRequestManager } from '../../src/engine/requests.ts';
import type { RequestManager } from '../../src/engine/requests.ts';
import { parseConfig } from '../../src/config/config.ts';
import type { BerthConfig } from '../../src/config/config.ts';
import { applyConfig } from '../../src/config/seed.ts';
import type { RequestContext } from '../../src/engine/context.ts';
import { createSilentLogger } from '../../src/log.ts';
import { createResponseBudget } from '../../src/engine/response-budget.ts';
import { createAccessControl } from '../../src/access/access.ts';
import type { AccessControl } from '../../src/access/access.ts';

export const AGENT_ID = 'os::012345-TEST01';
export const CONTROLLER_ID = 'proto::test-controller';

export function testConfig(overrides: Record<string, unknown> = {}): BerthConfig {
  return parseConfig({
    endpointId: AGENT_ID,
    dataDir: '/nonexistent',
    mqtt: { url: 'mqtt://127.0.0.1:1883' },
    controllers: [
      { endpointId: CONTROLLER_ID, topic: 'usp/controller/test' },
      { endpointId: 'proto::other', topic: 'usp/controller/other' },
    ],
    ...overrides,
  });
}

export interface TestModel {
  readonly dm: DataModel;
  readonly requests: RequestManager;
  readonly onBoardRequests: string[];
  readonly accessControl: AccessControl;
  ctx(originator?: string): RequestContext;
  /** Rebuilds the DeploymentUnit/ExecutionUnit rows from the SMM service's deployments. */
  syncDeploymentRows(): void;
}

/** `smm`: a stand-in SMM service (default: one with no apps installed). */
export function createTestModel(config: BerthConfig = testConfig(), options: { smm?: SmmService } = {}): TestModel {
  const logger = createSilentLogger();
  let requests: RequestManager | undefined;
  let dm: DataModel | undefined;
  const onBoardRequests: string[] = [];
  const registry = createRegistry(berthModel, DATA_MODEL_URI);
  bindDevice(
    registry,
    { manufacturer: 'berth', manufacturerOui: '012345', modelName: 'test', description: 'test', productClass: 'gw', serialNumber: 'SN1', hardwareVersion: '1', softwareVersion: '0.0.0' },
    () => 42,
  );
  bindLocalAgent(
    registry,
    {
      endpointId: config.endpointId,
      softwareVersion: '0.0.0',
      upTimeSeconds: () => 42,
      requests: () => requests!,
      sendOnBoardRequest: (controller) => onBoardRequests.push(controller.path),
      now: () => new Date('2026-01-02T03:04:05Z'),
    },
    () => dm!,
  );
  bindMtps(
    registry,
    {
      agentMtpStatus: () => 'Up',
      responseTopicDiscovered: () => '',
      destinationFromServer: () => '',
      stompStatus: () => 'Enabled',
      stompLastChange: () => 0,
      stompIsEncrypted: () => false,
      stompTlsRequired: (connection) => dm!.read(connection, 'Alias') === STOMP_CONNECTION_ALIAS && config.stomp !== undefined && stompConfigRequiresTls(config.stomp),
      webSocketRetryCount: () => 0,
      webSocketReset: () => undefined,
      changed: () => undefined,
    },
    () => dm!,
  );
  bindMqtt(
    registry,
    {
      status: () => 'Connected',
      responseInformation: () => '',
      stats: () => createMqttStats().values(),
      configChanged: () => undefined,
      retryChanged: () => undefined,
      forceReconnect: () => undefined,
      subscriptionsChanged: () => undefined,
      subscriptionStatus: () => 'Unsubscribed',
      tlsRequired: () => config.mqtt !== undefined && configRequiresTls(config.mqtt),
    },
    () => dm!,
  );
  // No apps installed here: a stand-in for the SMM service that reports fixed holdings (tests of Available*).
  const smm =
    options.smm ??
    ({
      allocatedIn: () => ({ memoryKiB: 1024, cpuPercent: 5, diskKiB: 2048 }),
      deployments: () => [],
      execEnvChanged: () => Promise.resolve(),
      restartExecEnv: () => Promise.resolve(),
    } as unknown as SmmService);
  bindSoftwareModules(registry, { runtimeUp: () => true, runtimeVersion: () => '20.10.24', smm: () => smm, now: () => new Date('2026-01-02T03:04:05Z') }, () => dm!);
  const deploymentRows = bindDeploymentUnits(registry, { smm: () => smm, catalogConfigured: false, now: () => new Date('2026-01-02T03:04:05Z') }, () => dm!);
  bindVendorLogFiles(registry, { smm: () => smm, upload: () => Promise.reject(new Error('no uploads in model tests')) });
  bindAudit(registry, () => dm!);
  dm = registry.freeze();
  applyConfig(dm, config);
  requests = createRequestManager(dm, logger);
  const model = dm;
  const accessControl = createAccessControl(model);
  return {
    dm: model,
    requests,
    onBoardRequests,
    accessControl,
    syncDeploymentRows: () => { deploymentRows.syncRows(); },
    ctx(originator = CONTROLLER_ID) {
      const controller = [...model.table('Device.LocalAgent.Controller.').rows.values()].find((row) => model.read(row, 'EndpointID') === originator)!;
      const access = accessControl.forController(controller);
      return { dm: model, originator, controller, access, requests, logger, budget: createResponseBudget(5 * 1024 * 1024) };
    },
  };
}

/** Runs `work` in one transaction as a Controller would: committed if it returns, rolled back if it throws. */
export function write<T>(model: TestModel, work: (tx: Transaction) => T, originator = CONTROLLER_ID): T {
  return model.dm.update(work, { originator });
}
