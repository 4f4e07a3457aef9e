// A Controller's WebSocket wires (TR-369 WebSocket binding), both ways: dialling the agent's WebSocket server, and
// listening for an agent that dials the Controller. Subprotocol v1.usp, the `eid` query parameter, binary frames.
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { endpointIdsFromSubjectAltName } from '../mtp/websocket/certificate-endpoint-ids.ts';
import type { ControllerWire } from './controller-session.ts';

/** The largest Record a Controller wire takes (ws's own default would be 100 MiB). */
const MAX_RECORD_BYTES = 5 * 1024 * 1024;

export const USP_SUBPROTOCOL = 'v1.usp';

export interface WebSocketTlsOptions {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

const tlsOf = (options: WebSocketTlsOptions): { ca?: Buffer; cert?: Buffer; key?: Buffer } => ({
  ...(options.caFile !== undefined && { ca: readFileSync(options.caFile) }),
  ...(options.certFile !== undefined && { cert: readFileSync(options.certFile) }),
  ...(options.keyFile !== undefined && { key: readFileSync(options.keyFile) }),
});

const bytesOf = (data: RawData): Uint8Array => (Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data);

function wireOn(socket: WebSocket, description: string, onClose: () => Promise<void>): ControllerWire {
  // Records that come before anyone listens (the agent's WebSocketConnectRecord) are kept for the first listener.
  const listeners: ((bytes: Uint8Array) => void)[] = [];
  const early: Uint8Array[] = [];
  socket.on('message', (data, isBinary) => {
    if (!isBinary) return;
    if (listeners.length === 0 && early.length < 100) early.push(bytesOf(data));
    for (const listener of listeners) listener(bytesOf(data));
  });
  return {
    description,
    replyAddress: '',
    send: (bytes) =>
      new Promise((resolve, reject) => {
        if (socket.readyState !== WebSocket.OPEN) {
          reject(new Error(`the WebSocket session (${description}) is closed`));
          return;
        }
        socket.send(bytes, { binary: true }, (error) => { if (error) reject(error); else resolve(); });
      }),
    onBytes(listener) {
      listeners.push(listener);
      for (const bytes of early.splice(0)) listener(bytes);
    },
    close: onClose,
  };
}

/** Dials the agent's WebSocket server (`url` like wss://gateway:8443/usp) as Controller `endpointId`. */
export async function dialAgentWebSocket(options: { url: string; endpointId: string; connectTimeoutMs?: number } & WebSocketTlsOptions): Promise<ControllerWire> {
  const url = new URL(options.url);
  url.searchParams.set('eid', options.endpointId);
  const socket = new WebSocket(url, USP_SUBPROTOCOL, { ...tlsOf(options), handshakeTimeout: options.connectTimeoutMs ?? 5000, maxPayload: MAX_RECORD_BYTES });
  // Listening from the start: the agent's first Record may come in the same TCP segment as the handshake's answer.
  const wire = wireOn(socket, `WebSocket ${options.url}`, () => closeSocket(socket));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => {
      if (socket.protocol !== USP_SUBPROTOCOL) {
        socket.close(1002);
        reject(new Error(`the server at ${options.url} did not agree to the ${USP_SUBPROTOCOL} subprotocol`));
        return;
      }
      resolve();
    });
    socket.once('unexpected-response', (_request, response) => {
      reject(new Error(`the agent at ${options.url} refused the WebSocket session: HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trim()));
    });
    socket.once('error', (error) => { reject(new Error(`cannot open a WebSocket session to ${options.url}: ${error.message}`)); });
  });
  return wire;
}

function closeSocket(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) {
      resolve();
      return;
    }
    socket.once('close', () => { resolve(); });
    socket.close(1000);
    setTimeout(() => {
      socket.terminate();
      resolve();
    }, 1000).unref();
  });
}

/** A Controller's WebSocket server the agent dials (Controller.{i}.MTP.{j}.WebSocket.Host/Port/Path). */
export interface ControllerWebSocketServer {
  readonly port: number;
  /** Resolves with the wire once the agent (`agentEndpointId` in its eid) has opened a session. */
  session(timeoutMs?: number): Promise<ControllerWire>;
  close(): Promise<void>;
}

export async function listenForAgentWebSocket(options: { port: number; host?: string; path: string; agentEndpointId: string; requireClientCertificate?: boolean } & WebSocketTlsOptions): Promise<ControllerWebSocketServer> {
  const tls = options.certFile !== undefined;
  const http: Server = tls
    ? createHttpsServer({ ...tlsOf(options), requestCert: options.requireClientCertificate ?? false, rejectUnauthorized: options.requireClientCertificate ?? false })
    : createHttpServer();
  const server = new WebSocketServer({
    server: http,
    path: options.path,
    maxPayload: MAX_RECORD_BYTES,
    handleProtocols: (protocols) => (protocols.has(USP_SUBPROTOCOL) ? USP_SUBPROTOCOL : false),
    // The agent names itself in eid; a certificate it presents must not speak for someone else (another endpoint of
    // the same CA posing as the agent).
    verifyClient: (info: { req: { url?: string | undefined; socket: unknown } }) => {
      if (new URL(info.req.url ?? '/', 'http://x').searchParams.get('eid') !== options.agentEndpointId) return false;
      const peer = tls ? (info.req.socket as TLSSocket).getPeerCertificate() : undefined;
      const names = peer && Object.keys(peer).length > 0 ? endpointIdsFromSubjectAltName(peer.subjectaltname) : [];
      return names.length === 0 || names.includes(options.agentEndpointId);
    },
  });
  let current: WebSocket | undefined;
  const waiters: ((socket: WebSocket) => void)[] = [];
  server.on('connection', (socket) => {
    current = socket;
    for (const waiter of waiters.splice(0)) waiter(socket);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host ?? '127.0.0.1', () => { resolve(); });
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  // Every session the agent opens goes to the same listeners: a new one replaces a dropped one. Records that come
  // before anyone listens (the agent's WebSocketConnectRecord) are kept for the first listener.
  const listeners: ((bytes: Uint8Array) => void)[] = [];
  const early: Uint8Array[] = [];
  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return;
      if (listeners.length === 0 && early.length < 100) early.push(bytesOf(data));
      for (const listener of listeners) listener(bytesOf(data));
    });
  });
  const wire: ControllerWire = {
    description: `WebSocket server on port ${port} for ${options.agentEndpointId}`,
    replyAddress: '',
    send: (bytes) =>
      new Promise((resolve, reject) => {
        if (current?.readyState !== WebSocket.OPEN) {
          reject(new Error(`the agent has no WebSocket session open to this Controller`));
          return;
        }
        current.send(bytes, { binary: true }, (error) => { if (error) reject(error); else resolve(); });
      }),
    onBytes: (listener) => {
      listeners.push(listener);
      for (const bytes of early.splice(0)) listener(bytes);
    },
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
      await new Promise<void>((resolve) => { http.close(() => { resolve(); }); });
    },
  };
  return {
    port,
    session: (timeoutMs = 10_000) =>
      current?.readyState === WebSocket.OPEN
        ? Promise.resolve(wire)
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => { reject(new Error(`the agent ${options.agentEndpointId} did not connect within ${timeoutMs} ms`)); }, timeoutMs);
            waiters.push(() => {
              clearTimeout(timer);
              resolve(wire);
            });
          }),
    close: () => wire.close(),
  };
}
