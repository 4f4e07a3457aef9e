// Device.SoftwareModules. end to end, as an operator's Controller drives it over a real Mosquitto, with the apps
// on the real Docker Engine: install → Active → usage → stop/start → update (data carried over) → a crash-looping
// update rolled back → downgrade refused → uninstall leaves no labelled container, volume, network or image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { skipReason, CONTROLLER_ID } from '../../helpers/usp-fixture.ts';
import { dockerSkipReason, startSmmFixture } from '../../helpers/smm-fixture.ts';

const skip = skipReason() ?? dockerSkipReason();
const APP_PORT = 18080;

/** A request to the app; Active means its container runs, the app may need a moment more to listen. */
async function http(path: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${APP_PORT}${path}`, { signal: AbortSignal.timeout(5000) });
      return await response.text();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('an app goes through its whole life over USP: install, run, stop, update, rollback, uninstall', { skip, timeout: 240_000 }, async () => {
  const smm = await startSmmFixture();
  try {
    // InstallDU: OperateResp with a Request row, then DUStateChange! (Installed, no fault) and the rows.
    const installed = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
    const resp = await smm.operate('Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('parental-control@1.0.0'), ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.1' }, 'install-1');
    assert.match(resp.reqObjPath ?? '', /^Device\.LocalAgent\.Request\.\d+\.$/, JSON.stringify(resp));
    const change = await installed;
    assert.equal(change['CurrentState'], 'Installed', change['Fault.FaultString']);
    assert.equal(change['Fault.FaultCode'], '0');
    assert.equal(change['Version'], '1.0.0');
    assert.match(change['UUID']!, /^[0-9a-f-]{36}$/);
    const duPath = `${change['DeploymentUnitRef']}.`;
    const euPath = `${change['ExecutionUnitRefList']}.`;
    assert.match(euPath, /^Device\.SoftwareModules\.ExecutionUnit\.\d+\.$/);
    const du = await smm.params(duPath);
    assert.deepEqual([du['Name'], du['Vendor'], du['Version'], du['Status'], du['ExecutionEnvRef'], du['URL']], ['parental-control', 'berth-samples.example', '1.0.0', 'Installed', 'Device.SoftwareModules.ExecEnv.1', smm.packageUrl('parental-control@1.0.0')]);
    assert.equal(du['X_BERTH-ORG_InstalledBy'], CONTROLLER_ID, 'the DU records which Controller installed it');
    // The image carries berth's own name, not the one in its archive; the unit runs as the manifest's user.
    const imageId = du['DUID']!;
    assert.match(smm.imageNames().join(' '), /^berth\/os-012345-itest1\/apps\/parental-control:1\.0\.0-[0-9a-f]{8}$/);

    // Active, answering on its published port, with its allocations and sampled use.
    let eu = await smm.waitFor(euPath, 'Status', (s) => s === 'Active');
    assert.deepEqual([eu['Name'], eu['ExecutionFaultCode'], eu['AllocatedMemory'], eu['AutoStart']], ['filter', 'NoFault', '16384', 'true']);
    assert.match(await http('/cgi-bin/check?host=malware.example'), /block/);
    eu = await smm.waitFor(euPath, 'MemoryInUse', (v) => Number(v) > 0);
    assert.ok(Number(eu['MemoryInUse']) < 16384, `memory in use ${eu['MemoryInUse']} KiB is within its 16 MiB`);
    const env = await smm.params('Device.SoftwareModules.ExecEnv.1.');
    assert.equal(env['AvailableMemory'], String(262_144 - 16384), 'the app\'s allocation is taken from the ExecEnv');
    assert.equal(env['ActiveExecutionUnits'], euPath.slice(0, -1));

    // Data written at runtime, to be carried over by the update.
    assert.match(await http('/cgi-bin/block?host=kept.example'), /blocked kept\.example/);

    // Its log is reachable: VendorLogFile.{i}.Upload() PUTs it to the Controller's URL.
    assert.equal(eu['VendorLogList'], `Device.DeviceInfo.VendorLogFile.${euPath.split('.')[3]!}`);
    const uploads: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        uploads.push(`${req.method ?? ''} ${body}`);
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const port = (receiver.address() as { port: number }).port;
      const uploaded = smm.controller.nextNotify((n) => n.operComplete?.commandKey === 'log-1', 30_000);
      await smm.controller.request({ add: { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'Enable', value: 'true', required: true }, { param: 'NotifType', value: 'OperationComplete', required: true }, { param: 'ReferenceList', value: 'Device.DeviceInfo.VendorLogFile.', required: true }] }] } });
      await smm.operate(`${eu['VendorLogList']}.Upload()`, { URL: `http://127.0.0.1:${port}/logs/filter.log` }, 'log-1');
      assert.equal((await uploaded).operComplete!.cmdFailure, null);
      assert.match(uploads[0] ?? '', /^PUT parental-control 1\.0\.0 filtering \d+ domains/);
    } finally {
      receiver.close();
    }

    // SetRequestedState: Idle stops the container (subscribers hear each Status change), Active starts it again.
    await smm.controller.request({ add: { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'Enable', value: 'true', required: true }, { param: 'NotifType', value: 'ValueChange', required: true }, { param: 'ReferenceList', value: `${euPath}Status`, required: true }] }] } });
    const toIdle = smm.controller.nextNotify((n) => n.valueChange?.paramPath === `${euPath}Status` && n.valueChange.paramValue === 'Idle', 15_000);
    assert.equal((await smm.operate(`${euPath}SetRequestedState()`, { RequestedState: 'Idle' })).cmdFailure, null);
    await toIdle;
    await smm.waitFor(euPath, 'Status', (s) => s === 'Idle');
    assert.equal((await smm.operate(`${euPath}SetRequestedState()`, { RequestedState: 'Active' })).cmdFailure, null);
    await smm.waitFor(euPath, 'Status', (s) => s === 'Active');

    // Run levels: a unit with RunLevel 5 stops when the ExecEnv goes to run level 3 and starts again at 5.
    await smm.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: euPath, paramSettings: [{ param: 'RunLevel', value: '5', required: true }] }] } });
    assert.equal((await smm.operate('Device.SoftwareModules.ExecEnv.1.SetRunLevel()', { RequestedRunLevel: '3' })).cmdFailure, null);
    await smm.waitFor(euPath, 'Status', (s) => s === 'Idle');
    assert.equal((await smm.params('Device.SoftwareModules.ExecEnv.1.'))['CurrentRunLevel'], '3');
    await smm.operate('Device.SoftwareModules.ExecEnv.1.SetRunLevel()', { RequestedRunLevel: '5' });
    await smm.waitFor(euPath, 'Status', (s) => s === 'Active');

    // Update to 1.1.0: same DU and EU rows, new version running, runtime data kept.
    const updated = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Update');
    await smm.operate(`${duPath}Update()`, { URL: smm.packageUrl('parental-control@1.1.0') });
    const afterUpdate = await updated;
    assert.deepEqual([afterUpdate['CurrentState'], afterUpdate['Fault.FaultCode'], afterUpdate['Version'], afterUpdate['DeploymentUnitRef']], ['Installed', '0', '1.1.0', duPath.slice(0, -1)], afterUpdate['Fault.FaultString']);
    assert.deepEqual([(await smm.params(duPath))['Version'], (await smm.params(duPath))['X_BERTH-ORG_InstalledBy']], ['1.1.0', CONTROLLER_ID], 'an Update keeps who installed it');
    await smm.waitFor(euPath, 'Status', (s) => s === 'Active');
    assert.match(await http('/'), /1\.1\.0/);
    assert.match(await http('/cgi-bin/check?host=kept.example'), /block/, 'data written under 1.0.0 survived the update');

    // Restart(): the unit goes down and comes back (its Uptime starts again).
    await new Promise((r) => setTimeout(r, 2100));
    const before = Number((await smm.params(euPath))['Uptime']);
    assert.ok(before >= 2, `Uptime counts (${before} s)`);
    assert.equal((await smm.operate(`${euPath}Restart()`)).cmdFailure, null);
    await smm.waitFor(euPath, 'Uptime', (u) => Number(u) < before);
    await smm.waitFor(euPath, 'Status', (s) => s === 'Active');

    // 1.2.0 crashes after a second: the update is rolled back, 1.1.0 runs again with its data.
    const rolledBack = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Update');
    await smm.operate(`${duPath}Update()`, { URL: smm.packageUrl('parental-control@1.2.0') });
    const failed = await rolledBack;
    assert.equal(failed['CurrentState'], 'Installed');
    assert.equal(failed['Version'], '1.1.0', 'the DU stays at its old version');
    assert.notEqual(failed['Fault.FaultCode'], '0');
    assert.match(failed['Fault.FaultString']!, /exited with code 3/);
    await smm.waitFor(euPath, 'Status', (s) => s === 'Active');
    assert.match(await http('/'), /1\.1\.0/);
    assert.match(await http('/cgi-bin/check?host=kept.example'), /block/, 'data as it was before the failed update');

    // A downgrade is refused.
    const downgrade = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Update');
    await smm.operate(`${duPath}Update()`, { URL: smm.packageUrl('parental-control@1.0.0') });
    const refused = await downgrade;
    assert.deepEqual([refused['Fault.FaultCode'], refused['Version']], ['7229', '1.1.0']);

    // Disk quota: the app writes 10 MiB into its data (its allocation is 8 MiB): berth stops it and says why.
    const container = smm.leftovers().containers[0]!;
    // (berth may stop the container while the write is still going: then docker exec ends with 137.)
    assert.ok([0, 137].includes(spawnSync('docker', ['exec', container, '/bin/sh', '-c', 'head -c 10485760 /dev/zero > /data/big']).status ?? -1));
    const overQuota = await smm.waitFor(euPath, 'ExecutionFaultCode', (c) => c === 'FailureWhileActive', 30_000);
    assert.equal(overQuota['Status'], 'Idle');
    assert.match(overQuota['ExecutionFaultMessage']!, /uses \d+ KiB of disk, its allocation is 8192 KiB/);

    // Uninstall: rows gone, nothing labelled left, the image gone with berth's name for it.
    const removed = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Uninstall');
    await smm.operate(`${duPath}Uninstall()`);
    const gone = await removed;
    assert.deepEqual([gone['CurrentState'], gone['Fault.FaultCode'], gone['ExecutionUnitRefList']], ['Uninstalled', '0', euPath.slice(0, -1)]);
    const rows = await smm.controller.get(['Device.SoftwareModules.'], 1);
    const top = rows.reqPathResults![0]!.resolvedPathResults!.find((r) => r.resolvedPath === 'Device.SoftwareModules.')!.resultParams!;
    assert.deepEqual([top['DeploymentUnitNumberOfEntries'], top['ExecutionUnitNumberOfEntries']], ['0', '0']);
    assert.deepEqual(smm.leftovers(), { containers: [], volumes: [], networks: [] });
    assert.deepEqual(smm.imageNames(), [], 'no image name of the app is left');
    // The image went with berth's name, unless something else on the host (another test's agent) names it too.
    const inspected = spawnSync('docker', ['image', 'inspect', '-f', '{{json .RepoTags}}', imageId], { encoding: 'utf8' });
    const otherNames = inspected.status === 0 ? (JSON.parse(inspected.stdout) as string[]) : undefined;
    assert.ok(otherNames === undefined || otherNames.length > 0, 'the image is not left behind without a name');
  } finally {
    await smm.close();
  }
});
