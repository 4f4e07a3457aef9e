// The MQTT MTP against a real Mosquitto, with an independent mqtt.js client as the Controller.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { connect } from 'mqtt';
import type { MqttClient } from 'mqtt';
import { createMqttMtp } from '../../../src/mtp/mqtt.ts';
import type { MqttMtp, MqttMtpEvents, MqttMtpOptions } from '../../../src/mtp/mqtt.ts';
import type { InboundRecord, MtpConnectedInfo, MtpStatus } from '../../../src/mtp/mtp.ts';
import { createSilentLogger } from '../../../src/log.ts';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import { skipReason } from '../../helpers/usp-fixture.ts';

const skip = skipReason();
const AGENT_TOPIC = 'usp/agent/os::012345-MTP1';

interface Harness {
  mtp: MqttMtp;
  records: InboundRecord[];
  statuses: MtpStatus[];
  connects: MtpConnectedInfo[];
  waitFor<T>(pick: () => T | undefined, what: string, timeoutMs?: number): Promise<T>;
}

function startMtp(options: Partial<MqttMtpOptions> & { url: string }, more: Pick<MqttMtpEvents, 'onPacket' | 'onSubscriptionStatus'> = {}): Harness {
  const records: InboundRecord[] = [];
  const statuses: MtpStatus[] = [];
  const connects: MtpConnectedInfo[] = [];
  const mtp = createMqttMtp(
    { version: 5, endpointId: 'os::012345-MTP1', agentTopic: AGENT_TOPIC, connectRetryTime: 0.2, connectRetryIntervalMultiplier: 1000, ...options },
    { onRecord: (r) => records.push(r), onStatus: (s) => statuses.push(s), onConnected: (i) => connects.push(i), ...more },
    createSilentLogger(),
  );
  mtp.start();
  return {
    mtp,
    records,
    statuses,
    connects,
    async waitFor(pick, what, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = pick();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; statuses: ${statuses.join(',')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

async function controllerClient(url: string, version: 5 | 4, extra: Record<string, unknown> = {}): Promise<MqttClient> {
  const client = connect(url, { protocolVersion: version, reconnectPeriod: 0, ...extra });
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return client;
}

describe('MQTT MTP', { skip }, () => {
  test('MQTT 5: Response Topic in, Content Type usp.msg and the agent\'s Response Topic out', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const h = startMtp({ url: broker.url });
    t.after(() => h.mtp.stop());
    const info = await h.waitFor(() => h.connects[0], 'connect');
    assert.deepEqual(info, { mqttVersion: 5, subscribedTopic: AGENT_TOPIC });
    const controller = await controllerClient(broker.url, 5);
    t.after(() => controller.endAsync());
    await controller.subscribeAsync('usp/controller/c1', { qos: 1 });
    await controller.publishAsync(AGENT_TOPIC, Buffer.from([1, 2, 3]), { qos: 1, properties: { responseTopic: 'usp/controller/c1', contentType: 'usp.msg' } });
    const inbound = await h.waitFor(() => h.records[0], 'record');
    assert.deepEqual([...inbound.bytes], [1, 2, 3]);
    assert.equal(inbound.replyTo, 'usp/controller/c1');

    const received = new Promise<{ topic: string; payload: Buffer; contentType?: string; responseTopic?: string }>((resolve) =>
      controller.once('message', (topic, payload, packet) => { resolve({ topic, payload, ...packet.properties }); }),
    );
    await h.mtp.send('usp/controller/c1', new Uint8Array([9, 8]), 'response');
    const out = await received;
    assert.deepEqual([out.topic, [...out.payload], out.contentType, out.responseTopic], ['usp/controller/c1', [9, 8], 'usp.msg', AGENT_TOPIC]);

    // No reply-to at all; a foreign content type is dropped; an oversized message is dropped.
    await controller.publishAsync(AGENT_TOPIC, Buffer.from([4]), { qos: 1 });
    await controller.publishAsync(AGENT_TOPIC, Buffer.from([5]), { qos: 1, properties: { contentType: 'application/json' } });
    await h.waitFor(() => h.records[1], 'second record');
    assert.equal(h.records[1]!.replyTo, undefined);
    assert.equal(h.records.length, 2, 'the application/json message was dropped');
  });

  test('MQTT 3.1.1: /reply-to= suffix in both directions', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const h = startMtp({ url: broker.url, version: 4 });
    t.after(() => h.mtp.stop());
    assert.equal((await h.waitFor(() => h.connects[0], 'connect')).mqttVersion, 4);
    const controller = await controllerClient(broker.url, 4);
    t.after(() => controller.endAsync());
    await controller.subscribeAsync('usp/controller/c2/#', { qos: 1 });
    await controller.publishAsync(`${AGENT_TOPIC}/reply-to=usp%2Fcontroller%2Fc2`, Buffer.from([7]), { qos: 1 });
    assert.equal((await h.waitFor(() => h.records[0], 'record')).replyTo, 'usp/controller/c2');
    const received = new Promise<string>((resolve) => controller.once('message', (topic) => { resolve(topic); }));
    await h.mtp.send('usp/controller/c2', new Uint8Array([1]), 'response');
    assert.equal(await received, `usp/controller/c2/reply-to=${AGENT_TOPIC.replaceAll('/', '%2F')}`);
  });

  test('CONNECT carries the usp-endpoint-id user property and asks for Response Information', async (t) => {
    const packets: mqttPacket.Packet[] = [];
    const server = createServer((socket) => {
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      parser.on('packet', (packet) => {
        packets.push(packet);
        socket.destroy();
      });
      socket.on('data', (chunk) => parser.parse(chunk));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => { resolve(); })));
    const h = startMtp({ url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}` });
    t.after(() => h.mtp.stop());
    const connectPacket = (await h.waitFor(() => packets[0], 'CONNECT')) as mqttPacket.IConnectPacket;
    assert.equal(connectPacket.cmd, 'connect');
    assert.equal(connectPacket.protocolVersion, 5);
    assert.deepEqual({ ...connectPacket.properties?.userProperties }, { 'usp-endpoint-id': 'os::012345-MTP1' });
    assert.equal(connectPacket.properties?.requestResponseInformation, true);
  });

  test('reconnects with back-off after the broker goes away, and says so again', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const h = startMtp({ url: broker.url });
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'first connect');
    await broker.pause();
    await h.waitFor(() => (h.mtp.status === 'Error_BrokerUnreachable' ? true : undefined), 'unreachable status');
    await assert.rejects(h.mtp.send('x', new Uint8Array([1]), 'notify'), /not connected/);
    await broker.resume();
    await h.waitFor(() => h.connects[1], 'second connect', 10_000);
    assert.equal(h.mtp.status, 'Connected');
  });

  test('Subscription rows: subscribed in the connect SUBSCRIBE, then subscribed and unsubscribed live; every MQTT packet is reported, CONNECT too', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const packets: string[] = [];
    const h = startMtp(
      { url: broker.url, subscriptions: [{ topic: 'ctl/a', qos: 1, enabled: true }, { topic: 'ctl/b', qos: 0, enabled: false }] },
      { onPacket: (direction, cmd) => packets.push(`${direction} ${cmd}`) },
    );
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'connect');
    assert.deepEqual([h.mtp.subscriptionStatus('ctl/a'), h.mtp.subscriptionStatus('ctl/b')], ['Subscribed', 'Unsubscribed']);
    const controller = await controllerClient(broker.url, 5);
    t.after(() => controller.endAsync());
    const publish = (topic: string, byte: number) => controller.publishAsync(topic, Buffer.from([byte]), { qos: 1, properties: { responseTopic: 'r' } });
    await publish('ctl/a', 1);
    await h.waitFor(() => h.records[0], 'the message on the row topic');

    h.mtp.setSubscriptions([{ topic: 'ctl/a', qos: 1, enabled: false }, { topic: 'ctl/b', qos: 0, enabled: true }]);
    await h.waitFor(() => (h.mtp.subscriptionStatus('ctl/a') === 'Unsubscribed' && h.mtp.subscriptionStatus('ctl/b') === 'Subscribed' ? true : undefined), 'the new subscriptions');
    await publish('ctl/a', 2);
    await publish('ctl/b', 3);
    await publish(AGENT_TOPIC, 4);
    await h.waitFor(() => h.records[2], 'the messages on ctl/b and the agent topic');
    assert.deepEqual(h.records.map((r) => r.bytes[0]), [1, 3, 4], 'nothing arrived on the disabled row\'s topic');
    await h.mtp.stop();
    assert.deepEqual(packets, [
      'sent connect', 'received connack', 'sent subscribe', 'received suback',
      'received publish', 'sent puback',
      'sent subscribe', 'received suback', 'sent unsubscribe', 'received unsuback',
      'received publish', // on ctl/b, subscribed at QoS 0: delivered at QoS 0, nothing to acknowledge
      'received publish', 'sent puback',
      'sent disconnect',
    ]);
  });

  test('a topic the broker refuses is Error and the others still work (R-MQTT.17 asks for one)', async (t) => {
    // Mosquitto's ACLs never refuse a SUBSCRIBE (they filter at delivery), so a scripted broker refuses 'ctl/denied'
    // in its SUBACK, as brokers with subscription ACLs do (0x87 Not authorized).
    const subscribes: string[][] = [];
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      const send = (packet: object): void => { socket.write(mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: 5 })); };
      parser.on('packet', (packet) => {
        if (packet.cmd === 'connect') send({ cmd: 'connack', reasonCode: 0, sessionPresent: false });
        if (packet.cmd === 'subscribe') {
          subscribes.push(packet.subscriptions.map((s) => s.topic));
          send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => (s.topic === 'ctl/denied' ? 0x87 : s.qos)) });
        }
      });
      socket.on('data', (chunk) => parser.parse(chunk));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // The scripted broker never answers PINGREQ: its connections are cut at the end, or close() would wait for the
    // client's keep-alive to give up (90 s).
    t.after(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => { resolve(); });
    }));
    const h = startMtp({ url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, subscriptions: [{ topic: 'ctl/denied', qos: 1, enabled: true }, { topic: 'ctl/ok', qos: 2, enabled: true }] });
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'connect despite the refused topic');
    assert.deepEqual(subscribes, [[AGENT_TOPIC, 'ctl/denied', 'ctl/ok']], 'one SUBSCRIBE with every topic');
    assert.deepEqual([h.mtp.subscriptionStatus('ctl/denied'), h.mtp.subscriptionStatus('ctl/ok'), h.mtp.status], ['Error', 'Subscribed', 'Connected']);
  });

  test('TLS with the operator\'s CA, and username/password', async (t) => {
    const broker = await startMosquitto({ tls: true, users: [{ username: 'gw', password: 's3cret' }] });
    t.after(() => broker.stop());
    const good = startMtp({ url: broker.url, caFile: broker.caFile!, username: 'gw', password: 's3cret' });
    t.after(() => good.mtp.stop());
    await good.waitFor(() => good.connects[0], 'TLS connect');
    const bad = startMtp({ url: broker.url, caFile: broker.caFile!, username: 'gw', password: 'wrong' });
    t.after(() => bad.mtp.stop());
    await bad.waitFor(() => (bad.statuses.includes('Error_Misconfigured') ? true : undefined), 'Error_Misconfigured for bad credentials');
    const untrusted = startMtp({ url: broker.url, username: 'gw', password: 's3cret' });
    t.after(() => untrusted.mtp.stop());
    await untrusted.waitFor(() => (untrusted.statuses.some((s) => s.startsWith('Error')) ? true : undefined), 'an error for an unknown CA');
    assert.equal(untrusted.connects.length, 0, 'never connects to a broker it cannot verify');
  });

  test('requireTls (the config gave TLS): a plain URL with a password is never opened, not even retried; without a password it is', async (t) => {
    let accepted = 0;
    const server = createServer((socket) => {
      accepted += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => { resolve(); })));
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const guarded = startMtp({ url, requireTls: true, username: 'gw', password: 's3cret' });
    t.after(() => guarded.mtp.stop());
    await guarded.waitFor(() => (guarded.statuses.includes('Error_Misconfigured') ? true : undefined), 'Error_Misconfigured');
    // Three back-off periods (0.2 s each here) would have brought three attempts.
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(accepted, 0, 'no TCP connection was even opened');
    assert.deepEqual(guarded.statuses, ['Error_Misconfigured']);

    const anonymous = startMtp({ url, requireTls: true });
    t.after(() => anonymous.mtp.stop());
    await anonymous.waitFor(() => (accepted > 0 ? true : undefined), 'a connection without a password');
  });

  test('messages above the size limit are dropped and the MTP keeps working', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const h = startMtp({ url: broker.url, maxPacketBytes: 1024 });
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'connect');
    const controller = await controllerClient(broker.url, 5);
    t.after(() => controller.endAsync());
    await controller.publishAsync(AGENT_TOPIC, Buffer.alloc(4096), { qos: 1, properties: { responseTopic: 'r' } });
    await controller.publishAsync(AGENT_TOPIC, Buffer.alloc(10), { qos: 1, properties: { responseTopic: 'r' } });
    const record = await h.waitFor(() => h.records[0], 'small record');
    assert.equal(record.bytes.length, 10);
    assert.equal(h.records.length, 1);
  });
});
