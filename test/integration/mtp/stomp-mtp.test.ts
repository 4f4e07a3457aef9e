// The STOMP MTP against a real RabbitMQ (rabbitmq_stomp), with an independent STOMP session (stomp-connection.ts) as
// the Controller. One broker for the file: a RabbitMQ node takes seconds to boot. Each test uses its own queues.
// Two tests need what RabbitMQ does not do (show the exact STOMP frame; send subscribe-dest in CONNECTED) and talk
// to a scripted TCP peer instead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomBytes } from 'node:crypto';
import { createStompMtp } from '../../../src/mtp/stomp/stomp-mtp.ts';
import { openStompConnection } from '../../../src/mtp/stomp/stomp-connection.ts';
import type { StompSession } from '../../../src/mtp/stomp/stomp-connection.ts';
import { createFrameDecoder, encodeFrame, frameLimitsFor } from '../../../src/mtp/stomp/stomp-frame.ts';
import type { StompFrame } from '../../../src/mtp/stomp/stomp-frame.ts';
import { RecordTooLargeError } from '../../../src/mtp/mtp.ts';
import type { InboundRecord, MtpStatus, StompConnectedInfo, StompConnectionStatus, StompMtp, StompMtpOptions } from '../../../src/mtp/mtp.ts';
import { createLogger } from '../../../src/log.ts';
import { rabbitmqSkipReason, startRabbitmq } from '../../helpers/rabbitmq.ts';
import type { RabbitmqBroker } from '../../helpers/rabbitmq.ts';

const skip = rabbitmqSkipReason();
const AGENT = { username: 'agent', password: 'agent-secret' };
const CONTROLLER = { username: 'controller', password: 'controller-secret' };
const ENDPOINT_ID = 'os::012345-STOMP1';
const USP = 'application/vnd.bbf.usp.msg';

function unique(name: string): string {
  return `/queue/${name}-${randomBytes(3).toString('hex')}`;
}

/** A Record-like body: binary, with NULs and EOLs (what would break a NUL-terminated STOMP body). */
function record(bytes: number): Uint8Array {
  const body = randomBytes(bytes);
  body[0] = 0;
  body[1] = 10;
  body[bytes - 1] = 0;
  return body;
}

interface Harness {
  mtp: StompMtp;
  records: InboundRecord[];
  statuses: [MtpStatus, StompConnectionStatus, string | undefined][];
  connects: StompConnectedInfo[];
  logs: Record<string, unknown>[];
  waitFor<T>(pick: () => T | undefined, what: string, timeoutMs?: number): Promise<T>;
}

function startMtp(broker: RabbitmqBroker, options: Partial<StompMtpOptions> = {}): Harness {
  const records: InboundRecord[] = [];
  const statuses: [MtpStatus, StompConnectionStatus, string | undefined][] = [];
  const connects: StompConnectedInfo[] = [];
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const mtp = createStompMtp(
    {
      host: broker.host,
      port: broker.stompPort,
      username: AGENT.username,
      password: AGENT.password,
      endpointId: ENDPOINT_ID,
      destination: unique('agent'),
      retry: { initialSeconds: 0.2, multiplier: 2000, maxSeconds: 1 },
      maxRecordBytes: 64 * 1024,
      ...options,
    },
    {
      onRecord: (r) => records.push(r),
      onStatus: (s, stomp, detail) => statuses.push([s, stomp, detail]),
      onConnected: (i) => connects.push(i),
    },
    createLogger('debug', sink),
  );
  mtp.start();
  return {
    mtp,
    records,
    statuses,
    connects,
    logs,
    async waitFor(pick, what, timeoutMs = 8000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = pick();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; statuses: ${JSON.stringify(statuses)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** The Controller's side: its own STOMP session, its MESSAGE frames collected. */
async function controllerSession(broker: RabbitmqBroker, destination: string): Promise<{ session: StompSession; messages: StompFrame[] }> {
  const messages: StompFrame[] = [];
  const session = await openStompConnection(
    { host: broker.host, port: broker.stompPort, login: CONTROLLER.username, passcode: CONTROLLER.password, connectHeaders: { 'endpoint-id': 'proto::controller-1' }, limits: frameLimitsFor(32 * 1024 * 1024) },
    { onMessage: (frame) => messages.push(frame), onClose: () => undefined },
  );
  await session.subscribe(destination, 'ctl');
  return { session, messages };
}

/** A scripted STOMP peer on a free port: `reply` answers each frame the agent sends. */
async function scriptedPeer(reply: (frame: StompFrame, socket: Socket) => void): Promise<{ port: number; frames: StompFrame[]; close(): Promise<void> }> {
  const frames: StompFrame[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = createFrameDecoder(frameLimitsFor(1024 * 1024), (frame) => {
      frames.push(frame);
      reply(frame, socket);
    });
    socket.on('data', (chunk) => { decoder.push(chunk); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    frames,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => { resolve(); }));
    },
  };
}

describe('STOMP MTP on RabbitMQ', { skip }, () => {
  let broker: RabbitmqBroker;
  before(async () => {
    broker = await startRabbitmq({ tls: true, users: [AGENT, CONTROLLER] });
  });
  after(async () => {
    await broker?.stop();
  });

  test('a Record with reply-to-dest comes in with its replyTo; a sent Record arrives byte-exact with content-type, content-length and reply-to-dest', async (t) => {
    const agentQueue = unique('agent');
    const controllerQueue = unique('controller');
    const h = startMtp(broker, { destination: agentQueue });
    t.after(() => h.mtp.stop());
    assert.deepEqual(await h.waitFor(() => h.connects[0], 'connect'), { subscribedDestination: agentQueue, fromServer: false });
    assert.deepEqual([h.mtp.status, h.mtp.stompStatus], ['Connected', 'Enabled']);
    const controller = await controllerSession(broker, controllerQueue);
    t.after(() => controller.session.disconnect());

    const request = record(5000);
    await controller.session.send(agentQueue, request, { 'content-type': USP, 'reply-to-dest': controllerQueue });
    const inbound = await h.waitFor(() => h.records[0], 'record');
    assert.deepEqual(Buffer.from(inbound.bytes), Buffer.from(request));
    assert.equal(inbound.replyTo, controllerQueue);
    assert.equal(inbound.arrivedOn, agentQueue);

    const response = record(3000);
    await h.mtp.send(controllerQueue, response, 'response');
    const out = await h.waitFor(() => controller.messages[0], 'the response at the Controller');
    assert.deepEqual(Buffer.from(out.body), Buffer.from(response));
    assert.equal(out.headers.get('content-type'), USP);
    assert.equal(out.headers.get('content-length'), '3000');
    assert.equal(out.headers.get('reply-to-dest'), agentQueue);

    // Another content type is dropped (and logged); no reply-to-dest is a Record without replyTo.
    await controller.session.send(agentQueue, Buffer.from('{"json":true}'), { 'content-type': 'application/json' });
    await controller.session.send(agentQueue, Uint8Array.of(7, 0, 7), { 'content-type': USP });
    const second = await h.waitFor(() => h.records[1], 'second record');
    assert.deepEqual([...second.bytes], [7, 0, 7]);
    assert.equal(second.replyTo, undefined);
    assert.equal(h.records.length, 2);
    assert.ok(h.logs.some((entry) => entry['contentType'] === 'application/json' && String(entry['msg']).includes('dropped')));

    // Larger than maxRecordBytes: refused before anything is sent.
    await assert.rejects(h.mtp.send(controllerQueue, new Uint8Array(64 * 1024 + 1), 'notify'), RecordTooLargeError);
  });

  test('the STOMP frame: STOMP (not CONNECT), accept-version 1.2, endpoint-id with \\c for colons, login/passcode, heart-beat; host only with a VirtualHost', async (t) => {
    const peer = await scriptedPeer((_frame, socket) => { socket.destroy(); });
    t.after(() => peer.close());
    const first = startMtp(broker, { port: peer.port, heartbeats: { outgoingMs: 15000, incomingMs: 10000 } });
    await first.waitFor(() => peer.frames[0], 'STOMP frame');
    await first.mtp.stop();
    const second = startMtp(broker, { port: peer.port, virtualHost: '/', username: 'u', password: 'p' });
    await second.waitFor(() => peer.frames[1], 'second STOMP frame');
    await second.mtp.stop();
    const [withHeartbeats, withHost] = peer.frames;
    assert.equal(withHeartbeats!.command, 'STOMP');
    assert.deepEqual([...withHeartbeats!.headers], [['accept-version', '1.2'], ['login', AGENT.username], ['passcode', AGENT.password], ['heart-beat', '15000,10000'], ['endpoint-id', ENDPOINT_ID]]);
    assert.deepEqual([...withHost!.headers], [['accept-version', '1.2'], ['host', '/'], ['login', 'u'], ['passcode', 'p'], ['endpoint-id', ENDPOINT_ID]]);
    // On the wire the colons of the Endpoint ID are escaped (the decoder above unescaped them).
    const wire = encodeFrame('STOMP', [['endpoint-id', ENDPOINT_ID]]).toString();
    assert.match(wire, /endpoint-id:os\\c\\c012345-STOMP1/);
  });

  test('subscribe-dest in CONNECTED wins over the configured destination (R-STOMP.6/14) and is the reply-to-dest', async (t) => {
    const serverDestination = '/queue/agent-from-server';
    const peer = await scriptedPeer((frame, socket) => {
      if (frame.command === 'STOMP') socket.write(encodeFrame('CONNECTED', [['version', '1.2'], ['subscribe-dest', serverDestination]]));
      const receipt = frame.headers.get('receipt');
      if (receipt !== undefined) socket.write(encodeFrame('RECEIPT', [['receipt-id', receipt]]));
      if (frame.command === 'SUBSCRIBE') {
        socket.write(encodeFrame('MESSAGE', [['destination', serverDestination], ['subscription', frame.headers.get('id')!], ['message-id', '1'], ['content-type', USP], ['reply-to-dest', '/queue/ctl']], Uint8Array.of(1, 0, 2)));
      }
    });
    t.after(() => peer.close());
    const h = startMtp(broker, { port: peer.port, destination: '/queue/configured' });
    t.after(() => h.mtp.stop());
    assert.deepEqual(await h.waitFor(() => h.connects[0], 'connect'), { subscribedDestination: serverDestination, fromServer: true });
    const subscribe = peer.frames.find((frame) => frame.command === 'SUBSCRIBE')!;
    assert.deepEqual([subscribe.headers.get('destination'), subscribe.headers.get('ack')], [serverDestination, 'auto']);
    const inbound = await h.waitFor(() => h.records[0], 'record');
    assert.deepEqual([[...inbound.bytes], inbound.replyTo, inbound.arrivedOn], [[1, 0, 2], '/queue/ctl', serverDestination]);
    await h.mtp.send('/queue/ctl', Uint8Array.of(9), 'response');
    const sent = await h.waitFor(() => peer.frames.find((frame) => frame.command === 'SEND'), 'SEND');
    assert.deepEqual([sent.headers.get('destination'), sent.headers.get('reply-to-dest'), sent.headers.get('content-type'), sent.headers.get('content-length')], ['/queue/ctl', serverDestination, USP, '1']);
    // A changed Destination does not move a subscription the broker chose.
    h.mtp.setDestination('/queue/other');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(peer.frames.filter((frame) => frame.command === 'UNSUBSCRIBE').length, 0);
  });

  test('no destination at all: disconnect, Error_Misconfigured, retry (R-STOMP.16); a refused SUBSCRIBE is an Error and a retry too; setting a Destination lets it connect', async (t) => {
    const h = startMtp(broker, { destination: '' });
    t.after(() => h.mtp.stop());
    const misconfigured = await h.waitFor(() => h.statuses.find(([, stomp]) => stomp === 'Error_Misconfigured'), 'Error_Misconfigured');
    assert.match(misconfigured[2]!, /no STOMP destination/);
    // RabbitMQ answers SUBSCRIBE to an exchange that does not exist with ERROR (and closes): R-STOMP.19.
    h.mtp.setDestination('/exchange/berth-no-such-exchange');
    const refused = await h.waitFor(() => h.statuses.find(([s]) => s === 'Error'), 'Error after the refused SUBSCRIBE');
    assert.match(refused[2]!, /STOMP server error/);
    const destination = unique('agent');
    h.mtp.setDestination(destination);
    assert.deepEqual(await h.waitFor(() => h.connects[0], 'connect'), { subscribedDestination: destination, fromServer: false });
  });

  test('a changed Destination: UNSUBSCRIBE the old, SUBSCRIBE the new, onConnected again (R-STOMP.29)', async (t) => {
    const oldQueue = unique('agent-old');
    const newQueue = unique('agent-new');
    const controllerQueue = unique('controller');
    const h = startMtp(broker, { destination: oldQueue });
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'connect');
    h.mtp.setDestination(newQueue);
    assert.deepEqual(await h.waitFor(() => h.connects[1], 'second onConnected'), { subscribedDestination: newQueue, fromServer: false });
    const controller = await controllerSession(broker, controllerQueue);
    t.after(() => controller.session.disconnect());
    await controller.session.send(oldQueue, Uint8Array.of(1), { 'content-type': USP });
    await controller.session.send(newQueue, Uint8Array.of(2), { 'content-type': USP });
    const inbound = await h.waitFor(() => h.records[0], 'record');
    assert.deepEqual([[...inbound.bytes], inbound.arrivedOn], [[2], newQueue]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(h.records.length, 1, 'nothing from the old queue');
    await h.mtp.send(controllerQueue, Uint8Array.of(3), 'notify');
    const out = await h.waitFor(() => controller.messages[0], 'notify');
    assert.equal(out.headers.get('reply-to-dest'), newQueue);
  });

  test('TLS to RabbitMQ with a throwaway CA; an untrusted certificate is Error_Misconfigured', async (t) => {
    const h = startMtp(broker, { host: 'localhost', port: broker.stompTlsPort!, tls: { caFile: broker.caFile! }, requireTls: true });
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'connect over TLS');
    const controllerQueue = unique('controller');
    const controller = await controllerSession(broker, controllerQueue);
    t.after(() => controller.session.disconnect());
    await h.mtp.send(controllerQueue, Uint8Array.of(4, 0, 4), 'notify');
    assert.deepEqual([...(await h.waitFor(() => controller.messages[0], 'notify over TLS')).body], [4, 0, 4]);

    const untrusted = startMtp(broker, { host: 'localhost', port: broker.stompTlsPort!, tls: {} });
    t.after(() => untrusted.mtp.stop());
    const failed = await untrusted.waitFor(() => untrusted.statuses.find(([s]) => s === 'Error_Misconfigured'), 'Error_Misconfigured');
    assert.equal(failed[1], 'Error_Misconfigured');
    assert.equal(untrusted.connects.length, 0);

    // requireTls: the password never goes over plain TCP, and nothing is retried.
    const plain = startMtp(broker, { requireTls: true });
    t.after(() => plain.mtp.stop());
    await plain.waitFor(() => plain.statuses.find(([s]) => s === 'Error_Misconfigured'), 'refusal');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(plain.statuses.map(([s]) => s), ['Error_Misconfigured']);
  });

  test('a wrong password is Error_AuthenticationFailure, retried with the randomized back-off (no tight loop)', async (t) => {
    const h = startMtp(broker, { password: 'wrong', retry: { initialSeconds: 0.5, multiplier: 2000 } });
    t.after(() => h.mtp.stop());
    const refused = await h.waitFor(() => h.statuses.find(([, stomp]) => stomp === 'Error_AuthenticationFailure'), 'Error_AuthenticationFailure');
    assert.equal(refused[0], 'Error_Misconfigured');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // Waits in [0.5, 1], [1, 2], [2, 4] s: at most 4 attempts in these ~3 s.
    const attempts = h.statuses.filter(([s]) => s === 'Connecting').length;
    assert.ok(attempts >= 2 && attempts <= 4, `${attempts} attempts`);
    assert.equal(h.connects.length, 0);
  });

  test('stop() then start() while connecting makes one session, and stop() leaves no consumer on the queue', async (t) => {
    const agentQueue = unique('agent');
    const h = startMtp(broker, { destination: agentQueue });
    t.after(() => h.mtp.stop());
    await h.mtp.stop();
    h.mtp.start();
    await h.waitFor(() => h.connects[0], 'connect');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(h.connects.length, 1);
    await h.mtp.stop();
    // A forgotten session would still consume from the agent's queue: RabbitMQ would share these out between it and the Controller.
    const controller = await controllerSession(broker, agentQueue);
    t.after(() => controller.session.disconnect());
    for (let i = 1; i <= 4; i += 1) await controller.session.send(agentQueue, Uint8Array.of(i), { 'content-type': USP });
    await h.waitFor(() => controller.messages[3], 'all four at the only consumer left');
    assert.equal(h.records.length, 0);
  });

  test('a broker restart: ServerNotPresent, reconnects with back-off, subscribes and calls onConnected again', async (t) => {
    const h = startMtp(broker, { retry: { initialSeconds: 0.2, multiplier: 2000, maxSeconds: 1 } });
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'connect');
    await broker.pause();
    const lost = await h.waitFor(() => h.statuses.find(([s]) => s === 'Error_BrokerUnreachable'), 'lost');
    assert.equal(lost[1], 'ServerNotPresent');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const attemptsWhileDown = h.statuses.filter(([s]) => s === 'Connecting').length;
    await broker.resume();
    await h.waitFor(() => h.connects[1], 'reconnect', 15_000);
    assert.deepEqual([h.mtp.status, h.mtp.stompStatus], ['Connected', 'Enabled']);
    // Waits of [0.2, 0.4], [0.4, 0.8], then at most 1 s: a few attempts while down, not hundreds.
    assert.ok(attemptsWhileDown >= 2 && attemptsWhileDown <= 6, `${attemptsWhileDown} attempts in 1.5 s`);
    assert.equal(h.connects[1]!.subscribedDestination, h.connects[0]!.subscribedDestination);
  });

  test('heart-beats: negotiated and kept up while idle; a broker that goes silent is detected and reconnected to', async (t) => {
    const h = startMtp(broker, { heartbeats: { outgoingMs: 1000, incomingMs: 1000 } });
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'connect');
    const connected = h.logs.find((entry) => entry['msg'] === 'connected to the STOMP server');
    assert.deepEqual(connected?.['heartbeat'], { sendEveryMs: 1000, expectEveryMs: 1000 });
    // RabbitMQ drops a client whose heart-beats stop; idle for several intervals, the session stays.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assert.deepEqual(h.statuses.map(([s]) => s), ['Connecting', 'Connected']);
    broker.freeze();
    t.after(() => { broker.thaw(); });
    const frozenAt = Date.now();
    const lost = await h.waitFor(() => h.statuses.find(([s]) => s === 'Error_BrokerUnreachable'), 'heart-beat timeout', 6000);
    const detectedMs = Date.now() - frozenAt;
    assert.match(lost[2]!, /heart-beat every 1000 ms/);
    assert.ok(detectedMs < 3500, `detected after ${detectedMs} ms`);
    broker.thaw();
    await h.waitFor(() => h.connects[1], 'reconnect after thaw', 20_000);
  });

  test('a hostile peer\'s oversized frame drops the connection without buffering it; logged; the MTP reconnects and works', async (t) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const agentQueue = unique('agent');
    const h = startMtp(broker, { destination: agentQueue, maxRecordBytes: 64 * 1024 });
    t.after(() => h.mtp.stop());
    await h.waitFor(() => h.connects[0], 'connect');
    const controller = await controllerSession(broker, unique('controller'));
    t.after(() => controller.session.disconnect());
    gc();
    const before = process.memoryUsage();
    await controller.session.send(agentQueue, new Uint8Array(16 * 1024 * 1024), { 'content-type': USP });
    const dropped = await h.waitFor(() => h.statuses.find(([s]) => s === 'Error'), 'the connection dropped', 10_000);
    assert.match(dropped[2]!, /announces a 16777216-byte body: larger than the 81920-byte frame limit/);
    assert.ok(h.logs.some((entry) => String(entry['err']).includes('16777216-byte body')), 'logged');
    await h.waitFor(() => h.connects[1], 'reconnect');
    gc();
    const afterwards = process.memoryUsage();
    const grown = afterwards.heapUsed + afterwards.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    assert.ok(grown < 4 * 1024 * 1024, `memory grew by ${grown} bytes`);
    await controller.session.send(agentQueue, Uint8Array.of(5), { 'content-type': USP });
    assert.deepEqual([...(await h.waitFor(() => h.records[0], 'record after reconnect')).bytes], [5]);
  });
});
