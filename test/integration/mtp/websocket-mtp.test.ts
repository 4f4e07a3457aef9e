// The WebSocket MTP in both roles over real sockets and real TLS (a throwaway CA made with openssl), with
// independent `ws` peers as the Controllers: a `ws` server the agent dials (client role), `ws` clients that dial
// the agent (server role). What each test checks is what a Controller on the other end would see: the handshake it
// gets, the close codes, the Records, and when the agent dials again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, connect as tcpConnect } from 'node:net';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { execFile, execFileSync } from 'node:child_process';
import { WebSocket, WebSocketServer } from 'ws';
import { createWebSocketClientMtp } from '../../../src/mtp/websocket/websocket-client.ts';
import { createWebSocketServerMtp } from '../../../src/mtp/websocket/websocket-server.ts';
import type { MtpStatus, WebSocketClientMtp, WebSocketClientOptions, WebSocketPeer, WebSocketServerMtp, WebSocketServerOptions } from '../../../src/mtp/mtp.ts';
import { RecordTooLargeError } from '../../../src/mtp/mtp.ts';
import { buildNoSessionRecord, decodeRecord, encodeRecord } from '../../../src/usp/codec.ts';
import { createSilentLogger } from '../../../src/log.ts';
import { createTestPki, opensslAvailable } from '../../helpers/tls-certs.ts';
import type { CertificateFiles, TestPki } from '../../helpers/tls-certs.ts';

const skip = opensslAvailable() ? undefined : 'openssl is not installed (apt-get install -y openssl)';
const AGENT = 'os::012345-WSAGENT';
const CONTROLLER = 'proto::ctrl-a';
const OTHER_CONTROLLER = 'proto::ctrl-b';

/** A real USP Record (the MTP closes with 1003 on a frame that is not one). */
function record(fromId: string, toId: string, payload: number[] = [1, 2, 3]): Buffer {
  return Buffer.from(encodeRecord(buildNoSessionRecord({ fromId, toId, msg: new Uint8Array(payload) })));
}

async function waitFor<T>(pick: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = pick();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The promise, or a failure naming what did not happen within ms (a test fails, never hangs). */
function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out waiting for ${what}`)); }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => { clearTimeout(timer); });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return within(
    new Promise((resolve) => {
      if (ws.readyState === ws.CLOSED) resolve({ code: 1006, reason: '' });
      ws.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }); });
    }),
    'the session to close',
  );
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return within(new Promise((resolve) => ws.once('message', (data, isBinary) => { resolve({ data: data as Buffer, isBinary }); })), 'a message');
}

let pki: TestPki;

before(() => {
  if (!skip) pki = createTestPki();
});
after(() => {
  pki?.remove();
});

// ---------------------------------------------------------------------------------------------------------------
// Client role: the agent dials a Controller's WebSocket server.
// ---------------------------------------------------------------------------------------------------------------

interface ControllerServerOptions {
  readonly port?: number;
  /** The server's certificate (default: localhost, no Endpoint ID). */
  readonly cert?: CertificateFiles;
  /** The subprotocol answered: default v1.usp when offered; false: none. */
  readonly protocol?: string | false;
  /** A Sec-WebSocket-Extensions header added to the 101 answer. */
  readonly extension?: string;
  readonly autoPong?: boolean;
  readonly maxPayload?: number;
}

interface ControllerServer {
  readonly port: number;
  readonly upgrades: { url: string; protocols: string | undefined; clientCertificateSan: string | undefined }[];
  readonly sockets: WebSocket[];
  readonly received: { data: Buffer; isBinary: boolean }[];
  readonly closes: { code: number; reason: string }[];
  pings: number;
  stop(): Promise<void>;
}

/** A Controller's wss server (mutual TLS: it asks for the agent's certificate and records its SAN). */
async function startControllerServer(options: ControllerServerOptions = {}): Promise<ControllerServer> {
  const cert = options.cert ?? pki.server;
  const https: HttpsServer = createHttpsServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile), ca: readFileSync(pki.caFile), requestCert: true, rejectUnauthorized: false });
  const wss = new WebSocketServer({
    server: https,
    autoPong: options.autoPong ?? true,
    ...(options.maxPayload !== undefined && { maxPayload: options.maxPayload }),
    handleProtocols: (offered) => (options.protocol === undefined ? (offered.has('v1.usp') ? 'v1.usp' : false) : options.protocol),
  });
  const state: ControllerServer = {
    port: 0,
    upgrades: [],
    sockets: [],
    received: [],
    closes: [],
    pings: 0,
    async stop() {
      for (const socket of state.sockets) socket.terminate();
      wss.close();
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => { resolve(); }));
    },
  };
  if (options.extension !== undefined) wss.on('headers', (headers) => headers.push(`Sec-WebSocket-Extensions: ${options.extension}`));
  wss.on('connection', (ws, request: IncomingMessage) => {
    const clientCertificateSan = request.socket instanceof TLSSocket ? request.socket.getPeerCertificate().subjectaltname : undefined;
    state.upgrades.push({ url: request.url ?? '', protocols: request.headers['sec-websocket-protocol'], clientCertificateSan });
    state.sockets.push(ws);
    ws.on('message', (data, isBinary) => state.received.push({ data: data as Buffer, isBinary }));
    ws.on('ping', () => { state.pings += 1; });
    ws.on('close', (code, reason) => state.closes.push({ code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => https.listen(options.port ?? 0, '127.0.0.1', resolve));
  Object.assign(state, { port: (https.address() as AddressInfo).port });
  return state;
}

interface ClientHarness {
  readonly mtp: WebSocketClientMtp;
  readonly records: Uint8Array[];
  readonly statuses: { status: MtpStatus; detail: string | undefined }[];
  readonly retryCounts: number[];
  connects: number;
}

function startClientMtp(port: number, options: Partial<WebSocketClientOptions> = {}): ClientHarness {
  const harness: ClientHarness = {
    mtp: undefined as unknown as WebSocketClientMtp,
    records: [],
    statuses: [],
    retryCounts: [],
    connects: 0,
  };
  const mtp = createWebSocketClientMtp(
    {
      host: 'localhost',
      port,
      path: '/usp',
      encryption: true,
      tls: { caFile: pki.caFile, ...pki.client(AGENT) },
      keepAliveSeconds: 30,
      retry: { initialSeconds: 0.1, multiplier: 2000 },
      agentEndpointId: AGENT,
      controllerEndpointId: CONTROLLER,
      maxRecordBytes: 64 * 1024,
      ...options,
    },
    {
      onRecord: (bytes) => harness.records.push(bytes),
      onConnected: () => { harness.connects += 1; },
      onStatus: (status, detail) => harness.statuses.push({ status, detail }),
      onRetryCount: (count) => harness.retryCounts.push(count),
    },
    createSilentLogger(),
  );
  Object.assign(harness, { mtp });
  mtp.start();
  return harness;
}

describe('WebSocket MTP, client role (the agent dials the Controller)', { skip }, () => {
  test('mutual TLS, v1.usp, the eid query, Records both ways in binary frames', async (t) => {
    const controller = await startControllerServer({ cert: pki.issue('controller', { dns: ['localhost'], endpointIds: [CONTROLLER] }) });
    t.after(() => controller.stop());
    const h = startClientMtp(controller.port, { agentEndpointId: 'doc::agent%21' });
    t.after(() => h.mtp.stop());
    await waitFor(() => h.connects === 1, 'the session');
    assert.equal(h.mtp.status, 'Connected');
    assert.deepEqual(controller.upgrades.map((u) => [u.url, u.protocols]), [['/usp?eid=doc::agent%2521', 'v1.usp']]);
    assert.match(controller.upgrades[0]!.clientCertificateSan ?? '', /URI:urn:bbf:usp:id:os::012345-WSAGENT/);

    controller.sockets[0]!.send(record(CONTROLLER, AGENT, [7, 7]), { binary: true });
    const inbound = await waitFor(() => h.records[0], 'the Record');
    assert.deepEqual([...decodeRecord(inbound).noSessionContext!.payload!], [7, 7]);

    await h.mtp.send(record(AGENT, CONTROLLER, [9]));
    const outbound = await waitFor(() => controller.received[0], 'the answer');
    assert.equal(outbound.isBinary, true);
    assert.equal(decodeRecord(outbound.data).toId, CONTROLLER);

    await assert.rejects(h.mtp.send(new Uint8Array(64 * 1024 + 1)), RecordTooLargeError);
    assert.equal(controller.received.length, 1);
  });

  test('a server answering the deprecated bbf-usp-protocol extension is fine when it names the Controller (R-WS.11a/b)', async (t) => {
    const controller = await startControllerServer({ extension: `bbf-usp-protocol; eid="${CONTROLLER}"` });
    t.after(() => controller.stop());
    const h = startClientMtp(controller.port);
    t.after(() => h.mtp.stop());
    await waitFor(() => h.connects === 1, 'the session');
  });

  test('a server answering without v1.usp, or with another subprotocol, is no session: closed, retried as a failure (R-WS.12)', async (t) => {
    for (const protocol of [false, 'v2.other'] as const) {
      const controller = await startControllerServer({ protocol });
      t.after(() => controller.stop());
      const h = startClientMtp(controller.port, { retry: { initialSeconds: 0.05, multiplier: 1000 } });
      await waitFor(() => h.retryCounts.length >= 2, 'two failed dials');
      await h.mtp.stop();
      assert.equal(h.connects, 0);
      assert.ok(controller.upgrades.length >= 2, 'the agent dialled again');
      const failure = h.statuses.find((s) => s.status === 'Error_Misconfigured');
      assert.match(failure?.detail ?? '', protocol === false ? /without the v1.usp subprotocol/ : /"v2.other", not v1.usp/);
      assert.deepEqual(h.retryCounts.slice(0, 2), [1, 2]);
    }
  });

  test('a server whose certificate speaks for another Endpoint, or says it is another, is refused (R-SEC.0a)', async (t) => {
    const impostor = await startControllerServer({ cert: pki.issue('impostor', { dns: ['localhost'], endpointIds: [OTHER_CONTROLLER] }) });
    t.after(() => impostor.stop());
    const h = startClientMtp(impostor.port);
    const failure = await waitFor(() => h.statuses.find((s) => s.status === 'Error_Misconfigured'), 'the refusal');
    await h.mtp.stop();
    assert.match(failure.detail ?? '', /speaks for proto::ctrl-b, not for the Controller proto::ctrl-a/);
    assert.equal(impostor.upgrades.length, 0, 'refused in the TLS handshake, before any HTTP');
    assert.equal(h.connects, 0);

    const liar = await startControllerServer({ extension: `bbf-usp-protocol; eid="${OTHER_CONTROLLER}"` });
    t.after(() => liar.stop());
    const h2 = startClientMtp(liar.port);
    const failure2 = await waitFor(() => h2.statuses.find((s) => s.status === 'Error_Misconfigured'), 'the refusal');
    await h2.mtp.stop();
    assert.match(failure2.detail ?? '', /says it is proto::ctrl-b/);
    assert.equal(h2.connects, 0);

    const untrusted = await startControllerServer({ cert: pki.issue('untrusted', { dns: ['localhost'] }, { untrusted: true }) });
    t.after(() => untrusted.stop());
    const h3 = startClientMtp(untrusted.port);
    const failure3 = await waitFor(() => h3.statuses.find((s) => s.status === 'Error_Misconfigured'), 'the refusal');
    await h3.mtp.stop();
    assert.match(failure3.detail ?? '', /certificate/i);
  });

  test('server gone: retries follow R-WS.19 (m, then m·k/1000 …), CurrentRetryCount climbs, and is 0 again on reconnect (TP-469 7.8)', async (t) => {
    const controller = await startControllerServer();
    const port = controller.port;
    const h = startClientMtp(port, { retry: { initialSeconds: 0.2, multiplier: 2000 }, random: () => 0.5 });
    t.after(() => h.mtp.stop());
    await waitFor(() => h.connects === 1, 'the session');

    // The Controller refuses new sessions: it takes the TCP connection and drops it at once, noting when.
    const attempts: number[] = [];
    const refuser: NetServer = createNetServer((socket) => {
      attempts.push(Date.now());
      socket.destroy();
    });
    const lostAt = Date.now();
    await controller.stop();
    await new Promise<void>((resolve) => refuser.listen(port, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => refuser.close(() => { resolve(); })));
    await waitFor(() => attempts.length >= 3, 'three dials', 8000);
    // Retry n waits in [0.2·2^(n−1), 0.2·2^n] s; with random() = 0.5 in the middle: 0.3, 0.6, 1.2 s. Measured from
    // the previous refusal, so a little later, never earlier.
    const waits = [attempts[0]! - lostAt, attempts[1]! - attempts[0]!, attempts[2]! - attempts[1]!];
    for (const [i, expected] of [300, 600, 1200].entries()) {
      assert.ok(waits[i]! >= expected - 5 && waits[i]! <= expected + 300, `wait ${i + 1}: ${waits[i]} ms, expected ${expected}`);
    }
    assert.deepEqual(h.retryCounts.slice(0, 3), [1, 2, 3]);
    assert.ok(h.mtp.currentRetryCount >= 3);

    await new Promise<void>((resolve) => refuser.close(() => { resolve(); }));
    const back = await startControllerServer({ port });
    t.after(() => back.stop());
    await waitFor(() => h.connects === 2, 'the new session', 8000);
    assert.equal(h.mtp.currentRetryCount, 0);
    assert.equal(h.retryCounts.at(-1), 0);
    assert.equal(h.mtp.status, 'Connected');
  });

  test('a Close from the Controller is answered with a Close, then the agent dials again (TP-469 7.4)', async (t) => {
    const controller = await startControllerServer();
    t.after(() => controller.stop());
    const h = startClientMtp(controller.port);
    t.after(() => h.mtp.stop());
    await waitFor(() => h.connects === 1, 'the session');
    const first = controller.sockets[0]!;
    const closed = closeOf(first);
    first.close(1000, 'bye');
    assert.equal((await closed).code, 1000, 'the agent answered the Close handshake');
    await waitFor(() => h.connects === 2, 'the new session');
    assert.deepEqual(h.retryCounts, [1, 0]);
  });

  test('keep-alive: Pings every keepAliveSeconds; a Controller that stops answering them is dropped and dialled again', async (t) => {
    const controller = await startControllerServer();
    t.after(() => controller.stop());
    const h = startClientMtp(controller.port, { keepAliveSeconds: 0.1 });
    t.after(() => h.mtp.stop());
    await waitFor(() => h.connects === 1, 'the session');
    await waitFor(() => controller.pings >= 3, 'three Pings', 2000);
    await controller.stop();

    const silent = await startControllerServer({ autoPong: false, port: controller.port });
    t.after(() => silent.stop());
    await waitFor(() => h.connects === 2, 'the session with the silent Controller');
    await waitFor(() => silent.sockets[0]?.readyState === WebSocket.CLOSED, 'the dead session dropped', 2000);
    assert.ok(silent.pings >= 1);
    await waitFor(() => h.connects === 3, 'a new session');
  });

  test('a text frame or a frame that is not a Record closes with 1003; an oversized one with 1009 (R-WS.16)', async (t) => {
    const controller = await startControllerServer();
    t.after(() => controller.stop());
    const h = startClientMtp(controller.port, { maxRecordBytes: 1024 });
    t.after(() => h.mtp.stop());
    await waitFor(() => h.connects === 1, 'the session');
    const cases: [string, (ws: WebSocket) => void, number][] = [
      ['text', (ws) => { ws.send('hello'); }, 1003],
      ['junk', (ws) => { ws.send(Buffer.from([0xff, 0xff, 0xff]), { binary: true }); }, 1003],
      ['oversized', (ws) => { ws.send(Buffer.alloc(2000), { binary: true }); }, 1009],
    ];
    for (const [i, [what, misbehave, code]] of cases.entries()) {
      await waitFor(() => h.connects === i + 1, `session ${i + 1}`);
      const ws = controller.sockets[i]!;
      const closed = closeOf(ws);
      misbehave(ws);
      assert.equal((await closed).code, code, what);
    }
    assert.equal(h.records.length, 0);
  });

  test('Reset() drops the session and dials at once with CurrentRetryCount 0, also in the middle of a long back-off', async (t) => {
    const controller = await startControllerServer();
    const port = controller.port;
    const h = startClientMtp(port, { retry: { initialSeconds: 60, multiplier: 1000 } });
    t.after(() => h.mtp.stop());
    await waitFor(() => h.connects === 1, 'the session');
    const closed = closeOf(controller.sockets[0]!);
    h.mtp.reset();
    assert.equal((await closed).code, 1000);
    await waitFor(() => h.connects === 2, 'the session after Reset()');
    assert.equal(controller.upgrades.length, 2);

    await controller.stop();
    await waitFor(() => h.mtp.currentRetryCount === 1, 'the retry wait (60 s)');
    const back = await startControllerServer({ port });
    t.after(() => back.stop());
    h.mtp.reset();
    assert.equal(h.mtp.currentRetryCount, 0);
    await waitFor(() => h.connects === 3, 'the session after Reset() during the back-off');
  });

  test('stop() closes with 1001 and dials no more', async (t) => {
    const controller = await startControllerServer();
    t.after(() => controller.stop());
    const h = startClientMtp(controller.port);
    await waitFor(() => h.connects === 1, 'the session');
    const closed = closeOf(controller.sockets[0]!);
    await h.mtp.stop();
    assert.equal((await closed).code, 1001);
    assert.equal(h.mtp.status, 'Disabled');
    await sleep(300);
    assert.equal(controller.upgrades.length, 1);
    await assert.rejects(h.mtp.send(record(AGENT, CONTROLLER)), /no open WebSocket session/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Server role: Controllers dial the agent.
// ---------------------------------------------------------------------------------------------------------------

interface ServerHarness {
  readonly mtp: WebSocketServerMtp;
  readonly opened: WebSocketPeer[];
  readonly closed: string[];
  readonly records: { endpointId: string; bytes: Uint8Array }[];
  readonly admitted: WebSocketPeer[];
}

const KNOWN = new Set([CONTROLLER, OTHER_CONTROLLER, 'proto::ctrl-c']);

async function startServerMtp(options: Partial<WebSocketServerOptions> = {}): Promise<ServerHarness> {
  const harness: ServerHarness = { mtp: undefined as unknown as WebSocketServerMtp, opened: [], closed: [], records: [], admitted: [] };
  const mtp = createWebSocketServerMtp(
    {
      bindAddress: '127.0.0.1',
      port: 0,
      path: '/usp',
      encryption: true,
      tls: { caFile: pki.caFile, ...pki.server },
      requireClientCertificate: true,
      keepAliveSeconds: 30,
      agentEndpointId: AGENT,
      maxRecordBytes: 4096,
      maxSessions: 4,
      admit: (peer) => {
        harness.admitted.push(peer);
        return KNOWN.has(peer.endpointId) ? undefined : `no Controller ${peer.endpointId}`;
      },
      ...options,
    },
    {
      onRecord: (endpointId, bytes) => harness.records.push({ endpointId, bytes }),
      onSessionOpened: (peer) => harness.opened.push(peer),
      onSessionClosed: (endpointId) => harness.closed.push(endpointId),
      onStatus: () => undefined,
    },
    createSilentLogger(),
  );
  Object.assign(harness, { mtp });
  await mtp.start();
  return harness;
}

interface Dialled {
  readonly ws?: WebSocket;
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
  readonly headers?: IncomingHttpHeaders;
}

interface DialOptions {
  readonly eid?: string | undefined;
  readonly path?: string;
  readonly protocols?: string[];
  readonly cert?: CertificateFiles | undefined;
  readonly headers?: Record<string, string>;
  readonly autoPong?: boolean;
  readonly encryption?: boolean;
}

const controllerCerts = new Map<string, CertificateFiles>();
function controllerCert(eid: string): CertificateFiles {
  let cert = controllerCerts.get(eid);
  if (!cert) {
    cert = pki.client(eid);
    controllerCerts.set(eid, cert);
  }
  return cert;
}

/** A Controller dialling the agent: the open socket, or the HTTP answer that refused it. */
function dialAgent(port: number, options: DialOptions = {}): Promise<Dialled> {
  return within(dialAgentOnce(port, options), 'the opening handshake');
}

function dialAgentOnce(port: number, options: DialOptions): Promise<Dialled> {
  const eid = 'eid' in options ? options.eid : CONTROLLER;
  const cert = 'cert' in options ? options.cert : eid !== undefined ? controllerCert(eid) : undefined;
  const query = eid === undefined ? '' : `?eid=${encodeURIComponent(eid)}`;
  const url = `${options.encryption === false ? 'ws' : 'wss'}://localhost:${port}${options.path ?? '/usp'}${query}`;
  return new Promise((resolve) => {
    let headers: IncomingHttpHeaders | undefined;
    const ws = new WebSocket(url, options.protocols ?? ['v1.usp'], {
      ca: readFileSync(pki.caFile),
      ...(cert && { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }),
      ...(options.headers && { headers: options.headers }),
      autoPong: options.autoPong ?? true,
      perMessageDeflate: false,
    });
    ws.on('upgrade', (response) => {
      headers = { ...response.headers };
      // `ws` refuses extensions it did not offer itself: the test reads the agent's answer and takes it out.
      delete response.headers['sec-websocket-extensions'];
    });
    ws.on('open', () => { resolve({ ws, ...(headers && { headers }) }); });
    ws.on('unexpected-response', (request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body, headers: response.headers });
      });
    });
    ws.on('error', (error) => { resolve({ error: error.message }); });
  });
}

describe('WebSocket MTP, server role (Controllers dial the agent)', { skip }, () => {
  test('mutual TLS: the session opens with v1.usp, the peer is named by eid and certificate, Records flow both ways', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    assert.equal(h.mtp.status, 'Connected');
    const { ws, headers } = await dialAgent(h.mtp.port);
    assert.ok(ws);
    t.after(() => { ws.terminate(); });
    assert.equal(ws.protocol, 'v1.usp');
    assert.equal(headers?.['sec-websocket-extensions'], undefined, 'no bbf-usp-protocol answer when none was offered');
    const peer = await waitFor(() => h.opened[0], 'onSessionOpened');
    assert.deepEqual(peer, { endpointId: CONTROLLER, certificateEndpointIds: [CONTROLLER], remoteAddress: '127.0.0.1' });
    assert.equal(h.mtp.hasSession(CONTROLLER), true);

    ws.send(record(CONTROLLER, AGENT, [4, 2]));
    const inbound = await waitFor(() => h.records[0], 'the Record');
    assert.equal(inbound.endpointId, CONTROLLER);
    assert.deepEqual([...decodeRecord(inbound.bytes).noSessionContext!.payload!], [4, 2]);

    const answer = nextMessage(ws);
    await h.mtp.send(CONTROLLER, record(AGENT, CONTROLLER, [1]));
    assert.equal((await answer).isBinary, true);
    await assert.rejects(h.mtp.send(CONTROLLER, new Uint8Array(4097)), RecordTooLargeError);
    await assert.rejects(h.mtp.send(OTHER_CONTROLLER, record(AGENT, OTHER_CONTROLLER)), /no open WebSocket session with proto::ctrl-b/);
  });

  test('a fragmented Record is put together (R-WS.14b, TP-469 7.12)', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    const { ws } = await dialAgent(h.mtp.port);
    assert.ok(ws);
    t.after(() => { ws.terminate(); });
    const bytes = record(CONTROLLER, AGENT, [...Array(300).keys()].map((i) => i % 256));
    ws.send(bytes.subarray(0, 100), { binary: true, fin: false });
    ws.send(bytes.subarray(100, 200), { binary: true, fin: false });
    ws.send(bytes.subarray(200), { binary: true, fin: true });
    const inbound = await waitFor(() => h.records[0], 'the Record');
    assert.deepEqual(Buffer.from(inbound.bytes), bytes);
  });

  test('refused at the upgrade, nothing sent, with the HTTP status saying why', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    const port = h.mtp.port;
    const cases: [string, DialOptions, number, RegExp][] = [
      ['no client certificate', { cert: undefined }, 401, /a client certificate is required/],
      ['a certificate from a CA the agent does not trust', { cert: pki.issue('stranger-ca', { endpointIds: [CONTROLLER] }, { untrusted: true }) }, 401, /not trusted/],
      ["another Controller's certificate", { cert: controllerCert(OTHER_CONTROLLER) }, 403, /does not speak for proto::ctrl-a/],
      ['an unknown Controller', { eid: 'proto::stranger' }, 403, /not admitted/],
      ['no v1.usp subprotocol', { protocols: ['chat'] }, 400, /v1\.usp/],
      ['no subprotocol at all', { protocols: [] }, 400, /v1\.usp/],
      ['no eid', { eid: undefined, cert: controllerCert(CONTROLLER) }, 400, /eid=<Endpoint ID>/],
      ['another path', { path: '/other' }, 404, /no USP Endpoint/],
    ];
    for (const [what, options, status, body] of cases) {
      const result = await dialAgent(port, options);
      result.ws?.terminate();
      assert.equal(result.status, status, `${what}: ${JSON.stringify(result)}`);
      assert.match(result.body ?? '', body, what);
    }
    assert.deepEqual(h.opened, []);
    assert.deepEqual(h.records, []);
    // admit() is asked only about peers whose certificate matches their eid; it named the stranger.
    assert.deepEqual(h.admitted.map((peer) => peer.endpointId), ['proto::stranger']);
  });

  test('the eid may come in the deprecated bbf-usp-protocol extension, and the agent answers with its own (R-WS.11a)', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    const { ws, headers } = await dialAgent(h.mtp.port, { eid: undefined, cert: controllerCert(CONTROLLER), headers: { 'Sec-WebSocket-Extensions': `bbf-usp-protocol; eid="${CONTROLLER}"` } });
    assert.ok(ws);
    t.after(() => { ws.terminate(); });
    assert.equal(headers?.['sec-websocket-extensions'], `bbf-usp-protocol; eid="${AGENT}"`);
    assert.equal((await waitFor(() => h.opened[0], 'the session')).endpointId, CONTROLLER);

    const disagreeing = await dialAgent(h.mtp.port, { headers: { 'Sec-WebSocket-Extensions': `bbf-usp-protocol; eid="${OTHER_CONTROLLER}"` } });
    assert.equal(disagreeing.status, 400);
    assert.match(disagreeing.body ?? '', /differ/);
  });

  test('a text frame or a frame that is not a Record closes that session with 1003; the agent keeps serving the others', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    const other = (await dialAgent(h.mtp.port, { eid: OTHER_CONTROLLER })).ws!;
    t.after(() => { other.terminate(); });
    for (const misbehave of [(ws: WebSocket) => { ws.send('{"not":"binary"}'); }, (ws: WebSocket) => { ws.send(Buffer.from('junk'), { binary: true }); }]) {
      const { ws } = await dialAgent(h.mtp.port);
      assert.ok(ws);
      const closed = closeOf(ws);
      misbehave(ws);
      assert.equal((await closed).code, 1003);
      await waitFor(() => !h.mtp.hasSession(CONTROLLER), 'the session gone');
    }
    assert.deepEqual(h.closed, [CONTROLLER, CONTROLLER]);
    const answer = nextMessage(other);
    other.send(record(OTHER_CONTROLLER, AGENT));
    await waitFor(() => h.records.find((r) => r.endpointId === OTHER_CONTROLLER), 'the other Controller served');
    await h.mtp.send(OTHER_CONTROLLER, record(AGENT, OTHER_CONTROLLER));
    await answer;
  });

  test('a message over maxRecordBytes, whole or in fragments, closes with 1009 before it is held', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    const whole = (await dialAgent(h.mtp.port)).ws!;
    const closedWhole = closeOf(whole);
    whole.send(Buffer.alloc(4097), { binary: true });
    assert.equal((await closedWhole).code, 1009);

    const fragmented = (await dialAgent(h.mtp.port)).ws!;
    const closedFragmented = closeOf(fragmented);
    for (let i = 0; i < 5; i += 1) fragmented.send(Buffer.alloc(1000), { binary: true, fin: false });
    assert.equal((await closedFragmented).code, 1009);
    assert.deepEqual(h.records, []);
  });

  test('a Controller that does not read its socket: send() fails once the bound waits unsent, the agent holds no more', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    const socket = tlsConnect({ port: h.mtp.port, host: '127.0.0.1', servername: 'localhost', ca: readFileSync(pki.caFile), ...certOptions(controllerCert(CONTROLLER)) });
    t.after(() => socket.destroy());
    await within(new Promise((resolve) => socket.once('secureConnect', resolve)), 'TLS');
    socket.write(
      `GET /usp?eid=${CONTROLLER} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v1.usp\r\n\r\n',
    );
    const answer = await within(new Promise<Buffer>((resolve) => socket.once('data', resolve)), 'the 101');
    assert.match(answer.toString(), /^HTTP\/1\.1 101/);
    socket.pause();
    await waitFor(() => h.mtp.hasSession(CONTROLLER), 'the session');

    const bytes = record(AGENT, CONTROLLER, Array.from({ length: 4000 }, () => 1));
    let accepted = 0;
    let refusal: Error | undefined;
    // 4 KB Records until the agent says no: the kernel's socket buffers take some MB first, then 1 MiB may wait in the agent.
    while (refusal === undefined && accepted < 20_000) {
      const sending = h.mtp.send(CONTROLLER, bytes);
      sending.catch((error: unknown) => { refusal ??= error as Error; });
      await Promise.resolve();
      await Promise.resolve();
      if (refusal === undefined) accepted += 1;
    }
    assert.match(refusal?.message ?? '', /proto::ctrl-a is not reading its WebSocket session: \d+ bytes already wait to be sent \(at most 1048576\)/);
    assert.ok(accepted > 256, `${accepted} Records taken before the refusal`);
  });

  test('one session per Controller (R-WS.4): a second session of the same eid replaces the first (TP-469 7.2)', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    const first = (await dialAgent(h.mtp.port)).ws!;
    const firstClosed = closeOf(first);
    const second = (await dialAgent(h.mtp.port)).ws!;
    t.after(() => { second.terminate(); });
    const { code, reason } = await firstClosed;
    assert.equal(code, 1000);
    assert.match(reason, /replaced by a newer session/);
    assert.deepEqual(h.opened.map((peer) => peer.endpointId), [CONTROLLER, CONTROLLER]);
    assert.deepEqual(h.closed, [], 'the Controller never was without a session');
    const answer = nextMessage(second);
    await h.mtp.send(CONTROLLER, record(AGENT, CONTROLLER));
    await answer;
    second.send(record(CONTROLLER, AGENT));
    await waitFor(() => h.records[0], 'the Record on the new session');
  });

  test('maxSessions: one more Controller is refused with 503; a Controller replacing its own session still gets in', async (t) => {
    const h = await startServerMtp({ maxSessions: 2 });
    t.after(() => h.mtp.stop());
    const a = (await dialAgent(h.mtp.port, { eid: CONTROLLER })).ws!;
    const b = (await dialAgent(h.mtp.port, { eid: OTHER_CONTROLLER })).ws!;
    t.after(() => { a.terminate(); b.terminate(); });
    const c = await dialAgent(h.mtp.port, { eid: 'proto::ctrl-c' });
    assert.equal(c.status, 503);
    assert.match(c.body ?? '', /its 2 WebSocket sessions open/);
    const again = await dialAgent(h.mtp.port, { eid: CONTROLLER });
    assert.ok(again.ws);
    t.after(() => { again.ws!.terminate(); });
  });

  test('keep-alive: Pings every keepAliveSeconds; a Controller that answers none is dropped; closeSession() closes with its reason', async (t) => {
    const h = await startServerMtp({ keepAliveSeconds: 0.1 });
    t.after(() => h.mtp.stop());
    const lively = (await dialAgent(h.mtp.port)).ws!;
    t.after(() => { lively.terminate(); });
    let pings = 0;
    lively.on('ping', () => { pings += 1; });
    const silent = (await dialAgent(h.mtp.port, { eid: OTHER_CONTROLLER, autoPong: false })).ws!;
    const silentClosed = closeOf(silent);
    await waitFor(() => h.closed.includes(OTHER_CONTROLLER), 'the silent Controller dropped', 2000);
    assert.equal((await silentClosed).code, 1006, 'dropped without a closing handshake');
    assert.ok(pings >= 2, `${pings} Pings`);
    assert.equal(h.mtp.hasSession(CONTROLLER), true);

    const closed = closeOf(lively);
    h.mtp.closeSession(CONTROLLER, 'the Controller was disabled');
    assert.deepEqual(await closed, { code: 1000, reason: 'the Controller was disabled' });
    await waitFor(() => h.closed.includes(CONTROLLER), 'onSessionClosed');
    assert.equal(h.mtp.hasSession(CONTROLLER), false);
  });

  test('before the upgrade: a client that never finishes its request is dropped after the handshake timeout, huge headers get 431, plain HTTP 426', async (t) => {
    const h = await startServerMtp({ handshakeTimeoutMs: 400 });
    t.after(() => h.mtp.stop());
    const port = h.mtp.port;
    const open = (await dialAgent(port)).ws!;
    t.after(() => { open.terminate(); });

    const tcpOnly = tcpConnect(port, '127.0.0.1');
    tcpOnly.on('error', () => undefined);
    const slowTls = tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(pki.caFile), servername: 'localhost', ...certOptions(controllerCert(CONTROLLER)) });
    slowTls.on('error', () => undefined);
    slowTls.once('secureConnect', () => slowTls.write('GET /usp?eid=proto::ctrl-a HTTP/1.1\r\nHost: localhost\r\n'));
    const started = Date.now();
    const [tcpClosedAt, tlsClosedAt] = await Promise.all([tcpOnly, slowTls].map((socket) => new Promise<number>((resolve) => socket.once('close', () => { resolve(Date.now() - started); }))));
    for (const closedAt of [tcpClosedAt!, tlsClosedAt!]) assert.ok(closedAt >= 350 && closedAt < 2500, `dropped after ${closedAt} ms (timeout 400 ms)`);
    assert.equal(open.readyState, WebSocket.OPEN, 'an open session is not subject to the handshake timeout');

    const huge = await dialAgent(port, { headers: { 'X-Padding': 'x'.repeat(10_000) } });
    assert.equal(huge.status, 431);
    const plain = await new Promise<number>((resolve) => {
      const socket = tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(pki.caFile), servername: 'localhost' }, () => socket.write('GET /usp HTTP/1.1\r\nHost: localhost\r\n\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(data.toString())?.[1]));
      });
    });
    assert.equal(plain, 426);
  });

  test('without TLS: the eid alone names the peer (no certificate Endpoint IDs)', async (t) => {
    const h = await startServerMtp({ encryption: false, requireClientCertificate: false, tls: undefined });
    t.after(() => h.mtp.stop());
    const { ws } = await dialAgent(h.mtp.port, { encryption: false, cert: undefined });
    assert.ok(ws);
    t.after(() => { ws.terminate(); });
    assert.deepEqual(await waitFor(() => h.opened[0], 'the session'), { endpointId: CONTROLLER, certificateEndpointIds: [], remoteAddress: '127.0.0.1' });
  });

  test('start() fails clearly when the port is taken, or client certificates are required without TLS', async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    await assert.rejects(startServerMtp({ port: h.mtp.port }), /EADDRINUSE/);
    await assert.rejects(startServerMtp({ encryption: false }), /cannot require client certificates without encryption/);
  });

  test('stop() closes every session with 1001 and the port', async () => {
    const h = await startServerMtp();
    const a = (await dialAgent(h.mtp.port, { eid: CONTROLLER })).ws!;
    const b = (await dialAgent(h.mtp.port, { eid: OTHER_CONTROLLER })).ws!;
    const closes = Promise.all([closeOf(a), closeOf(b)]);
    await h.mtp.stop();
    assert.deepEqual((await closes).map((c) => c.code), [1001, 1001]);
    assert.equal(h.mtp.status, 'Disabled');
    const refused = await dialAgent(h.mtp.port);
    assert.match(refused.error ?? '', /ECONNREFUSED/);
  });

  test('curl, an independent HTTP client, sees the refusals and the 101 with v1.usp', { skip: curlAvailable() ? undefined : 'curl is not installed' }, async (t) => {
    const h = await startServerMtp();
    t.after(() => h.mtp.stop());
    const cert = controllerCert(CONTROLLER);
    const base = ['-s', '-i', '--http1.1', '--max-time', '2', '--cacert', pki.caFile, '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
    const url = `https://localhost:${h.mtp.port}/usp?eid=${CONTROLLER}`;
    const noProtocol = await curl([...base, '--cert', cert.certFile, '--key', cert.keyFile, url]);
    assert.match(noProtocol, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(noProtocol, /does not offer the v1\.usp subprotocol/);
    const noCertificate = await curl([...base, '-H', 'Sec-WebSocket-Protocol: v1.usp', url]);
    assert.match(noCertificate, /^HTTP\/1\.1 401 Unauthorized/);
    const accepted = await curl([...base, '--cert', cert.certFile, '--key', cert.keyFile, '-H', 'Sec-WebSocket-Protocol: v1.usp', url]);
    assert.match(accepted, /^HTTP\/1\.1 101 Switching Protocols/);
    assert.match(accepted, /Sec-WebSocket-Protocol: v1\.usp/i);
    assert.match(accepted, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  });
});

function certOptions(cert: CertificateFiles): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) };
}

function curlAvailable(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function curl(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('curl', args, (_error, stdout) => { resolve(stdout); });
  });
}
