// The agent's WebSocket MTP in the server role (TR-369 §WebSocket Binding, R-WS.6): Controllers dial the agent
// (LocalAgent.MTP.{i}.WebSocket.Port/Path, TLS when EnableEncryption). Every refusal happens at the opening
// handshake, as an HTTP answer, before any WebSocket frame, and is logged with its reason:
//
//   path other than `path`                                    404
//   no `v1.usp` among the offered subprotocols (R-WS.12a)     400
//   no `eid` (query R-WS.10b, or the deprecated extension)    400 (also: two eids, bad encoding, query and extension disagree)
//   TLS: a client certificate that does not verify, or none when requireClientCertificate   401
//   a certificate whose urn:bbf:usp:id: SANs do not name the eid (R-SEC.0a)                  403
//   admit(peer) says no (unknown or disabled Controller, …)   403
//   maxSessions sessions already open, or stopping            503
//
// One session per peer Endpoint ID (R-WS.4): a new session of an eid that has one replaces it (the old one is
// closed with 1000). The peer passed the same admission as the first, so it is that Controller; and the
// usual reason for a second session is that the first is dead on the Controller's side (it restarted, or a NAT
// forgot the connection) while the agent's keep-alive has not noticed yet. Refusing it, as obuspa does, would lock
// the Controller out for up to two keep-alive intervals. TP-469 7.2 accepts either behaviour.
//
// Bounds before the upgrade: the TLS handshake and the HTTP request together within handshakeTimeoutMs (then the
// socket is dropped), request headers at most MAX_HEADER_BYTES (431), at most maxSessions + MAX_PENDING_CONNECTIONS
// TCP connections at once (beyond, new ones are closed at once), and any plain HTTP request gets 426.
import { createServer as createHttpServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server, ServerOptions as HttpServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { endpointIdsFromSubjectAltName } from './certificate-endpoint-ids.ts';
import { checkPeerEndpointId, endpointIdFromQuery, uspExtensionHeader, uspExtensionOffer } from './endpoint-id-query.ts';
import { attachUspSession, callHandler, CloseCode, USP_SUBPROTOCOL } from './usp-session.ts';
import type { UspSession } from './usp-session.ts';
import { RecordTooLargeError } from '../mtp.ts';
import type { MtpStatus, WebSocketPeer, WebSocketServerEvents, WebSocketServerMtp, WebSocketServerOptions } from '../mtp.ts';
import type { Logger } from '../../log.ts';

/** Default time a connection has for the TLS handshake and the upgrade request together. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Request line and headers of the upgrade request, at most (beyond: 431). */
export const MAX_HEADER_BYTES = 8 * 1024;
/** Connections that are not (yet) sessions, at most, beyond maxSessions. */
export const MAX_PENDING_CONNECTIONS = 16;
/** How long a closing handshake may take before the socket is dropped. */
const CLOSE_TIMEOUT_MS = 5_000;

interface SessionEntry {
  readonly peer: WebSocketPeer;
  readonly session: UspSession;
  /** Closed because a newer session of the same peer took its place: no onSessionClosed for it. */
  replaced: boolean;
}

interface Refusal {
  readonly status: number;
  /** Told to the peer. */
  readonly message: string;
  /** Logged (what the peer is not told). */
  readonly detail?: string;
}

/** The offered subprotocols of a Sec-WebSocket-Protocol header (several headers arrive joined by ", "). */
export function offeredSubprotocols(header: string | undefined): string[] {
  return header === undefined ? [] : header.split(',').map((protocol) => protocol.trim()).filter((protocol) => protocol !== '');
}

/** An HTTP answer instead of the upgrade, then the connection closes (dropped if the peer keeps it open). */
function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  const body = `${refusal.message}\n`;
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Refused'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  setTimeout(() => socket.destroy(), 1000).unref();
}

export function createWebSocketServerMtp(options: WebSocketServerOptions, events: WebSocketServerEvents, logger: Logger): WebSocketServerMtp {
  const log = logger.child({ mtp: 'WebSocket server' });
  const path = options.path === '' ? '/' : options.path;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const sessions = new Map<string, SessionEntry>();
  const connections = new Set<Socket>();
  let server: Server | undefined;
  let wss: WebSocketServer | undefined;
  let status: MtpStatus = 'Disabled';
  let stopping = false;
  let listeningPort = 0;

  const notify = (what: string, call: () => void): void => { callHandler(log, what, call); };

  const setStatus = (next: MtpStatus, detail?: string): void => {
    if (next === status) return;
    status = next;
    notify('onStatus', () => { events.onStatus(next, detail); });
  };

  /** Why this upgrade request gets no session, or the peer it comes from. */
  const judge = (request: IncomingMessage): Refusal | WebSocketPeer => {
    if (stopping) return { status: 503, message: 'the agent is stopping' };
    const url = request.url ?? '';
    const queryAt = url.indexOf('?');
    const requestPath = queryAt < 0 ? url : url.slice(0, queryAt);
    if (requestPath !== path) return { status: 404, message: 'no USP Endpoint at this path', detail: `path ${requestPath.slice(0, 256)}` };
    if (!offeredSubprotocols(request.headers['sec-websocket-protocol']).includes(USP_SUBPROTOCOL)) {
      return { status: 400, message: 'the request does not offer the v1.usp subprotocol (Sec-WebSocket-Protocol, R-WS.12a)' };
    }

    const fromQuery = endpointIdFromQuery(queryAt < 0 ? '' : url.slice(queryAt + 1));
    if (fromQuery && 'error' in fromQuery) return { status: 400, message: fromQuery.error };
    const fromExtension = uspExtensionOffer(request.headers['sec-websocket-extensions']).endpointId;
    if (fromExtension !== undefined) {
      const problem = checkPeerEndpointId(fromExtension);
      if (problem) return { status: 400, message: `eid in the bbf-usp-protocol extension: ${problem}` };
    }
    if (fromQuery && fromExtension !== undefined && fromQuery.endpointId !== fromExtension) {
      return { status: 400, message: 'the eid of the query and that of the bbf-usp-protocol extension differ' };
    }
    const endpointId = fromQuery?.endpointId ?? fromExtension;
    if (endpointId === undefined) return { status: 400, message: 'the request does not name its Endpoint ID (eid=<Endpoint ID> in the query, R-WS.10b)' };

    let certificateEndpointIds: string[] = [];
    if (options.encryption) {
      const tlsSocket = request.socket;
      if (!(tlsSocket instanceof TLSSocket)) return { status: 500, message: 'internal error', detail: 'an encrypted server gave a plain socket' };
      const certificate = tlsSocket.getPeerCertificate();
      const presented = certificate !== null && Object.keys(certificate).length > 0;
      if (presented && !tlsSocket.authorized) {
        return { status: 401, message: 'the client certificate is not trusted', detail: `eid ${endpointId}: ${String(tlsSocket.authorizationError)}` };
      }
      if (!presented && options.requireClientCertificate) return { status: 401, message: 'a client certificate is required', detail: `eid ${endpointId}` };
      if (presented) certificateEndpointIds = endpointIdsFromSubjectAltName(certificate.subjectaltname);
    }
    if (certificateEndpointIds.length > 0 && !certificateEndpointIds.includes(endpointId)) {
      return { status: 403, message: `the client certificate does not speak for ${endpointId}`, detail: `it speaks for ${certificateEndpointIds.join(', ')}` };
    }
    const peer: WebSocketPeer = { endpointId, certificateEndpointIds, remoteAddress: request.socket.remoteAddress ?? '' };

    let reason: string | undefined;
    try {
      reason = options.admit(peer);
    } catch (error) {
      reason = `admission failed: ${(error as Error).message}`;
    }
    if (reason !== undefined) return { status: 403, message: 'not admitted', detail: `eid ${endpointId}: ${reason}` };
    if (!sessions.has(endpointId) && sessions.size >= options.maxSessions) {
      return { status: 503, message: `the agent has its ${options.maxSessions} WebSocket sessions open`, detail: `eid ${endpointId}` };
    }
    return peer;
  };

  const openSession = (ws: WebSocket, peer: WebSocketPeer): void => {
    if (stopping) {
      ws.terminate();
      return;
    }
    const previous = sessions.get(peer.endpointId);
    if (previous) {
      previous.replaced = true;
      log.info({ eid: peer.endpointId, remoteAddress: peer.remoteAddress }, 'a new WebSocket session of the same Controller replaces the open one (R-WS.4)');
      previous.session.close(CloseCode.normal, 'replaced by a newer session of the same Endpoint (R-WS.4)');
    }
    const entry: SessionEntry = {
      peer,
      replaced: false,
      session: attachUspSession(ws, { keepAliveSeconds: options.keepAliveSeconds, maxRecordBytes: options.maxRecordBytes, peer: peer.endpointId }, {
        onRecord: (bytes) => {
          if (entry.replaced || sessions.get(peer.endpointId) !== entry) return;
          notify('onRecord', () => { events.onRecord(peer.endpointId, bytes); });
        },
        onClose: (code, reason) => {
          const current = sessions.get(peer.endpointId) === entry;
          if (current) sessions.delete(peer.endpointId);
          log.info({ eid: peer.endpointId, code, reason }, 'WebSocket session closed');
          if (!entry.replaced) notify('onSessionClosed', () => { events.onSessionClosed(peer.endpointId); });
        },
      }, log),
    };
    sessions.set(peer.endpointId, entry);
    log.info({ eid: peer.endpointId, remoteAddress: peer.remoteAddress, certificateEndpointIds: peer.certificateEndpointIds }, 'WebSocket session open');
    notify('onSessionOpened', () => { events.onSessionOpened(peer); });
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', (error: Error & { code?: string }) => { log.debug({ err: error.message, code: error.code }, 'socket error during the opening handshake'); });
    let verdict: Refusal | WebSocketPeer;
    try {
      verdict = judge(request);
    } catch (error) {
      log.error({ err: error }, 'cannot judge a WebSocket upgrade request');
      verdict = { status: 500, message: 'internal error' };
    }
    if ('status' in verdict) {
      log.warn({ status: verdict.status, remoteAddress: request.socket.remoteAddress, reason: verdict.message, detail: verdict.detail }, 'refused a WebSocket session');
      refuseUpgrade(socket, verdict);
      return;
    }
    const peer = verdict;
    try {
      wss!.handleUpgrade(request, socket, head, (ws) => { openSession(ws, peer); });
    } catch (error) {
      log.error({ err: error }, 'WebSocket upgrade failed');
      socket.destroy();
    }
  };

  const closeAll = async (code: number, reason: string): Promise<void> => {
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(
      open.map(
        (entry) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              entry.session.terminate();
              resolve();
            }, 1000);
            timer.unref();
            void entry.session.closed.then(() => {
              clearTimeout(timer);
              resolve();
            });
            entry.session.close(code, reason);
          }),
      ),
    );
  };

  return {
    get status() {
      return status;
    },
    get port() {
      return listeningPort;
    },
    get maxRecordBytes() {
      return options.maxRecordBytes;
    },
    async start() {
      if (server) return;
      stopping = false;
      if (options.requireClientCertificate && !options.encryption) {
        setStatus('Error_Misconfigured', 'client certificates need encryption');
        throw new Error('the WebSocket server cannot require client certificates without encryption (TLS)');
      }
      let tls: { cert: Buffer; key: Buffer; ca?: Buffer } | undefined;
      if (options.encryption) {
        if (!options.tls?.certFile || !options.tls.keyFile) {
          setStatus('Error_Misconfigured', 'encryption needs a certificate and its key');
          throw new Error('the WebSocket server needs tls.certFile and tls.keyFile for encryption');
        }
        try {
          tls = {
            cert: await readFile(options.tls.certFile),
            key: await readFile(options.tls.keyFile),
            ...(options.tls.caFile && { ca: await readFile(options.tls.caFile) }),
          };
        } catch (error) {
          setStatus('Error_Misconfigured', `cannot read a TLS file: ${(error as Error).message}`);
          throw error;
        }
      }
      const httpOptions: HttpServerOptions = {
        maxHeaderSize: MAX_HEADER_BYTES,
        headersTimeout: handshakeTimeoutMs,
        requestTimeout: handshakeTimeoutMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(handshakeTimeoutMs / 4))),
        keepAliveTimeout: 1000,
      };
      const created: Server = tls
        ? createHttpsServer({
            ...httpOptions,
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca && { ca: tls.ca }),
            // Asked for when there is a CA to check it against (or it is required); judged at the upgrade, so that the
            // refusal is an HTTP answer that says why rather than a TLS alert.
            requestCert: options.requireClientCertificate || tls.ca !== undefined,
            rejectUnauthorized: false,
            minVersion: 'TLSv1.2',
            handshakeTimeout: handshakeTimeoutMs,
          })
        : createHttpServer(httpOptions);
      created.maxConnections = options.maxSessions + MAX_PENDING_CONNECTIONS;
      created.on('drop', (dropped?: { remoteAddress?: string }) => {
        log.warn({ remoteAddress: dropped?.remoteAddress, maxConnections: created.maxConnections }, 'dropped a connection: too many connections to the WebSocket server');
      });
      created.on('connection', (socket: Socket) => {
        connections.add(socket);
        socket.once('close', () => connections.delete(socket));
      });
      created.on('request', (_request, response) => {
        response.writeHead(426, { Connection: 'close', Upgrade: 'websocket', 'Content-Type': 'text/plain; charset=utf-8' });
        response.end('this is a USP WebSocket endpoint: upgrade with Sec-WebSocket-Protocol: v1.usp\n');
      });
      created.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
        log.debug({ err: error.message, code: error.code }, 'bad request before the WebSocket upgrade');
        const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
        if (socket.writable && status !== 408) refuseUpgrade(socket, { status, message: STATUS_CODES[status] ?? 'bad request' });
        else socket.destroy();
      });
      created.on('tlsClientError', (error: Error & { code?: string }) => {
        log.debug({ err: error.message, code: error.code }, 'TLS handshake failed');
      });
      created.on('upgrade', onUpgrade);
      const socketServer = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: false,
        // Refused with 1009 before it is buffered, however it is fragmented.
        maxPayload: options.maxRecordBytes,
        handleProtocols: () => USP_SUBPROTOCOL,
        closeTimeout: CLOSE_TIMEOUT_MS,
      } as ConstructorParameters<typeof WebSocketServer>[0]);
      socketServer.on('headers', (headers: string[], request: IncomingMessage) => {
        // R-WS.11a: a Controller that offers the deprecated extension is told who the agent is.
        if (uspExtensionOffer(request.headers['sec-websocket-extensions']).offered) headers.push(`Sec-WebSocket-Extensions: ${uspExtensionHeader(options.agentEndpointId)}`);
      });
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => {
          setStatus('Error', `cannot listen on ${options.bindAddress}:${options.port}: ${error.message}`);
          reject(error);
        };
        created.once('error', onError);
        created.listen(options.port, options.bindAddress, () => {
          created.off('error', onError);
          resolve();
        });
      });
      created.on('error', (error) => { log.error({ err: error }, 'WebSocket server error'); });
      server = created;
      wss = socketServer;
      const address = created.address();
      listeningPort = typeof address === 'object' && address ? address.port : options.port;
      log.info({ address: options.bindAddress, port: listeningPort, path, encryption: options.encryption }, 'WebSocket server listening');
      setStatus('Connected');
    },
    async stop() {
      const running = server;
      if (!running) {
        setStatus('Disabled');
        return;
      }
      stopping = true;
      server = undefined;
      await closeAll(CloseCode.goingAway, 'the agent is leaving');
      await new Promise<void>((resolve) => {
        running.close(() => { resolve(); });
        for (const socket of connections) socket.destroy();
      });
      wss?.close();
      wss = undefined;
      setStatus('Disabled');
    },
    send(endpointId, bytes) {
      if (bytes.length > options.maxRecordBytes) return Promise.reject(new RecordTooLargeError(bytes.length, options.maxRecordBytes));
      const entry = sessions.get(endpointId);
      if (!entry) return Promise.reject(new Error(`no open WebSocket session with ${endpointId}`));
      return entry.session.send(bytes);
    },
    hasSession(endpointId) {
      return sessions.get(endpointId)?.session.open ?? false;
    },
    closeSession(endpointId, reason) {
      const entry = sessions.get(endpointId);
      if (!entry) return;
      sessions.delete(endpointId);
      log.info({ eid: endpointId, reason }, 'closing the WebSocket session');
      entry.session.close(CloseCode.normal, reason);
    },
  };
}
