// A hostile or careless Controller against a real agent process over a real Mosquitto: huge answers, answers larger
// than the broker carries, tables filled in one message, floods, and Records that pretend to come from the agent.
// After each, the agent still answers everyone, promptly, and keeps what it stores small.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startFixture, skipReason, AGENT_ID } from '../../helpers/usp-fixture.ts';
import type { Fixture } from '../../helpers/usp-fixture.ts';
import type { ControllerClient } from '../../../src/controller/controller-client.ts';
import { usp } from '../../../src/usp/generated/usp.js';
import { encodeRecord, encodeMsg, buildNoSessionRecord } from '../../../src/usp/codec.ts';

const skip = skipReason();
const OTHER = 'proto::household';

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

async function errorOf(controller: ControllerClient, request: usp.Request.$Properties): Promise<usp.Error.$Properties> {
  const msg = await controller.requestRaw(request, { timeoutMs: 20_000 });
  assert.equal(msg.body?.msgBody, 'error', `expected an Error, got ${msg.body?.msgBody ?? 'nothing'}`);
  return msg.body?.error ?? {};
}

describe('hostile Controllers', { skip }, () => {
  let fx: Fixture;
  let household: ControllerClient;
  before(async () => {
    // The test broker (test/helpers/mosquitto.ts) announces a 10 MiB Maximum Packet Size; the agent is allowed 64 MiB,
    // so the broker's figure is the one that binds.
    fx = await startFixture({
      mqtt: { maxMessageBytes: 64 * 1024 * 1024 },
      config: {
        controllers: [
          { endpointId: 'proto::itest', topic: 'usp/controller/itest' },
          { endpointId: OTHER, topic: 'usp/controller/household' },
        ],
      },
    });
    household = await fx.connectController({ endpointId: OTHER, replyTopic: 'usp/controller/household' });
    // 100 subscriptions with 1,000-character IDs make one copy of Device. ~110 KB: 1,000 copies would be ~110 MB.
    const createObjs = Array.from({ length: 100 }, (_, i) => ({
      objPath: 'Device.LocalAgent.Subscription.',
      paramSettings: [{ param: 'ID', value: `${i}-${'x'.repeat(1000)}` }, { param: 'NotifType', value: 'Event' }, { param: 'ReferenceList', value: 'Device.Boot!' }],
    }));
    await household.request({ add: { allowPartial: false, createObjs } });
  });
  after(async () => {
    await fx?.close();
  });

  test('a Get of 10,000 × Device. is refused with 7005 at once; 1,000 × Device. (~110 MB) too, by the broker\'s 10 MiB; the agent stays small', async () => {
    const pid = fx.agent.child.pid!;
    const before = await rssMiB(pid);
    const started = performance.now();
    // More than the entry limit: refused before any work.
    const many = await errorOf(fx.controller, { get: { paramPaths: Array.from({ length: 10_000 }, () => 'Device.') } });
    assert.equal(many.errCode, 7005);
    assert.match(many.errMsg ?? '', /param_paths: 10000 in one message, at most 1000/);
    // Within the entry limit, but an answer of ~110 MB: refused by the response budget while it is being built.
    const large = await errorOf(fx.controller, { get: { paramPaths: Array.from({ length: 1000 }, () => 'Device.') } });
    assert.equal(large.errCode, 7005);
    const limit = Number(/the response would be more than \d+ bytes, and this agent sends at most (\d+) bytes in one message/.exec(large.errMsg ?? '')?.[1]);
    // The agent may send 64 MiB; the broker announced 10 MiB in its CONNACK (Maximum Packet Size), which binds.
    assert.ok(limit < 10 * 1024 * 1024 && limit > 10 * 1024 * 1024 - 4096, `the limit (${limit}) is the broker's 10 MiB less the PUBLISH framing`);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 5000, `answered in ${elapsed.toFixed(0)} ms`);
    const after = await rssMiB(pid);
    assert.ok(after - before < 64, `resident memory grew by ${(after - before).toFixed(1)} MiB (from ${before.toFixed(1)})`);
    // Never disconnected for it (a PUBLISH over the broker's maximum makes it drop the connection).
    assert.doesNotMatch(fx.agent.output(), /reconnecting to the MQTT broker/);
    const ok = await household.get(['Device.LocalAgent.EndpointID', 'Device.MQTT.Client.1.Stats.ConnectionErrors']);
    assert.equal(ok.reqPathResults![0]!.resolvedPathResults![0]!.resultParams!['EndpointID'], AGENT_ID);
    assert.equal(ok.reqPathResults![1]!.resolvedPathResults![0]!.resultParams!['ConnectionErrors'], '0');
  });

  test('an Add of 20,000 persistent subscriptions is refused; 1,000 create at most the per-Controller share; state.json stays small', async () => {
    const subscription = { objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'NotifType', value: 'Event' }, { param: 'ReferenceList', value: 'Device.Boot!' }, { param: 'Persistent', value: 'true' }] };
    const huge = await errorOf(fx.controller, { add: { allowPartial: true, createObjs: Array.from({ length: 20_000 }, () => subscription) } });
    assert.equal(huge.errCode, 7005);
    // The household Controller asks while the other one fills the table: it is not kept waiting.
    const started = performance.now();
    const filling = fx.controller.request({ add: { allowPartial: true, createObjs: Array.from({ length: 1000 }, () => subscription) } }, { timeoutMs: 20_000 });
    await household.get(['Device.LocalAgent.EndpointID']);
    const waited = performance.now() - started;
    const filled = (await filling).addResp!.createdObjResults!;
    assert.equal(filled.filter((r) => r.operStatus?.operSuccess).length, 128, 'one Controller holds at most 128');
    assert.ok(filled.filter((r) => r.operStatus?.operFailure).every((r) => r.operStatus!.operFailure!.errCode === 7005));
    assert.ok(waited < 2000, `the other Controller waited ${waited.toFixed(0)} ms`);
    const { size } = await stat(join(fx.dataDir, 'state.json'));
    assert.ok(size < 512 * 1024, `state.json is ${size} bytes`);
    await fx.controller.request({ delete: { allowPartial: false, objPaths: ['Device.LocalAgent.Subscription.*.'] } });
  });

  test('a flood from one Controller: past 32 pending it is answered 7005 at once, and the other Controller is served in between', async () => {
    const flood = Array.from({ length: 200 }, () => fx.controller.requestRaw({ get: { paramPaths: ['Device.'] } }, { timeoutMs: 30_000 }));
    const started = performance.now();
    await household.get(['Device.LocalAgent.EndpointID']);
    const waited = performance.now() - started;
    const answers = await Promise.all(flood);
    const refused = answers.filter((m) => m.body?.error?.errCode === 7005);
    assert.ok(refused.length > 0, 'some of the flood was refused');
    assert.ok(answers.filter((m) => m.body?.response?.getResp).length >= 32, 'the first 32 were answered');
    assert.match(refused[0]!.body!.error!.errMsg ?? '', /32 requests of this Controller are already waiting/);
    assert.ok(waited < 1000, `the household Controller waited ${waited.toFixed(0)} ms behind 200 requests`);
  });

  test("a Record whose from_id is the agent's own Endpoint ID is ignored, not answered", async () => {
    let answered = false;
    const off = fx.controller.onRecord(() => { answered = true; });
    const msg = encodeMsg({ header: { msgId: 'spoof-1', msgType: usp.Header.MsgType.GET }, body: { request: { get: { paramPaths: ['Device.LocalAgent.'] } } } });
    await fx.controller.publishRaw(encodeRecord(buildNoSessionRecord({ toId: AGENT_ID, fromId: AGENT_ID, msg })));
    await fx.agent.waitForLog("from_id is the agent's own Endpoint ID", 5000);
    await new Promise((r) => setTimeout(r, 500));
    off();
    assert.equal(answered, false);
  });
});
