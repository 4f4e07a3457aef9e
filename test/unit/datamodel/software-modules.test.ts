// Device.SoftwareModules.ExecEnv.{i}.: rows from the config with their allocations and what is available,
// Status from the container runtime (Disabled when a Controller sets Enable=false), rows following config changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestModel, write, testConfig } from '../../helpers/model.ts';
import { handleGet } from '../../../src/engine/handle-get.ts';
import { handleSet } from '../../../src/engine/handle-set.ts';
import { applyConfig } from '../../../src/config/seed.ts';
import { withDefaultExecEnvs } from '../../../src/config/machine-defaults.ts';


const config = testConfig({ execEnvs: [{ name: 'apps', memoryKiB: 65536, cpuPercent: 50, diskKiB: 1_048_576 }, { name: 'isp', memoryKiB: 32768, cpuPercent: 20, diskKiB: 262_144 }] });

test('ExecEnv rows carry the config allocations, the available share and the runtime status', () => {
  const model = createTestModel(config);
  const result = handleGet(model.ctx(), { paramPaths: ['Device.SoftwareModules.'], maxDepth: 0 }).reqPathResults![0]!;
  assert.equal(result.errCode, 0);
  const byPath = Object.fromEntries(result.resolvedPathResults!.map((r) => [r.resolvedPath, r.resultParams!]));
  assert.equal(byPath['Device.SoftwareModules.']!['ExecEnvNumberOfEntries'], '2');
  const apps = byPath['Device.SoftwareModules.ExecEnv.1.']!;
  assert.deepEqual(
    [apps['Name'], apps['Status'], apps['Enable'], apps['AllocatedMemory'], apps['AvailableMemory'], apps['AllocatedCPUPercent'], apps['AvailableCPUPercent'], apps['AllocatedDiskSpace'], apps['AvailableDiskSpace'], apps['Version'], apps['CurrentRunLevel']],
    ['apps', 'Up', 'true', '65536', '64512', '50', '45', '1048576', '1046528', '20.10.24', '-1'],
  );
  assert.equal(byPath['Device.SoftwareModules.ExecEnv.2.']!['Name'], 'isp');
});

test('Enable=false shows Disabled; Name and allocations are read-only; a config without an ExecEnv removes its row', () => {
  const model = createTestModel(config);
  const set = write(model, (tx) =>
    handleSet(model.ctx(), { allowPartial: false, updateObjs: [{ objPath: 'Device.SoftwareModules.ExecEnv.[Name=="isp"].', paramSettings: [{ param: 'Enable', value: 'false', required: true }] }] }, tx),
  );
  assert.ok(set.updatedObjResults![0]!.operStatus!.operSuccess);
  assert.equal(model.dm.get('Device.SoftwareModules.ExecEnv.2.', 'Status'), 'Disabled');
  assert.throws(
    () => write(model, (tx) => handleSet(model.ctx(), { allowPartial: false, updateObjs: [{ objPath: 'Device.SoftwareModules.ExecEnv.1.', paramSettings: [{ param: 'AllocatedMemory', value: '1', required: true }] }] }, tx)),
    /7013|not writable|read-only/i,
  );
  assert.equal(model.dm.get('Device.SoftwareModules.ExecEnv.1.', 'AllocatedMemory'), '65536');
  applyConfig(model.dm, testConfig({ execEnvs: [{ name: 'apps', memoryKiB: 131072, cpuPercent: 50, diskKiB: 1_048_576 }] }));
  const rows = [...model.dm.table('Device.SoftwareModules.ExecEnv.').rows.values()];
  assert.deepEqual(rows.map((row) => [model.dm.read(row, 'Name'), model.dm.read(row, 'AllocatedMemory')]), [['apps', '131072']]);
});

test('without execEnvs in the config, one default ExecEnv is sized from the machine', () => {
  const sized = withDefaultExecEnvs(testConfig({ dataDir: '/tmp' }));
  assert.equal(sized.execEnvs!.length, 1);
  assert.equal(sized.execEnvs![0]!.name, 'default');
  assert.ok(sized.execEnvs![0]!.memoryKiB > 1024);
  assert.ok(sized.execEnvs![0]!.diskKiB > 1024);
  assert.equal(withDefaultExecEnvs(config), config, 'a configured list is kept as it is');
});
