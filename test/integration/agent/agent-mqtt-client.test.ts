// Device.MQTT.Client.1 of the agent as a real process over a real Mosquitto, driven by a Controller: the
// Subscription table (TP-469 11.9), the Stats counters, and the R-MQTT.10 back-off after the broker is lost.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { connect } from 'mqtt';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import type { Broker } from '../../helpers/mosquitto.ts';
import { startAgentProcess, removeDataDir } from '../../helpers/agent-process.ts';
import type { AgentProcess } from '../../helpers/agent-process.ts';
import { skipReason, AGENT_ID, CONTROLLER_ID, CONTROLLER_TOPIC, AGENT_TOPIC } from '../../helpers/usp-fixture.ts';
import { connectController } from '../../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../../src/controller/controller-client.ts';
import { usp } from '../../../src/usp/generated/usp.js';
import { encodeMsg, encodeRecord, buildNoSessionRecord } from '../../../src/usp/codec.ts';

const skip = skipReason();
const CLIENT = 'Device.MQTT.Client.1.';

interface Setup {
  broker: Broker;
  agent: AgentProcess;
  controller: ControllerClient;
  /** Stops the agent and starts it again on the same data dir; resolves once it has reconnected. */
  restartAgent(): Promise<void>;
}

/** Resolves with the next MQTTConnectRecord the Controller sees (the agent has (re)connected and subscribed). */
function nextConnectRecord(controller: ControllerClient, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no MQTTConnectRecord within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = controller.onRecord((record) => {
      if (record.recordType !== 'mqttConnect') return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

async function openController(broker: Broker): Promise<ControllerClient> {
  return connectController({ brokerUrl: broker.url, endpointId: CONTROLLER_ID, agentEndpointId: AGENT_ID, agentTopic: AGENT_TOPIC, replyTopic: CONTROLLER_TOPIC, mqttVersion: 5 });
}

async function setUp(t: { after: (fn: () => Promise<void>) => void }, mqtt: Record<string, unknown> = {}): Promise<Setup> {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const config = { endpointId: AGENT_ID, mqtt: { url: broker.url, version: 5, connectRetryTime: 5, ...mqtt }, controllers: [{ endpointId: CONTROLLER_ID, topic: CONTROLLER_TOPIC }] };
  const setup = {
    broker,
    async restartAgent() {
      await setup.agent.stop();
      const reconnected = nextConnectRecord(setup.controller);
      setup.agent = await startAgentProcess(config, { dataDir: setup.agent.dataDir });
      await reconnected;
    },
  } as Setup;
  setup.controller = await openController(broker);
  t.after(() => setup.controller.close());
  const connected = nextConnectRecord(setup.controller);
  setup.agent = await startAgentProcess(config);
  t.after(async () => {
    await setup.agent.stop();
    await removeDataDir(setup.agent.dataDir);
  });
  await connected;
  return setup;
}

async function get(controller: ControllerClient, path: string): Promise<Record<string, string>> {
  const result = (await controller.get([path])).reqPathResults![0]!;
  if (result.errCode) throw new Error(`Get ${path}: ${result.errCode} ${result.errMsg ?? ''}`);
  return Object.assign({}, ...result.resolvedPathResults!.map((r) => r.resultParams)) as Record<string, string>;
}

async function set(controller: ControllerClient, objPath: string, values: Record<string, string>): Promise<void> {
  await controller.request({ set: { allowPartial: false, updateObjs: [{ objPath, paramSettings: Object.entries(values).map(([param, value]) => ({ param, value, required: true })) }] } });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Publishes a USP Get for Device.LocalAgent.EndpointID on `topic` (as a Controller would on a topic the agent was told to
 * subscribe to), with the Controller's topic as Response Topic; resolves true if the GetResp arrives within `waitMs`.
 */
async function answeredOn(broker: Broker, controller: ControllerClient, topic: string, msgId: string, waitMs = 3000): Promise<boolean> {
  const answered = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(false);
    }, waitMs);
    const off = controller.onRecord((record) => {
      if (record.recordType !== 'noSessionContext' || usp.Msg.decode(record.noSessionContext!.payload!).header?.msgId !== msgId) return;
      clearTimeout(timer);
      off();
      resolve(true);
    });
  });
  const publisher = connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  try {
    await new Promise((resolve, reject) => {
      publisher.once('connect', resolve);
      publisher.once('error', reject);
    });
    const msg = encodeMsg({ header: { msgId, msgType: usp.Header.MsgType.GET }, body: { request: { get: { paramPaths: ['Device.LocalAgent.EndpointID'] } } } });
    await publisher.publishAsync(topic, Buffer.from(encodeRecord(buildNoSessionRecord({ toId: AGENT_ID, fromId: CONTROLLER_ID, msg }))), {
      qos: 1,
      properties: { responseTopic: CONTROLLER_TOPIC, contentType: 'usp.msg' },
    });
    return await answered;
  } finally {
    await publisher.endAsync();
  }
}

/**
 * Listens on the broker's port while the broker is down and records when the agent tries to connect (its CONNECT
 * carries `usp-endpoint-id`), in ms since `since`. Other clients' attempts are ignored; every attempt is refused.
 */
async function recordAgentAttempts(port: number, since: number): Promise<{ attempts: number[]; close: () => Promise<void> }> {
  const attempts: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const acceptedAt = Date.now() - since;
    sockets.add(socket);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connect' && packet.properties?.userProperties?.['usp-endpoint-id'] === AGENT_ID) attempts.push(acceptedAt);
      socket.destroy();
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => { resolve(); });
      }),
  };
}

describe('Device.MQTT.Client.1 of the agent', { skip }, () => {
  test('Subscription rows (TP-469 11.9): a Get published on the row\'s topic is answered; disabled, the topic is unsubscribed; rows survive a restart', async (t) => {
    const setup = await setUp(t);
    const { broker, controller } = setup;
    const before = await get(controller, `${CLIENT}Stats.`);
    const added = await controller.request({
      add: { allowPartial: false, createObjs: [{ objPath: `${CLIENT}Subscription.`, paramSettings: [{ param: 'Enable', value: 'true' }, { param: 'Topic', value: 'newTopic-11-9' }] }] },
    });
    const row = added.addResp!.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
    assert.equal(row, `${CLIENT}Subscription.1.`);
    await waitFor('Status Subscribed', async () => (await get(controller, `${row}Status`))['Status'] === 'Subscribed');
    assert.equal((await get(controller, CLIENT))['SubscriptionNumberOfEntries'], '1');
    assert.equal(await answeredOn(broker, controller, 'newTopic-11-9', 'on-new-topic'), true, 'the Get on the new topic was answered');
    const subscribed = await get(controller, `${CLIENT}Stats.`);
    assert.equal(Number(subscribed['SubscribeSent']) - Number(before['SubscribeSent']), 1, 'one SUBSCRIBE for the new row');

    await set(controller, row, { Enable: 'false' });
    await waitFor('Status Unsubscribed', async () => (await get(controller, `${row}Status`))['Status'] === 'Unsubscribed');
    const unsubscribed = await get(controller, `${CLIENT}Stats.`);
    assert.equal(Number(unsubscribed['UnSubscribeSent']) - Number(subscribed['UnSubscribeSent']), 1, 'one UNSUBSCRIBE for the disabled row');
    assert.equal(await answeredOn(broker, controller, 'newTopic-11-9', 'after-disable', 1500), false, 'nothing reaches the agent on the disabled topic');
    assert.equal(await answeredOn(broker, controller, AGENT_TOPIC, 'own-topic'), true, "the agent's own topic is still subscribed");

    await set(controller, row, { Enable: 'true', QoS: '0' });
    await setup.restartAgent();
    assert.deepEqual(await get(controller, row), { Alias: 'cpe-1', Enable: 'true', Status: 'Subscribed', Topic: 'newTopic-11-9', QoS: '0' });
    assert.equal(await answeredOn(broker, controller, 'newTopic-11-9', 'after-restart'), true, 'the row was subscribed again at the next connect');
  });

  test('Stats count every MQTT packet, and PUBLISHes apart; they start again with another broker', async (t) => {
    const { controller } = await setUp(t);
    const first = await get(controller, `${CLIENT}Stats.`);
    const second = await get(controller, `${CLIENT}Stats.`);
    const delta = (name: string): number => Number(second[name]) - Number(first[name]);
    // Between the two reads: the first answer (PUBLISH) went out, the second request came in; each QoS 1
    // PUBLISH is acknowledged. The first answer's PUBACK may or may not have arrived before the second read.
    assert.equal(delta('PublishSent'), 1);
    assert.equal(delta('PublishReceived'), 1);
    assert.equal(delta('MQTTMessagesSent'), 2, 'the answer and the PUBACK for the request');
    assert.ok([1, 2].includes(delta('MQTTMessagesReceived')), `the request, and perhaps the PUBACK for the answer: ${delta('MQTTMessagesReceived')}`);
    assert.ok(Number(first['MQTTMessagesSent']) >= Number(first['PublishSent']) + Number(first['SubscribeSent']) + 1, 'CONNECT and the acknowledgements count too');
    assert.ok(Number(first['MQTTMessagesReceived']) >= Number(first['PublishReceived']) + 2, 'so do CONNACK and SUBACK');
    assert.equal(first['SubscribeSent'], '1', 'one SUBSCRIBE with every topic at connect (R-MQTT.15)');
    assert.match(first['LastPublishMessageReceived']!, /^20\d\d-/);

    // TR-181: the counters restart when the client connects to another broker.
    const other = await startMosquitto();
    t.after(() => other.stop());
    const otherController = await openController(other);
    t.after(() => otherController.close());
    const moved = nextConnectRecord(otherController);
    await set(controller, CLIENT, { BrokerPort: String(other.port) });
    await moved;
    const fresh = await get(otherController, `${CLIENT}Stats.`);
    assert.deepEqual(
      [fresh['PublishReceived'], fresh['PublishSent'], fresh['SubscribeSent'], fresh['ConnectionErrors']],
      ['1', '1', '1', '0'],
      'on the new broker: this Get came in; the MQTTConnectRecord went out; one SUBSCRIBE',
    );
    assert.ok(fresh['BrokerConnectionEstablished']! >= first['BrokerConnectionEstablished']!, 'the time of the new connection (seconds resolution)');
  });

  test('losing an established connection: the first attempt to reconnect comes after a random time in [ConnectRetryTime, ConnectRetryTime × M/1000] (R-MQTT.10)', async (t) => {
    const { broker, controller } = await setUp(t);
    // Written over USP, the back-off applies from the next retry on and does not reconnect now. (It used to: a run
    // that stopped the broker right after such a Set saw a "reconnect" 0.09 s later.)
    await set(controller, CLIENT, { ConnectRetryTime: '1', ConnectRetryIntervalMultiplier: '2000' });
    await broker.pause();
    const lostAt = Date.now();
    const listener = await recordAgentAttempts(broker.port, lostAt);
    t.after(() => listener.close());
    await waitFor('a reconnect attempt', () => Promise.resolve(listener.attempts.length > 0), 4000);
    const first = listener.attempts[0]!;
    assert.ok(first >= 1000 && first <= 2000 + 150, `first attempt ${first} ms after the loss, not within [1000, 2000] ms`);

    // The second retry waits [2 s, 4 s] after the first; then the broker is back.
    await listener.close();
    await broker.resume();
    const fresh = await openController(broker);
    t.after(() => fresh.close());
    await nextConnectRecord(fresh, 6000);
    const second = Date.now() - lostAt - first;
    assert.ok(second >= 2000 && second <= 4000 + 300, `second attempt ${second} ms after the first, not within [2000, 4000] ms`);
    assert.equal((await get(fresh, `${CLIENT}Status`))['Status'], 'Connected');
    assert.equal((await get(fresh, `${CLIENT}ConnectRetryTime`))['ConnectRetryTime'], '1');
  });

  test('PublishQoS: 0 by default; written over USP it applies at once (the agent reconnects) and its Records arrive at that QoS', async (t) => {
    const { broker, controller } = await setUp(t);
    // A plain subscriber at QoS 1 on the Controller's topic: a Record arrives at the lower of its QoS and the agent's.
    const watcher = connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    t.after(() => watcher.endAsync());
    await new Promise((resolve, reject) => {
      watcher.once('connect', resolve);
      watcher.once('error', reject);
    });
    await watcher.subscribeAsync(CONTROLLER_TOPIC, { qos: 1 });
    const qosSeen: number[] = [];
    watcher.on('message', (_topic, _payload, packet) => qosSeen.push(packet.qos));
    assert.equal((await get(controller, 'Device.LocalAgent.MTP.1.MQTT.PublishQoS'))['PublishQoS'], '0');
    await waitFor('the GetResp at the watcher', () => Promise.resolve(qosSeen.length > 0));
    assert.deepEqual([...new Set(qosSeen)], [0], `QoS seen: ${qosSeen.join(',')}`);
    const reconnected = nextConnectRecord(controller);
    await set(controller, 'Device.LocalAgent.MTP.1.MQTT.', { PublishQoS: '1' });
    await reconnected;
    qosSeen.length = 0;
    await get(controller, 'Device.LocalAgent.EndpointID');
    await waitFor('the GetResp at the watcher', () => Promise.resolve(qosSeen.length > 0));
    assert.deepEqual([...new Set(qosSeen)], [1], `QoS seen after the Set: ${qosSeen.join(',')}`);
  });
});
