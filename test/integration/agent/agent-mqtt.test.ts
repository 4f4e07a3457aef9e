// The agent as a real process, over a real Mosquitto, driven by an independent mqtt.js Controller:
// requests, notifications, persistence across restarts and kill -9, and MQTT 3.1.1.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, skipReason, CONTROLLER_ID, AGENT_ID, AGENT_TOPIC } from '../../helpers/usp-fixture.ts';
import type { Fixture } from '../../helpers/usp-fixture.ts';
import type { ControllerClient } from '../../../src/controller/controller-client.ts';

const skip = skipReason();

async function addSubscription(controller: ControllerClient, settings: Record<string, string>): Promise<string> {
  const resp = await controller.request({
    add: {
      allowPartial: false,
      createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: Object.entries({ Enable: 'true', ...settings }).map(([param, value]) => ({ param, value, required: true })) }],
    },
  });
  return resp.addResp!.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
}

async function setParams(controller: ControllerClient, objPath: string, values: Record<string, string>, timeoutMs = 10_000): Promise<void> {
  await controller.request({ set: { allowPartial: false, updateObjs: [{ objPath, paramSettings: Object.entries(values).map(([param, value]) => ({ param, value, required: true })) }] } }, { timeoutMs });
}

async function getValue(controller: ControllerClient, path: string): Promise<string> {
  const resp = await controller.get([path]);
  const result = resp.reqPathResults![0]!;
  if (result.errCode) throw new Error(`Get ${path}: ${result.errCode} ${result.errMsg ?? ''}`);
  const name = path.slice(path.lastIndexOf('.') + 1);
  return result.resolvedPathResults![0]!.resultParams![name]!;
}

describe('agent over MQTT 5', { skip }, () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx?.close();
  });

  test('answers Get, GetSupportedProtocol and GetInstances', async () => {
    assert.equal(await getValue(fx.controller, 'Device.LocalAgent.EndpointID'), AGENT_ID);
    assert.equal(await getValue(fx.controller, 'Device.MQTT.Client.1.Status'), 'Connected');
    assert.ok(Number(await getValue(fx.controller, 'Device.MQTT.Client.1.Stats.PublishReceived')) >= 2, 'the requests so far were counted');
    assert.ok(Number(await getValue(fx.controller, 'Device.MQTT.Client.1.Stats.PublishSent')) >= 2, 'as were the answers');
    assert.match(await getValue(fx.controller, 'Device.MQTT.Client.1.Stats.BrokerConnectionEstablished'), /^20\d\d-/);
    const proto = await fx.controller.request({ getSupportedProtocol: { controllerSupportedProtocolVersions: '1.3,1.4' } });
    assert.equal(proto.getSupportedProtocolResp!.agentSupportedProtocolVersions, '1.0,1.1,1.2,1.3,1.4');
    const instances = await fx.controller.request({ getInstances: { objPaths: ['Device.LocalAgent.Controller.'], firstLevelOnly: true } });
    assert.equal(instances.getInstancesResp!.reqPathResults![0]!.currInsts![0]!.uniqueKeys!['EndpointID'], CONTROLLER_ID);
  });

  test('a request without any reply-to is answered on the Controller\'s configured topic', async () => {
    const { usp } = await import('../../../src/usp/generated/usp.js');
    const { encodeMsg, encodeRecord, buildNoSessionRecord } = await import('../../../src/usp/codec.ts');
    const { connect } = await import('mqtt');
    const bare = connect(fx.brokerUrl, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      await new Promise((resolve) => bare.once('connect', resolve));
      const answer = fx.controller.onRecord.bind(fx.controller);
      const got = new Promise<string>((resolve) => {
        const off = answer((record) => {
          if (record.recordType !== 'noSessionContext') return;
          const msg = usp.Msg.decode(record.noSessionContext!.payload!);
          if (msg.header?.msgId === 'no-reply-to') {
            off();
            resolve(msg.body?.response?.getResp?.reqPathResults?.[0]?.resolvedPathResults?.[0]?.resultParams?.['EndpointID'] ?? '');
          }
        });
      });
      const msg = encodeMsg({ header: { msgId: 'no-reply-to', msgType: usp.Header.MsgType.GET }, body: { request: { get: { paramPaths: ['Device.LocalAgent.EndpointID'] } } } });
      await bare.publishAsync(AGENT_TOPIC, Buffer.from(encodeRecord(buildNoSessionRecord({ toId: AGENT_ID, fromId: CONTROLLER_ID, msg }))), { qos: 1 });
      assert.equal(await got, AGENT_ID);
    } finally {
      await bare.endAsync();
    }
  });

  test('an unknown Controller gets nothing (no answer on the topic it names); a Record for another agent is ignored', async () => {
    const stranger = await fx.connectController({ endpointId: 'proto::stranger', replyTopic: 'usp/controller/stranger' });
    await assert.rejects(stranger.request({ get: { paramPaths: ['Device.LocalAgent.EndpointID'] } }, { timeoutMs: 1000 }), /no answer/);

    const { connectController } = await import('../../../src/controller/controller-client.ts');
    const misaddressed = await connectController({ brokerUrl: fx.brokerUrl, endpointId: CONTROLLER_ID, agentEndpointId: 'os::012345-SOMEONE-ELSE', agentTopic: AGENT_TOPIC, replyTopic: 'usp/controller/itest-misaddressed' });
    try {
      await assert.rejects(misaddressed.request({ get: { paramPaths: ['Device.LocalAgent.EndpointID'] } }, { timeoutMs: 1000 }), /no answer/, 'a Record whose to_id is another Endpoint gets no answer');
    } finally {
      await misaddressed.close();
    }
    assert.equal(await getValue(fx.controller, 'Device.LocalAgent.EndpointID'), AGENT_ID, 'and the agent keeps serving');
  });

  test('ValueChange, ObjectCreation and ObjectDeletion notifications', async () => {
    await addSubscription(fx.controller, { NotifType: 'ValueChange', ReferenceList: 'Device.LocalAgent.Controller.1.ProvisioningCode' });
    const valueChange = fx.controller.nextNotify((n) => n.valueChange != null);
    await setParams(fx.controller, 'Device.LocalAgent.Controller.1.', { ProvisioningCode: 'abc' });
    const vc = (await valueChange).valueChange!;
    assert.deepEqual([vc.paramPath, vc.paramValue], ['Device.LocalAgent.Controller.1.ProvisioningCode', 'abc']);

    await addSubscription(fx.controller, { NotifType: 'ObjectCreation', ReferenceList: 'Device.LocalAgent.Controller.' });
    await addSubscription(fx.controller, { NotifType: 'ObjectDeletion', ReferenceList: 'Device.LocalAgent.Controller.*.' });
    const created = fx.controller.nextNotify((n) => n.objCreation != null);
    const add = await fx.controller.request({ add: { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.Controller.', paramSettings: [{ param: 'EndpointID', value: 'proto::new' }] }] } });
    const newPath = add.addResp!.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
    const creation = (await created).objCreation!;
    assert.equal(creation.objPath, newPath);
    assert.equal(creation.uniqueKeys!['EndpointID'], 'proto::new');
    const deleted = fx.controller.nextNotify((n) => n.objDeletion != null);
    await fx.controller.request({ delete: { allowPartial: false, objPaths: [newPath] } });
    assert.equal((await deleted).objDeletion!.objPath, newPath);
  });

  test('async command: Request row, OperationComplete, cancel', async () => {
    await addSubscription(fx.controller, { NotifType: 'OperationComplete', ReferenceList: 'Device.ScheduleTimer()' });
    const done = fx.controller.nextNotify((n) => n.operComplete?.commandKey === 'timer-1');
    const resp = await fx.controller.request({ operate: { command: 'Device.ScheduleTimer()', commandKey: 'timer-1', sendResp: true, inputArgs: { DelaySeconds: '1' } } });
    const requestPath = resp.operateResp!.operationResults![0]!.reqObjPath!;
    assert.match(requestPath, /^Device\.LocalAgent\.Request\.\d+\.$/);
    assert.equal(await getValue(fx.controller, `${requestPath}Status`), 'Active');
    const complete = (await done).operComplete!;
    assert.deepEqual([complete.objPath, complete.commandName, complete.cmdFailure ?? null], ['Device.', 'ScheduleTimer()', null]);
    const gone = await fx.controller.get([requestPath]);
    assert.equal(gone.reqPathResults![0]!.errCode, 7026, 'the Request row is removed once the command completed');

    const canceled = fx.controller.nextNotify((n) => n.operComplete?.commandKey === 'timer-2');
    const long = await fx.controller.request({ operate: { command: 'Device.ScheduleTimer()', commandKey: 'timer-2', sendResp: true, inputArgs: { DelaySeconds: '600' } } });
    await fx.controller.request({ operate: { command: `${long.operateResp!.operationResults![0]!.reqObjPath!}Cancel()`, sendResp: true } });
    assert.equal((await canceled).operComplete!.cmdFailure!.errCode, 7023);
  });

  test('writing a connection parameter of Device.MQTT.Client.1 reconnects and re-sends the MQTTConnectRecord', async () => {
    const reconnected = new Promise<void>((resolve) => {
      const off = fx.controller.onRecord((record) => {
        if (record.recordType === 'mqttConnect') {
          off();
          resolve();
        }
      });
    });
    await setParams(fx.controller, 'Device.MQTT.Client.1.', { KeepAliveTime: '30' });
    await reconnected;
    assert.equal(await getValue(fx.controller, 'Device.MQTT.Client.1.KeepAliveTime'), '30');
    assert.equal(await getValue(fx.controller, 'Device.MQTT.Client.1.Status'), 'Connected');
  });

  test('NotifRetry: the Notify is repeated with the same msg_id until a NotifyResp arrives', async () => {
    await setParams(fx.controller, 'Device.LocalAgent.Controller.1.', { USPNotifRetryMinimumWaitInterval: '1', USPNotifRetryIntervalMultiplier: '1000' });
    await addSubscription(fx.controller, { NotifType: 'ValueChange', ReferenceList: 'Device.LocalAgent.Controller.1.ControllerCode', NotifRetry: 'true' });
    fx.controller.autoNotifyResp = false;
    const seen: string[] = [];
    const off = fx.controller.onNotify((notify, msg) => {
      if (notify.valueChange?.paramPath === 'Device.LocalAgent.Controller.1.ControllerCode') seen.push(msg.header!.msgId!);
    });
    try {
      await setParams(fx.controller, 'Device.LocalAgent.Controller.1.', { ControllerCode: 'retry-me' });
      const deadline = Date.now() + 8000;
      while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(seen.length >= 3, `expected at least 3 deliveries, got ${seen.length}`);
      assert.equal(new Set(seen).size, 1, 'retries reuse the msg_id');
    } finally {
      fx.controller.autoNotifyResp = true;
      off();
    }
    // With NotifyResp on again, the next retry is answered and the retries stop.
    await new Promise((r) => setTimeout(r, 2500));
    const count = seen.length;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(seen.length, count, 'no more retries once a NotifyResp was sent');
  });

  test('persistent data survives a restart, Boot! reaches persistent subscribers, volatile subscriptions do not survive', async () => {
    await setParams(fx.controller, 'Device.LocalAgent.Controller.1.', { ProvisioningCode: 'kept' });
    await addSubscription(fx.controller, { NotifType: 'Event', ReferenceList: 'Device.Boot!', Persistent: 'true' });
    const volatile = await addSubscription(fx.controller, { NotifType: 'Event', ReferenceList: 'Device.LocalAgent.Periodic!' });
    const boot = fx.controller.nextNotify((n) => n.event?.eventName === 'Boot!', 20_000);
    await fx.restartAgent();
    const event = (await boot).event!;
    assert.equal(event.objPath, 'Device.');
    assert.equal(event.params!['Cause'], 'LocalReboot');
    assert.equal(await getValue(fx.controller, 'Device.LocalAgent.Controller.1.ProvisioningCode'), 'kept');
    const gone = await fx.controller.get([volatile]);
    assert.equal(gone.reqPathResults![0]!.errCode, 7026);
  });

  test('kill -9 at any moment: every acknowledged write is there after restart, and the state file is whole', async () => {
    let acknowledged = 0;
    const writer = (async () => {
      for (let i = 1; i <= 10_000; i++) {
        try {
          await setParams(fx.controller, 'Device.LocalAgent.Controller.1.', { ControllerCode: `v${i}` }, 1000);
          acknowledged = i;
        } catch {
          return;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
    await fx.agent.kill9();
    await writer;
    assert.ok(acknowledged > 0, 'some writes were acknowledged before the kill');
    await fx.restartAgent();
    const value = await getValue(fx.controller, 'Device.LocalAgent.Controller.1.ControllerCode');
    const n = Number(value.slice(1));
    assert.ok(n >= acknowledged, `value v${n} is older than the last acknowledged write v${acknowledged}`);
  });

  test('bad input: random and mutated Records, oversized messages; the agent keeps serving', async () => {
    const { encodeMsg, encodeRecord, buildNoSessionRecord } = await import('../../../src/usp/codec.ts');
    const { usp } = await import('../../../src/usp/generated/usp.js');
    const valid = encodeRecord(
      buildNoSessionRecord({
        toId: AGENT_ID,
        fromId: CONTROLLER_ID,
        msg: encodeMsg({ header: { msgId: 'fuzz', msgType: usp.Header.MsgType.GET }, body: { request: { get: { paramPaths: ['Device.LocalAgent.'] } } } }),
      }),
    );
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 1000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = new Uint8Array(rand(200));
        for (let j = 0; j < bytes.length; j++) bytes[j] = rand(256);
      } else {
        bytes = Uint8Array.from(valid);
        for (let k = 0; k < 1 + rand(4); k++) bytes[rand(bytes.length)] = rand(256);
      }
      await fx.controller.publishRaw(bytes);
    }
    await fx.controller.publishRaw(new Uint8Array(6 * 1024 * 1024));
    assert.equal(await getValue(fx.controller, 'Device.LocalAgent.EndpointID'), AGENT_ID);
    assert.equal(fx.agent.child.exitCode, null, 'the agent is still running');
  });
});

describe('agent over MQTT 3.1.1', { skip }, () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ mqttVersion: 4 });
  });
  after(async () => {
    await fx?.close();
  });

  test('requests with a /reply-to= suffix are answered, and notifications arrive', async () => {
    assert.equal(await getValue(fx.controller, 'Device.LocalAgent.EndpointID'), AGENT_ID);
    assert.equal(await getValue(fx.controller, 'Device.MQTT.Client.1.ProtocolVersion'), '3.1.1');
    await addSubscription(fx.controller, { NotifType: 'ValueChange', ReferenceList: 'Device.LocalAgent.Controller.*.ProvisioningCode' });
    const notified = fx.controller.nextNotify((n) => n.valueChange != null);
    await setParams(fx.controller, 'Device.LocalAgent.Controller.1.', { ProvisioningCode: 'v311' });
    assert.equal((await notified).valueChange!.paramValue, 'v311');
  });
});
