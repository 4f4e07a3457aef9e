// createAgent with every adapter replaced: an in-memory container runtime, an MTP that is a pair of arrays, a state
// store in memory, a clock a test sets and an upload that records. What an OEM build or a test can substitute, shown
// by a Controller's Get and Set through the real engine, with nothing started but the agent itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../../../src/app.ts';
import type { PersistedState } from '../../../src/app.ts';
import { parseConfig } from '../../../src/config/config.ts';
import type { MtpFactory } from '../../../src/mtp/mtp-manager.ts';
import type { MqttMtp, MqttMtpEvents } from '../../../src/mtp/mqtt.ts';
import type { StateStore } from '../../../src/store/state-store.ts';
import type { Clock } from '../../../src/smm/clock.ts';
import { buildNoSessionRecord, decodeMsg, decodeRecord, encodeMsg, encodeRecord } from '../../../src/usp/codec.ts';
import { createLogger } from '../../../src/log.ts';
import { usp } from '../../../src/usp/generated/usp.js';
import { InMemoryRuntime } from '../../fakes/in-memory-runtime.ts';

const AGENT = 'proto::agent-under-test';
const CONTROLLER = 'proto::controller-1';

/** An MQTT MTP without a broker: what the agent sends lands in `sent`; `deliver` plays a Controller's PUBLISH. */
function arrayMtpFactory() {
  const sent: { topic: string; bytes: Uint8Array }[] = [];
  let events: MqttMtpEvents | undefined;
  const notImplemented = (): never => { throw new Error('only MQTT in this test'); };
  const factory: MtpFactory = {
    mqtt(_options, given) {
      events = given;
      const mtp: MqttMtp = {
        start() {
          given.onStatus('Connected');
          given.onConnected({ mqttVersion: 5, subscribedTopic: `usp/agent/${AGENT}` });
        },
        send(topic, bytes) {
          sent.push({ topic, bytes });
          return Promise.resolve();
        },
        maxRecordBytes: 1024 * 1024,
        stop: () => Promise.resolve(),
        status: 'Connected',
        setSubscriptions() {},
        subscriptionStatus: () => 'Subscribed',
        setRetry() {},
      };
      return mtp;
    },
    stomp: notImplemented,
    webSocketClient: notImplemented,
    webSocketServer: notImplemented,
  };
  const deliver = (msg: Parameters<typeof encodeMsg>[0]): void => {
    const bytes = encodeRecord(buildNoSessionRecord({ toId: AGENT, fromId: CONTROLLER, msg: encodeMsg(msg) }));
    events!.onRecord({ bytes, replyTo: 'usp/controller/1', arrivedOn: `usp/agent/${AGENT}` });
  };
  /** Resolves once the agent has built its MTP and sent the Controller its MQTTConnectRecord. */
  const connected = async (): Promise<void> => {
    for (let i = 0; i < 400 && !sent.some(({ bytes }) => decodeRecord(bytes).mqttConnect); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(events, 'the agent built its MQTT MTP through the factory');
  };
  return { factory, sent, deliver, connected };
}

function memoryStore(): StateStore<PersistedState> & { saved: PersistedState[] } {
  const saved: PersistedState[] = [];
  return {
    saved,
    path: '<memory>',
    load: () => Promise.resolve(saved.at(-1)),
    save: (state) => {
      saved.push(structuredClone(state));
      return Promise.resolve();
    },
  };
}

function manualClock(startMs: number): Clock & { advance(ms: number): void } {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance: (ms) => { nowMs += ms; },
    after: () => ({ cancel() {} }),
    every: () => ({ cancel() {} }),
  };
}

async function answerTo(mtp: ReturnType<typeof arrayMtpFactory>, msgId: string) {
  for (let i = 0; i < 200; i++) {
    for (const { bytes } of mtp.sent) {
      const record = decodeRecord(bytes);
      if (!record.noSessionContext) continue;
      const msg = decodeMsg(record.noSessionContext.payload!);
      if (msg.header?.msgId === msgId) return msg;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no answer to ${msgId}`);
}

test('createAgent runs on the adapters it is given: runtime, MTP factory, state store, clock', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-adapters-'));
  const runtime = new InMemoryRuntime();
  const mtp = arrayMtpFactory();
  const store = memoryStore();
  const clock = manualClock(Date.parse('2026-12-08T00:00:00Z'));
  const config = parseConfig({ endpointId: AGENT, dataDir, mqtt: { url: 'mqtt://broker.invalid:1883' }, controllers: [{ endpointId: CONTROLLER, topic: 'usp/controller/1' }] });
  const agent = await createAgent(config, createLogger('silent'), { runtime, mtpFactory: mtp.factory, stateStore: store, clock, upload: () => Promise.reject(new Error('not used')) });
  try {
    agent.start();
    await mtp.connected();
    assert.equal(mtp.sent[0]!.topic, 'usp/controller/1', 'the Connect Record went to the Controller through the given MTP');
    clock.advance(42_000);
    mtp.deliver({
      header: { msgId: 'get-1', msgType: usp.Header.MsgType.GET },
      body: { request: { get: { paramPaths: ['Device.DeviceInfo.UpTime', 'Device.SoftwareModules.ExecEnv.1.Status', 'Device.LocalAgent.EndpointID'] } } },
    });
    const got = await answerTo(mtp, 'get-1');
    const params = Object.assign({}, ...got.body!.response!.getResp!.reqPathResults!.flatMap((r) => r.resolvedPathResults!.map((p) => p.resultParams)));
    // The clock's 42 s, the fake runtime's answer (Up), and the MTP the factory built carried the exchange.
    assert.equal(params['UpTime'], '42');
    assert.equal(params['Status'], 'Up');
    assert.equal(params['EndpointID'], AGENT);

    mtp.deliver({ header: { msgId: 'set-1', msgType: usp.Header.MsgType.SET }, body: { request: { set: { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'PeriodicNotifInterval', value: '77', required: true }] }] } } } });
    const set = await answerTo(mtp, 'set-1');
    assert.ok(set.body?.response?.setResp, 'the Set succeeded');
    // The Set reached the state store it was given, not a file in dataDir.
    const last = store.saved.at(-1)!;
    assert.match(JSON.stringify(last.dataModel), /"77"/);
    assert.deepEqual((await readdir(dataDir)).filter((name) => name.startsWith('state')), []);
    // The runtime it was given is the one the agent asked.
    assert.ok(runtime.calls.length > 0, 'the agent used the in-memory runtime');
  } finally {
    await agent.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
