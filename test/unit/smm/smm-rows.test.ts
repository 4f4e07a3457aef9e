// Pure pieces of Software Module Management: EUIDs, DUStateChange! arguments, and InstallDU's synchronous checks
// (refused in the OperateResp, before any Request row exists).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { euidOf } from '../../../src/smm/smm-state.ts';
import { toDuStateChangeArgs } from '../../../src/datamodel/bindings/deployment-units.ts';
import { handleOperate } from '../../../src/engine/handle-operate.ts';
import { createTestModel, testConfig } from '../../helpers/model.ts';
import type { DeploymentEntry } from '../../../src/smm/smm-state.ts';
import type { SmmService } from '../../../src/smm/smm-service.ts';
import { VENDOR_PREFIX } from '../../../src/datamodel/vendor.ts';

test('EUIDs are readable, stable, at most 64 characters, and distinct when shortened', () => {
  assert.equal(euidOf('apps', 'parental-control', 'filter'), 'parental-control.filter@apps');
  const long = euidOf('an-execution-environment-name', 'an-app-with-a-rather-long-name', 'and-a-long-unit-name');
  const other = euidOf('an-execution-environment-name', 'an-app-with-a-rather-long-name', 'and-a-long-unit-name2');
  assert.ok(long.length <= 64 && other.length <= 64);
  assert.notEqual(long, other);
  assert.equal(long, euidOf('an-execution-environment-name', 'an-app-with-a-rather-long-name', 'and-a-long-unit-name'));
});

test('DUStateChange! carries every argument: refs without the trailing dot, times in UTC, fault 0 on success', () => {
  const start = new Date('2026-11-25T10:00:00.123Z');
  const complete = new Date('2026-11-25T10:00:04Z');
  const ok = toDuStateChangeArgs({ operation: 'Install', uuid: 'u', version: '1.0.0', execEnv: 'apps', currentState: 'Installed', duInstance: 3, euInstances: [4, 5], startTime: start, completeTime: complete, fault: undefined });
  assert.deepEqual(ok, {
    UUID: 'u',
    DeploymentUnitRef: 'Device.SoftwareModules.DeploymentUnit.3',
    Version: '1.0.0',
    CurrentState: 'Installed',
    Resolved: 'true',
    ExecutionUnitRefList: 'Device.SoftwareModules.ExecutionUnit.4,Device.SoftwareModules.ExecutionUnit.5',
    StartTime: ok['StartTime'],
    CompleteTime: '2026-11-25T10:00:04Z',
    OperationPerformed: 'Install',
    'Fault.FaultCode': '0',
    'Fault.FaultString': '',
  });
  assert.match(ok['StartTime']!, /^2026-11-25T10:00:00(\.\d+)?Z$/);
  const failed = toDuStateChangeArgs({ operation: 'Install', uuid: '', version: '', execEnv: 'apps', currentState: 'Failed', duInstance: undefined, euInstances: [], startTime: start, completeTime: complete, fault: { code: 7227, message: 'x'.repeat(300) } });
  assert.deepEqual([failed['DeploymentUnitRef'], failed['Resolved'], failed['Fault.FaultCode'], failed['Fault.FaultString']!.length], ['', 'false', '7227', 256]);
});

test('InstallDU without a catalog, with a bad URL, UUID or ExecEnv is refused in the OperateResp', async () => {
  const model = createTestModel(testConfig({ execEnvs: [{ name: 'apps', memoryKiB: 65536, cpuPercent: 50, diskKiB: 1_048_576 }] }));
  const operate = async (inputArgs: Record<string, string>) =>
    (await handleOperate(model.ctx(), { command: 'Device.SoftwareModules.InstallDU()', commandKey: '', sendResp: true, inputArgs })).operationResults![0]!;
  const noCatalog = await operate({ URL: 'http://catalog/targets/a/b/b-1.0.0.berth' });
  assert.equal(noCatalog.cmdFailure?.errCode, 7002);
  assert.match(noCatalog.cmdFailure.errMsg!, /no app catalog is configured/);
  assert.equal(noCatalog.reqObjPath ?? '', '', 'no Request row');
  assert.equal((await operate({})).cmdFailure?.errCode, 7027, 'URL is mandatory');
  assert.equal(model.dm.table('Device.LocalAgent.Request.').rows.size, 0);
});

test('each DU shows the Controller that installed it (X_BERTH-ORG_InstalledBy); state saved before berth recorded it still loads', () => {
  // Two deployments as state.json holds them: one saved by an older berth (no installedBy), one with it.
  const saved = (instance: number, extra: string): DeploymentEntry =>
    JSON.parse(
      `{"record":{"uuid":"u${instance}","name":"app${instance}","vendor":"v","version":"1.0.0","execEnv":"apps","imageId":"sha256:${instance}","network":"n","volumes":[],"units":[]},` +
        `"instance":${instance},"alias":"cpe-du-${instance}","url":"http://c/${instance}","description":"","installedAt":"2026-01-01T00:00:00.000Z",` +
        `"lastUpdate":"2026-01-01T00:00:00.000Z","moduleVersion":"","unpackedBytes":1,"units":[]${extra}}`,
    ) as DeploymentEntry;
  const entries = [saved(1, ''), saved(2, ',"installedBy":"proto::isp"')];
  const smm = { deployments: () => entries, duStatus: () => 'Installed', allocatedIn: () => ({ memoryKiB: 0, cpuPercent: 0, diskKiB: 0 }) } as unknown as SmmService;
  const model = createTestModel(testConfig({ execEnvs: [{ name: 'apps', memoryKiB: 65536, cpuPercent: 50, diskKiB: 1_048_576 }] }), { smm });
  model.syncDeploymentRows();
  const installedBy = (path: string): string => model.dm.read(model.dm.object(path), `${VENDOR_PREFIX}InstalledBy`);
  assert.equal(VENDOR_PREFIX, 'X_BERTH-ORG_');
  assert.equal(installedBy('Device.SoftwareModules.DeploymentUnit.1.'), '');
  assert.equal(installedBy('Device.SoftwareModules.DeploymentUnit.2.'), 'proto::isp');
  assert.throws(() => {
    model.dm.update((tx) => tx.setParam(model.dm.object('Device.SoftwareModules.DeploymentUnit.2.'), `${VENDOR_PREFIX}InstalledBy`, 'proto::me', 'set'));
  }, /read-only/);
});
