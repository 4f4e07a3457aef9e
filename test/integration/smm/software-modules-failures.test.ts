// What goes wrong with Software Module Management, over USP on the real Docker Engine, and what a Controller then
// sees: bad calls are refused in the OperateResp; faults during an install are reported with their code in
// DUStateChange! (CurrentState Failed) and OperationComplete, and each leaves nothing behind. A crash on probation,
// a failure at each runtime call and a kill at each step are covered on the in-memory runtime
// (test/unit/smm/smm-lifecycle, smm-crash-recovery); here the kills of the real agent process stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipReason, CONTROLLER_ID } from '../../helpers/usp-fixture.ts';
import { dockerSkipReason, startSmmFixture } from '../../helpers/smm-fixture.ts';
import type { SmmFixture } from '../../helpers/smm-fixture.ts';
import { layoutOf } from '../../../src/catalog/repository/repository-layout.ts';

const skip = skipReason() ?? dockerSkipReason();

async function installFails(smm: SmmFixture, args: Record<string, string>, code: number, reason: RegExp): Promise<void> {
  const done = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
  const completed = smm.controller.nextNotify((n) => n.operComplete?.commandKey === `fail-${code}`, 90_000);
  const result = await smm.operate('Device.SoftwareModules.InstallDU()', args, `fail-${code}`);
  assert.ok(result.reqObjPath, `accepted for processing: ${JSON.stringify(result)}`);
  const change = await done;
  assert.equal(change['CurrentState'], 'Failed');
  assert.equal(change['Fault.FaultCode'], String(code), change['Fault.FaultString']);
  assert.match(change['Fault.FaultString']!, reason);
  assert.equal(change['DeploymentUnitRef'], '', 'no DU row was made');
  const complete = (await completed).operComplete!;
  assert.equal(complete.cmdFailure?.errCode, code, 'OperationComplete carries the same fault');
  assert.deepEqual(smm.leftovers(), { containers: [], volumes: [], networks: [] }, 'nothing left behind');
  assert.equal((await smm.params('Device.SoftwareModules.'))['DeploymentUnitNumberOfEntries'], '0');
  assert.deepEqual(await readdir(join(smm.fx.dataDir, 'work')), [], 'no download left in the work folder');
}

test('InstallDU refusals and faults: each reported with its code, nothing left behind', { skip, timeout: 240_000 }, async () => {
  const big = { memoryKiB: 262_144, cpuPercent: 50, diskKiB: 2_097_152 };
  const smm = await startSmmFixture({
    config: {
      execEnvs: [
        { name: 'apps', ...big },
        { name: 'tiny', memoryKiB: 8192, cpuPercent: 10, diskKiB: 1_048_576 },
        // Apps here may publish only ports 20000-30000; 'other' has the default policy.
        { name: 'lab', ...big, network: { publishPorts: { min: 20000, max: 30000 } } },
        { name: 'other', ...big },
      ],
    },
  });
  try {
    await smm.controller.request({
      add: { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'Enable', value: 'true', required: true }, { param: 'NotifType', value: 'OperationComplete', required: true }, { param: 'ReferenceList', value: 'Device.SoftwareModules.InstallDU()', required: true }] }] },
    });
    const url = smm.packageUrl('parental-control@1.0.0');
    // Refused at once, in the OperateResp: no Request row, nothing started.
    const refusals: [Record<string, string>, number, RegExp][] = [
      [{ URL: url, ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.9' }, 7223, /not an ExecEnv/],
      [{ URL: url.replace('http://', 'http://user:secret@') }, 7004, /user name or password/],
      [{ URL: 'ftp://127.0.0.1/app.berth' }, 7004, /not supported/],
      [{ URL: url, UUID: 'not-a-uuid' }, 7004, /version 5 UUID/],
      [{}, 7027, /URL/],
    ];
    for (const [args, code, reason] of refusals) {
      const result = await smm.operate('Device.SoftwareModules.InstallDU()', args);
      assert.equal(result.cmdFailure?.errCode, code, `${JSON.stringify(args)} → ${JSON.stringify(result)}`);
      assert.match(result.cmdFailure.errMsg!, reason);
    }
    await smm.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.SoftwareModules.ExecEnv.2.', paramSettings: [{ param: 'Enable', value: 'false', required: true }] }] } });
    assert.equal((await smm.operate('Device.SoftwareModules.InstallDU()', { URL: url, ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.2' })).cmdFailure?.errCode, 7012, 'a disabled ExecEnv takes no installs');
    await smm.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.SoftwareModules.ExecEnv.2.', paramSettings: [{ param: 'Enable', value: 'true', required: true }] }] } });

    // Faults found while working: reported in DUStateChange! and OperationComplete.
    await installFails(smm, { URL: url, ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.2' }, 7227, /not enough memory in ExecEnv tiny: the app needs 16384 KiB, 8192 KiB of 8192 KiB are free/);
    await installFails(smm, { URL: url.replace('1.0.0', '9.9.9') }, 7036, /no signed target/);

    // Corrupt bytes on the catalog server.
    const folder = join(layoutOf(smm.catalogDir).targetsDir, 'berth-samples.example', 'energy-monitor');
    const stored = join(folder, (await readdir(folder))[0]!);
    const bytes = await readFile(stored);
    bytes[bytes.length - 5000]! ^= 0xff;
    await rm(stored);
    await writeFile(stored, bytes);
    await installFails(smm, { URL: smm.packageUrl('energy-monitor@1.0.0') }, 7035, /sha256/);
    await installFails(smm, { URL: url, ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.3' }, 7225, /execution unit filter asks for host port 18080\/tcp, outside the ports ExecEnv lab lets apps publish \(20000-30000, config execEnvs\[\]\.network\.publishPorts\)/);

    // The same version twice: 7226, the installed one untouched.
    const first = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
    await smm.operate('Device.SoftwareModules.InstallDU()', { URL: url });
    const installed = await first;
    assert.equal(installed['CurrentState'], 'Installed');
    const eu = `${installed['ExecutionUnitRefList']}.`;
    const again = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
    await smm.operate('Device.SoftwareModules.InstallDU()', { URL: url });
    const duplicate = await again;
    assert.deepEqual([duplicate['CurrentState'], duplicate['Fault.FaultCode']], ['Failed', '7226']);
    await smm.waitFor(eu, 'Status', (s) => s === 'Active');
    assert.equal(smm.leftovers().containers.length, 1);

    // Its host port is the installed app's: the same app in another ExecEnv is refused, nothing of it made.
    const clash = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
    await smm.operate('Device.SoftwareModules.InstallDU()', { URL: url, ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.4' });
    const taken = await clash;
    assert.deepEqual([taken['CurrentState'], taken['Fault.FaultCode']], ['Failed', '7227']);
    assert.match(taken['Fault.FaultString']!, /execution unit filter asks for host port 18080\/tcp, which an app in another ExecEnv already publishes/);
    assert.deepEqual([smm.leftovers().containers.length, smm.leftovers().networks.length, smm.leftovers().volumes.length], [1, 1, 1]);
    assert.equal((await smm.params('Device.SoftwareModules.'))['DeploymentUnitNumberOfEntries'], '1');

    // A disabled ExecEnv stops its units (UnStartable) and starts them again when enabled.
    await smm.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.SoftwareModules.ExecEnv.1.', paramSettings: [{ param: 'Enable', value: 'false', required: true }] }] } });
    const stopped = await smm.waitFor(eu, 'ExecutionFaultCode', (c) => c === 'UnStartable');
    assert.equal(stopped['Status'], 'Idle');
    assert.equal((await smm.operate(`${eu}SetRequestedState()`, { RequestedState: 'Active' })).cmdFailure?.errCode, 7012);
    await smm.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.SoftwareModules.ExecEnv.1.', paramSettings: [{ param: 'Enable', value: 'true', required: true }] }] } });
    await smm.waitFor(eu, 'Status', (s) => s === 'Active');

    // ModifyConstraints cannot cut below what the app holds unless forced.
    const cut = await smm.operate('Device.SoftwareModules.ExecEnv.1.ModifyConstraints()', { AllocatedMemory: '4096' });
    assert.equal(cut.cmdFailure?.errCode, 7022);
    assert.match(cut.cmdFailure.errMsg!, /below what installed apps hold \(16384 KiB\)/);
  } finally {
    await smm.close();
  }
});

test('kill -9 of the agent mid-install: reported failed after the restart, nothing left behind', { skip, timeout: 180_000 }, async () => {
  // Packages crawl at 200 KiB/s, so the agent is killed while it downloads.
  const smm = await startSmmFixture({ throttleTargetsBytesPerSecond: 200 * 1024 });
  try {
    await smm.operate('Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('parental-control@1.0.0') }, 'interrupted');
    await new Promise((r) => setTimeout(r, 1500));
    const failed = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
    await smm.fx.restartAgent({ kill: true });
    const change = await failed;
    assert.equal(change['CurrentState'], 'Failed');
    assert.match(change['Fault.FaultString']!, /agent stopped during this install/);
    assert.equal((await smm.params('Device.SoftwareModules.'))['DeploymentUnitNumberOfEntries'], '0');
    assert.deepEqual(smm.leftovers(), { containers: [], volumes: [], networks: [] });
    assert.deepEqual(await readdir(join(smm.fx.dataDir, 'work')), []);
  } finally {
    await smm.close();
  }
});

test('kill -9 of the agent mid-update: the old version runs again with its data, the new one is gone', { skip, timeout: 180_000 }, async () => {
  const smm = await startSmmFixture({ config: { smm: { updateProbationSeconds: 30, installProbationSeconds: 1, sampleIntervalSeconds: 5 } } });
  try {
    const installed = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
    await smm.operate('Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('parental-control@1.0.0') });
    const du = `${(await installed)['DeploymentUnitRef']}.`;
    await smm.operate(`${du}Update()`, { URL: smm.packageUrl('parental-control@1.1.0') });
    // Killed while the new version is on probation: its container runs, the old one is stopped.
    await smm.waitFor(du, 'Status', (s) => s === 'Updating');
    const deadline = Date.now() + 30_000;
    while (!smm.leftovers().containers.some(() => true) || smm.leftovers().containers.length < 2) {
      assert.ok(Date.now() < deadline, 'the new version was created');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const failed = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Update');
    await smm.fx.restartAgent({ kill: true });
    const change = await failed;
    assert.deepEqual([change['CurrentState'], change['Version']], ['Installed', '1.0.0']);
    assert.notEqual(change['Fault.FaultCode'], '0');
    const eu = await smm.waitFor('Device.SoftwareModules.ExecutionUnit.1.', 'Status', (s) => s === 'Active');
    assert.equal(eu['Version'], '1.0.0');
    assert.equal((await smm.params(du))['X_BERTH-ORG_InstalledBy'], CONTROLLER_ID, 'who installed it is kept across the restart');
    const left = smm.leftovers();
    assert.equal(left.containers.length, 1, 'only the old version\'s container');
    assert.equal(left.volumes.length, 1, 'only the old version\'s data');
    assert.deepEqual(smm.imageNames().map((name) => name.replace(/-[0-9a-f]{8}$/, '')), ['berth/os-012345-itest1/apps/parental-control:1.0.0'], 'the image the interrupted update loaded is removed');
    const page = await (await fetch('http://127.0.0.1:18080/', { signal: AbortSignal.timeout(5000) }).catch(async () => {
      await new Promise((r) => setTimeout(r, 2000));
      return fetch('http://127.0.0.1:18080/', { signal: AbortSignal.timeout(5000) });
    })).text();
    assert.match(page, /1\.0\.0/);
  } finally {
    await smm.close();
  }
});
