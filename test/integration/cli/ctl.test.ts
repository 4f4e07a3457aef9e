// `berth ctl` as a user runs it, against a running agent: readable output, --json, exit codes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFixture, skipReason, AGENT_ID, CONTROLLER_ID, CONTROLLER_TOPIC } from '../../helpers/usp-fixture.ts';
import type { Fixture } from '../../helpers/usp-fixture.ts';

const skip = skipReason();
const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'berth.js');

describe('berth ctl', { skip }, () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx?.close();
  });

  const ctl = (args: readonly string[], options: { onStdout?: (text: string) => void } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [berth, 'ctl', '--broker', fx.brokerUrl, '--agent', AGENT_ID, '--controller', CONTROLLER_ID, '--reply-topic', CONTROLLER_TOPIC, ...args], {
        env: { ...process.env, BERTH_FROM_SOURCE: '1' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        options.onStdout?.(stdout);
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => {
        resolve({ code, stdout, stderr });
      });
    });

  test('get prints path = value lines; a bad path exits 1 with the USP error', async () => {
    const ok = await ctl(['get', 'Device.LocalAgent.EndpointID', 'Device.LocalAgent.Controller.1.Enable']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `Device.LocalAgent.EndpointID = ${AGENT_ID}\nDevice.LocalAgent.Controller.1.Enable = true\n`);
    const bad = await ctl(['get', 'Device.Nope.']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /Device\.Nope\.: error 7026: /);
  });

  test('set, add, instances and delete', async () => {
    const set = await ctl(['set', 'Device.LocalAgent.Controller.1.', 'ProvisioningCode=from-ctl']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'set Device.LocalAgent.Controller.1.ProvisioningCode = from-ctl\n');
    const badSet = await ctl(['set', 'Device.LocalAgent.Controller.1.', 'Enable=perhaps']);
    assert.equal(badSet.code, 1);
    assert.match(badSet.stderr, /error 7021: .*Enable/);
    assert.match(badSet.stderr, /Device\.LocalAgent\.Controller\.1\.Enable: error 7011/);

    const add = await ctl(['add', 'Device.LocalAgent.Controller.', 'EndpointID=proto::added-by-ctl']);
    assert.equal(add.code, 0, add.stderr);
    const created = /^created (Device\.LocalAgent\.Controller\.\d+\.) \(EndpointID=proto::added-by-ctl Alias=cpe-\d+\)$/m.exec(add.stdout);
    assert.ok(created, add.stdout);
    const instances = await ctl(['instances', 'Device.LocalAgent.Controller.', '--first-level']);
    assert.match(instances.stdout, new RegExp(`^${created[1]!.replaceAll('.', '\\.')}  EndpointID=proto::added-by-ctl`, 'm'));
    const removed = await ctl(['delete', created[1]!]);
    assert.equal(removed.stdout, `deleted ${created[1]!}\n`);
  });

  test('operate --wait follows an async command to OperationComplete', async () => {
    const run = await ctl(['operate', 'Device.ScheduleTimer()', 'DelaySeconds=1', '--wait', '--key', 'ctl-timer']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Device\.ScheduleTimer\(\): started, tracked by Device\.LocalAgent\.Request\.\d+\.$/m);
    assert.match(run.stdout, /^operation complete: Device\.ScheduleTimer\(\) \(key "ctl-timer"\) done \{\}$/m);
    const missing = await ctl(['operate', 'Device.ScheduleTimer()']);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /failed 7027: .*DelaySeconds/);
  });

  test('supported describes the schema; --json prints the USP message', async () => {
    const supported = await ctl(['supported', 'Device.LocalAgent.Subscription.{i}.']);
    assert.match(supported.stdout, /^Device\.LocalAgent\.Subscription\.\{i\}\. {2}\[add\/delete, table\]$/m);
    assert.match(supported.stdout, /^ {2}unique key: Recipient \+ ID$/m);
    assert.match(supported.stdout, /^ {2}NotifType {2}string read-write$/m);
    const json = await ctl(['--json', 'get', 'Device.LocalAgent.EndpointID']);
    const parsed = JSON.parse(json.stdout) as { reqPathResults: { resolvedPathResults: { resultParams: Record<string, string> }[] }[] };
    assert.equal(parsed.reqPathResults[0]!.resolvedPathResults[0]!.resultParams['EndpointID'], AGENT_ID);
  });

  test('subscribe prints notifications and removes its subscription when done', async () => {
    let setDone = false;
    const watching = ctl(['subscribe', 'ValueChange', 'Device.LocalAgent.Controller.1.ControllerCode', '--count', '1']);
    // Change the value once the subscription exists.
    for (let i = 0; i < 50 && !setDone; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const subs = await fx.controller.get(['Device.LocalAgent.Subscription.[ReferenceList=="Device.LocalAgent.Controller.1.ControllerCode"].']);
      if ((subs.reqPathResults?.[0]?.resolvedPathResults ?? []).length > 0) {
        await fx.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'ControllerCode', value: 'watched', required: true }] }] } });
        setDone = true;
      }
    }
    const result = await watching;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'value change: Device.LocalAgent.Controller.1.ControllerCode = watched\n');
    const left = await fx.controller.get(['Device.LocalAgent.Subscription.[ReferenceList=="Device.LocalAgent.Controller.1.ControllerCode"].']);
    assert.deepEqual(left.reqPathResults?.[0]?.resolvedPathResults, [], 'the subscription was deleted');
  });

  test('app verbs: apps lists none and the ExecEnv; install without a catalog is refused; unknown apps are usage errors', async () => {
    const apps = await ctl(['apps']);
    assert.equal(apps.code, 0, apps.stderr);
    assert.match(apps.stdout, /^no apps installed\nExecEnv default \((Up|Error)\): memory 0\.0\/\d+ MiB held/);
    const install = await ctl(['install', 'http://127.0.0.1:1/targets/acme.example/hello/hello-1.0.0.berth']);
    assert.equal(install.code, 1);
    assert.match(install.stdout, /install hello-1\.0\.0\.berth: refused, error 7002: no app catalog is configured/);
    const stop = await ctl(['stop', 'no-such-app']);
    assert.equal(stop.code, 2);
    assert.match(stop.stderr, /no installed app no-such-app/);
  });

  test('usage mistakes exit 2 with a message', async () => {
    const unknown = await ctl(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown verb 'frobnicate'/);
    const badAssignment = await ctl(['set', 'Device.LocalAgent.', 'NoEquals']);
    assert.equal(badAssignment.code, 2);
    assert.match(badAssignment.stderr, /'NoEquals' is not Name=value/);
  });
});
