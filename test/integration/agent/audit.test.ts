// The audit trail of a real agent process over a real Mosquitto: what two Controllers changed shows up in
// Device.X_BERTH-ORG_Audit.Entry. with who, what and how it ended (the MQTT password masked, also on disk), the
// entries survive a restart with their numbering continuing, and `berth ctl audit` prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFixture, skipReason, AGENT_ID, CONTROLLER_ID, CONTROLLER_TOPIC } from '../../helpers/usp-fixture.ts';
import type { Fixture } from '../../helpers/usp-fixture.ts';
import { UspRequestError } from '../../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../../src/controller/controller-client.ts';

const skip = skipReason();
const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'berth.js');
const ENTRIES = 'Device.X_BERTH-ORG_Audit.Entry.';
const HOUSEHOLD = 'proto::household';
const HOUSEHOLD_TOPIC = 'usp/controller/household';

type Row = Record<string, string>;

/** The audit table as a Controller reads it, oldest first. */
async function auditRows(controller: ControllerClient): Promise<Row[]> {
  const result = (await controller.get([ENTRIES])).reqPathResults![0]!;
  assert.equal(result.errCode ?? 0, 0, result.errMsg ?? '');
  return (result.resolvedPathResults ?? []).map((r): Row => ({ path: r.resolvedPath ?? '', ...r.resultParams })).sort((a, b) => Number(a['Sequence']) - Number(b['Sequence']));
}

const settings = (values: Record<string, string>) => Object.entries(values).map(([param, value]) => ({ param, value, required: true }));

function nextConnectRecord(controller: ControllerClient): Promise<void> {
  return new Promise((resolve) => {
    const off = controller.onRecord((record) => {
      if (record.recordType !== 'mqttConnect') return;
      off();
      resolve();
    });
  });
}

function ctl(fx: Fixture, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [berth, 'ctl', '--broker', fx.brokerUrl, '--agent', AGENT_ID, '--controller', CONTROLLER_ID, '--reply-topic', CONTROLLER_TOPIC, ...args], {
      env: { ...process.env, BERTH_FROM_SOURCE: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

test('every state-changing request is in the audit trail: who, what, outcome; secrets masked; kept across a restart; ctl audit', { skip, timeout: 120_000 }, async () => {
  const fx = await startFixture({
    config: {
      controllers: [
        { endpointId: CONTROLLER_ID, topic: CONTROLLER_TOPIC },
        { endpointId: HOUSEHOLD, topic: HOUSEHOLD_TOPIC },
      ],
    },
  });
  try {
    const isp = fx.controller;
    const household = await fx.connectController({ endpointId: HOUSEHOLD, replyTopic: HOUSEHOLD_TOPIC });
    assert.deepEqual(await auditRows(isp), [], 'a new agent has an empty trail');

    // The ISP: a Set, an Add, a Delete that fails, an async Operate.
    await isp.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: settings({ ProvisioningCode: 'audit-1' }) }] } });
    const added = (await isp.request({ add: { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.Controller.', paramSettings: settings({ EndpointID: 'proto::added' }) }] } })).addResp!;
    const addedPath = added.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
    const deleteError = await isp.request({ delete: { allowPartial: false, objPaths: ['Device.LocalAgent.Controller.99.'] } }).then(
      () => assert.fail('deleting a row that does not exist should fail'),
      (error: unknown) => {
        assert.ok(error instanceof UspRequestError, String(error));
        return error;
      },
    );
    const timer = (await isp.request({ operate: { command: 'Device.ScheduleTimer()', commandKey: 'audit-timer', sendResp: true, inputArgs: { DelaySeconds: '1' } } })).operateResp!;
    const requestPath = timer.operationResults![0]!.reqObjPath!;
    // The household: one Set of its own.
    await household.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.2.', paramSettings: settings({ ProvisioningCode: 'household-1' }) }] } });
    // The ISP sets the broker password: the agent reconnects with it.
    const reconnected = nextConnectRecord(isp);
    await isp.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.MQTT.Client.1.', paramSettings: settings({ Username: 'gateway', Password: 'hunter2-secret' }) }] } });
    await reconnected;

    // The timer's OperationComplete entry comes a second later.
    const deadline = Date.now() + 10_000;
    let rows = await auditRows(isp);
    while (!rows.some((r) => r['Message'] === 'OperationComplete') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await auditRows(isp);
    }
    const summary = rows.map((r) => [r['Controller'], r['Message'], r['Paths'], r['Outcome'], r['ErrorCode']]);
    assert.deepEqual(summary, [
      [CONTROLLER_ID, 'Set', 'Device.LocalAgent.Controller.1.', 'Success', '0'],
      [CONTROLLER_ID, 'Add', 'Device.LocalAgent.Controller.', 'Success', '0'],
      [CONTROLLER_ID, 'Delete', 'Device.LocalAgent.Controller.99.', 'Failure', String(deleteError.uspErrorCode)],
      [CONTROLLER_ID, 'Operate', 'Device.ScheduleTimer()', 'Started', '0'],
      [HOUSEHOLD, 'Set', 'Device.LocalAgent.Controller.2.', 'Success', '0'],
      [CONTROLLER_ID, 'Set', 'Device.MQTT.Client.1.', 'Success', '0'],
      [CONTROLLER_ID, 'OperationComplete', 'Device.ScheduleTimer()', 'Success', '0'],
    ]);
    const [set, add, del, operate, , password, complete] = rows as [Row, Row, Row, Row, Row, Row, Row];
    const seq = Number(set['Sequence']);
    assert.deepEqual(rows.map((r) => Number(r['Sequence'])), [0, 1, 2, 3, 4, 5, 6].map((i) => seq + i), 'numbered one by one');
    assert.equal(set['path'], `${ENTRIES}${seq}.`, 'the instance number is the sequence number');
    assert.equal(set['Arguments'], 'Device.LocalAgent.Controller.1.ProvisioningCode="audit-1"');
    assert.equal(set['Affected'], 'Device.LocalAgent.Controller.1.');
    assert.match(set['Time']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(set['Time']!) - Date.now()) < 60_000, 'stamped with the time it was made');
    assert.notEqual(set['MsgID'], '');
    assert.equal(add['Arguments'], 'Device.LocalAgent.Controller.EndpointID="proto::added"');
    assert.equal(add['Affected'], addedPath);
    assert.equal(del['ErrorMessage'], deleteError.message.replace(/^USP error \d+: /, ''));
    assert.match(del['Failures']!, /^Device\.LocalAgent\.Controller\.99\.: \d+ /);
    assert.equal(operate['Arguments'], 'DelaySeconds="1"');
    assert.equal(operate['Affected'], requestPath);
    assert.deepEqual([complete['RefSequence'], complete['Affected']], [operate['Sequence'], requestPath], 'the completion names the Operate entry');
    assert.equal(password['Arguments'], 'Device.MQTT.Client.1.Username="gateway", Device.MQTT.Client.1.Password="***"');
    const onDisk = await readFile(join(fx.dataDir, 'audit', 'audit.log'), 'utf8');
    assert.equal(onDisk.trim().split('\n').length, 7);
    assert.ok(!onDisk.includes('hunter2'), 'the password is not on disk either');

    // A restart: the same entries, numbering continues.
    await fx.restartAgent();
    const afterRestart = await auditRows(fx.controller);
    assert.deepEqual(afterRestart, rows);
    await fx.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: settings({ ProvisioningCode: 'audit-2' }) }] } });
    const newest = (await auditRows(fx.controller)).at(-1)!;
    assert.deepEqual([newest['Sequence'], newest['Arguments']], [String(seq + 7), 'Device.LocalAgent.Controller.1.ProvisioningCode="audit-2"']);

    // ctl audit: one line per entry; --by one Controller, --since a sequence number.
    const all = await ctl(fx, ['audit']);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trim().split('\n');
    assert.equal(lines.length, 8, all.stdout);
    assert.equal(lines[0], `#${seq}  ${set['Time']!}  ${CONTROLLER_ID}  Set Device.LocalAgent.Controller.1. (Device.LocalAgent.Controller.1.ProvisioningCode="audit-1")  Success → Device.LocalAgent.Controller.1.`);
    assert.match(lines[2]!, new RegExp(`^#${seq + 2}  \\S+  proto::itest  Delete Device\\.LocalAgent\\.Controller\\.99\\.  Failure ${deleteError.uspErrorCode}: `));
    assert.match(lines[6]!, new RegExp(`^#${seq + 6}  \\S+  proto::itest  OperationComplete of #${seq + 3} Device\\.ScheduleTimer\\(\\)  Success → ${requestPath.replaceAll('.', '\\.')}$`));
    const byHousehold = await ctl(fx, ['audit', '--by', HOUSEHOLD]);
    assert.match(byHousehold.stdout, /^#\d+ {2}\S+ {2}proto::household {2}Set Device\.LocalAgent\.Controller\.2\. \(Device\.LocalAgent\.Controller\.2\.ProvisioningCode="household-1"\) {2}Success/);
    assert.equal(byHousehold.stdout.trim().split('\n').length, 1);
    const since = await ctl(fx, ['audit', '--since', String(seq + 6), '--json']);
    assert.deepEqual((JSON.parse(since.stdout) as Row[]).map((r) => r['Sequence']), [String(seq + 7)]);
  } finally {
    await fx.close();
  }
});
