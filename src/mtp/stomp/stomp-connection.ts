// One STOMP 1.2 client session over TCP or TLS: the STOMP frame and CONNECTED, heart-beats both ways, SUBSCRIBE /
// UNSUBSCRIBE confirmed by RECEIPT, SEND, DISCONNECT. Knows nothing of USP beyond taking extra STOMP-frame headers,
// so that the agent's MTP and a Controller-side client share it. Reconnecting is the caller's business: a session
// that ends is over, and says why (StompConnectionError.kind).
import { connect as netConnect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createFrameDecoder, encodeFrameParts, HEARTBEAT, StompFrameError } from './stomp-frame.ts';
import type { StompFrame, StompFrameLimits } from './stomp-frame.ts';
import { BerthError } from '../../errors/berth-error.ts';
import { isTlsFailure } from '../tls-failure.ts';

export interface StompConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** TLS (1.2 or later) with this material; plain TCP when undefined. The server certificate is always verified. */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer } | undefined;
  /** The `host` header (the broker's virtual host); omitted when undefined or '' (RabbitMQ then uses its default vhost). */
  readonly virtualHost?: string | undefined;
  readonly login?: string | undefined;
  readonly passcode?: string | undefined;
  /** Refuse to connect, rather than send `passcode` over a connection without TLS. */
  readonly passcodeRequiresTls?: boolean;
  /** Offered heart-beat (`heart-beat:outgoingMs,incomingMs`); undefined sends no heart-beat header (none either way). */
  readonly heartbeats?: { readonly outgoingMs: number; readonly incomingMs: number } | undefined;
  /** More headers of the STOMP frame (USP: `endpoint-id`); escaped like every other header. */
  readonly connectHeaders?: Readonly<Record<string, string>>;
  readonly limits: StompFrameLimits;
  /** Time allowed for TCP, TLS and the CONNECTED frame, and for a RECEIPT; default 10 s. */
  readonly timeoutMs?: number;
}

/** Why a session could not be opened, or ended. */
export type StompFailureKind =
  /** The server could not be reached (refused, unreachable, DNS), or the connection broke. */
  | 'unreachable'
  /** TLS handshake or certificate verification failed. */
  | 'tls'
  /** The server answered the STOMP frame with ERROR (credentials, virtual host). */
  | 'refused'
  /** ERROR on an established session (a refused SUBSCRIBE or SEND). */
  | 'server-error'
  /** The server broke STOMP framing or a frame limit, or sent a frame out of place. */
  | 'protocol'
  /** Nothing from the server for twice the negotiated heart-beat interval. */
  | 'heartbeat'
  /** No CONNECTED or RECEIPT in time. */
  | 'timeout'
  /** The server closed the connection. */
  | 'closed'
  /** The options forbid this connection (a passcode without TLS). */
  | 'misconfigured';

export class StompConnectionError extends BerthError {
  /** Why the session ended, as the STOMP MTP reports it (TR-181 STOMP.Connection.{i}.Status). */
  readonly kind: StompFailureKind;
  /** The socket error's code (ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID, …) when there was one. */
  readonly socketCode: string | undefined;
  /** The server's ERROR frame, for 'refused' and 'server-error'. */
  readonly errorFrame: StompFrame | undefined;
  constructor(kind: StompFailureKind, message: string, extra: { socketCode?: string | undefined; errorFrame?: StompFrame } = {}) {
    super('STOMP_CONNECTION_FAILED', message);
    this.name = 'StompConnectionError';
    this.kind = kind;
    this.socketCode = extra.socketCode;
    this.errorFrame = extra.errorFrame;
  }
}

export interface StompSessionEvents {
  /** A MESSAGE frame (the caller checks its subscription and content-type). */
  onMessage(frame: StompFrame): void;
  /** The session ended: error undefined when the caller ended it (disconnect or destroy). Called once. */
  onClose(error: StompConnectionError | undefined): void;
}

export interface StompSession {
  /** The CONNECTED frame's headers (version, server, heart-beat, and e.g. USP's subscribe-dest). */
  readonly connectedHeaders: ReadonlyMap<string, string>;
  /** Negotiated heart-beats in ms, 0 for none: how often this side sends, how often it expects the server. */
  readonly heartbeat: { readonly sendEveryMs: number; readonly expectEveryMs: number };
  /** SUBSCRIBE (ack:auto unless headers say otherwise); resolves on the server's RECEIPT. */
  subscribe(destination: string, id: string, headers?: Readonly<Record<string, string>>): Promise<void>;
  /** UNSUBSCRIBE; resolves on the server's RECEIPT. */
  unsubscribe(id: string): Promise<void>;
  /** SEND with content-length; resolves once written to the socket. */
  send(destination: string, body: Uint8Array, headers?: Readonly<Record<string, string>>): Promise<void>;
  /** DISCONNECT, waiting for its RECEIPT (at most timeoutMs), then closes. */
  disconnect(): Promise<void>;
  /** Closes at once. */
  destroy(): void;
  readonly closed: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The server is considered gone after this many of its heart-beat intervals without a byte from it. */
const HEARTBEAT_GRACE_FACTOR = 2;
/** STOMP 1.2 heart-beat negotiation: each direction runs at the slower of what the sender can and the receiver wants. */
export function negotiateHeartbeat(offered: { outgoingMs: number; incomingMs: number } | undefined, serverHeader: string | undefined): { sendEveryMs: number; expectEveryMs: number } {
  const parts = (serverHeader ?? '0,0').split(',').map((part) => Number(part.trim()));
  const serverSends = Number.isSafeInteger(parts[0]) && parts[0]! > 0 ? parts[0]! : 0;
  const serverWants = Number.isSafeInteger(parts[1]) && parts[1]! > 0 ? parts[1]! : 0;
  const clientSends = offered?.outgoingMs ?? 0;
  const clientWants = offered?.incomingMs ?? 0;
  return {
    sendEveryMs: clientSends > 0 && serverWants > 0 ? Math.max(clientSends, serverWants) : 0,
    expectEveryMs: clientWants > 0 && serverSends > 0 ? Math.max(clientWants, serverSends) : 0,
  };
}

/** Text of an ERROR frame for logs and status details: its message header and the start of its body. */
export function describeErrorFrame(frame: StompFrame): string {
  const message = frame.headers.get('message') ?? 'ERROR';
  const body = Buffer.from(frame.body.subarray(0, 300)).toString('utf8').replace(/\s+/g, ' ').trim();
  return body === '' || body === message ? message : `${message}: ${body}`;
}

/** Opens a session: resolves after CONNECTED, rejects with StompConnectionError. */
export function openStompConnection(options: StompConnectionOptions, events: StompSessionEvents): Promise<StompSession> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const secure = options.tls !== undefined;
  if (options.passcode !== undefined && options.passcodeRequiresTls && !secure) {
    return Promise.reject(new StompConnectionError('misconfigured', 'the passcode is not sent over a connection without TLS'));
  }
  return new Promise<StompSession>((resolveOpen, rejectOpen) => {
    let opened = false;
    let closed = false;
    let closeError: StompConnectionError | undefined;
    let tcpConnected = false;
    let tlsEstablished = false;
    let lastReceived = Date.now();
    let lastSent = Date.now();
    let sendTimer: NodeJS.Timeout | undefined;
    let watchTimer: NodeJS.Timeout | undefined;
    let receiptCounter = 0;
    const receipts = new Map<string, { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
    let heartbeat = { sendEveryMs: 0, expectEveryMs: 0 };

    const socket: Socket = secure
      ? tlsConnect({
          host: options.host,
          port: options.port,
          minVersion: 'TLSv1.2',
          ...(isIP(options.host) === 0 && { servername: options.host }),
          ...(options.tls.ca && { ca: options.tls.ca }),
          ...(options.tls.cert && { cert: options.tls.cert }),
          ...(options.tls.key && { key: options.tls.key }),
        })
      : netConnect({ host: options.host, port: options.port });

    const finish = (error: StompConnectionError | undefined): void => {
      if (closed) return;
      closed = true;
      closeError = error;
      clearTimeout(openTimer);
      clearTimeout(sendTimer);
      clearTimeout(watchTimer);
      for (const pending of receipts.values()) {
        clearTimeout(pending.timer);
        pending.reject(error ?? new StompConnectionError('closed', 'the STOMP session was closed'));
      }
      receipts.clear();
      socket.destroy();
      if (!opened) {
        rejectOpen(error ?? new StompConnectionError('closed', 'the STOMP session was closed before CONNECTED'));
        return;
      }
      events.onClose(error);
    };

    const openTimer = setTimeout(() => {
      finish(new StompConnectionError('timeout', `no CONNECTED from ${options.host}:${options.port} within ${timeoutMs} ms`));
    }, timeoutMs);

    /** Writes a frame's pieces (encodeFrameParts) in one go; resolves once the last is written. */
    const write = (parts: readonly Uint8Array[]): Promise<void> =>
      new Promise((resolve, reject) => {
        if (closed) {
          reject(closeError ?? new StompConnectionError('closed', 'the STOMP session is closed'));
          return;
        }
        lastSent = Date.now();
        socket.cork();
        parts.forEach((part, i) => {
          if (i < parts.length - 1) socket.write(part);
          else
            socket.write(part, (error) => {
              if (error) reject(error);
              else resolve();
            });
        });
        socket.uncork();
      });

    // Outgoing heart-beats: an EOL whenever nothing else was written for the negotiated interval.
    const scheduleHeartbeat = (): void => {
      if (heartbeat.sendEveryMs <= 0 || closed) return;
      sendTimer = setTimeout(() => {
        if (Date.now() - lastSent >= heartbeat.sendEveryMs - 5) {
          lastSent = Date.now();
          socket.write(HEARTBEAT);
        }
        scheduleHeartbeat();
      }, Math.max(lastSent + heartbeat.sendEveryMs - Date.now(), 1));
      sendTimer.unref();
    };

    // Incoming: any byte (a frame or a heart-beat EOL) shows the server alive.
    const watchServer = (): void => {
      if (heartbeat.expectEveryMs <= 0 || closed) return;
      const deadAfter = heartbeat.expectEveryMs * HEARTBEAT_GRACE_FACTOR;
      watchTimer = setTimeout(() => {
        const silent = Date.now() - lastReceived;
        if (silent >= deadAfter) {
          finish(new StompConnectionError('heartbeat', `nothing from the STOMP server for ${silent} ms (heart-beat every ${heartbeat.expectEveryMs} ms)`));
          return;
        }
        watchServer();
      }, Math.max(lastReceived + deadAfter - Date.now(), 1));
      watchTimer.unref();
    };

    const withReceipt = (command: string, headers: [string, string][]): Promise<void> => {
      receiptCounter += 1;
      const id = `${command.toLowerCase()}-${receiptCounter}`;
      const confirmed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          receipts.delete(id);
          const error = new StompConnectionError('timeout', `no RECEIPT for ${command} within ${timeoutMs} ms`);
          reject(error);
          finish(error);
        }, timeoutMs);
        timer.unref();
        receipts.set(id, { resolve, reject, timer });
      });
      // A failed write fails the session (the 'error' handler), which rejects the receipt.
      write(encodeFrameParts(command, [...headers, ['receipt', id]])).catch(() => undefined);
      return confirmed;
    };

    const session: StompSession = {
      connectedHeaders: new Map(),
      get heartbeat() {
        return heartbeat;
      },
      subscribe: (destination, id, headers = {}) => withReceipt('SUBSCRIBE', [...new Map([['destination', destination], ['id', id], ['ack', 'auto'], ...Object.entries(headers)])]),
      unsubscribe: (id) => withReceipt('UNSUBSCRIBE', [['id', id]]),
      send: (destination, body, headers = {}) => write(encodeFrameParts('SEND', [['destination', destination], ...Object.entries(headers)], body)),
      async disconnect() {
        if (closed) return;
        await withReceipt('DISCONNECT', []).catch(() => undefined);
        finish(undefined);
      },
      destroy() {
        finish(undefined);
      },
      get closed() {
        return closed;
      },
    };

    const onFrame = (frame: StompFrame): void => {
      if (!opened) {
        if (frame.command === 'CONNECTED') {
          const version = frame.headers.get('version');
          if (version !== '1.2') {
            finish(new StompConnectionError('protocol', `the STOMP server speaks version ${version ?? '1.0'}, not 1.2`));
            return;
          }
          opened = true;
          clearTimeout(openTimer);
          heartbeat = negotiateHeartbeat(options.heartbeats, frame.headers.get('heart-beat'));
          (session as { connectedHeaders: ReadonlyMap<string, string> }).connectedHeaders = frame.headers;
          scheduleHeartbeat();
          watchServer();
          resolveOpen(session);
          return;
        }
        if (frame.command === 'ERROR') {
          finish(new StompConnectionError('refused', `the STOMP server refused the connection: ${describeErrorFrame(frame)}`, { errorFrame: frame }));
          return;
        }
        finish(new StompConnectionError('protocol', `the STOMP server sent ${frame.command} before CONNECTED`));
        return;
      }
      switch (frame.command) {
        case 'MESSAGE':
          events.onMessage(frame);
          return;
        case 'RECEIPT': {
          const id = frame.headers.get('receipt-id') ?? '';
          const pending = receipts.get(id);
          if (pending) {
            receipts.delete(id);
            clearTimeout(pending.timer);
            pending.resolve();
          }
          return;
        }
        case 'ERROR':
          finish(new StompConnectionError('server-error', `STOMP server error: ${describeErrorFrame(frame)}`, { errorFrame: frame }));
          return;
        default:
          finish(new StompConnectionError('protocol', `the STOMP server sent an unexpected ${frame.command} frame`));
      }
    };

    const decoder = createFrameDecoder(options.limits, (frame) => {
      if (!closed) onFrame(frame);
    });

    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      lastReceived = Date.now();
      try {
        decoder.push(chunk);
      } catch (error) {
        if (error instanceof StompFrameError) finish(new StompConnectionError('protocol', `the STOMP server sent a bad frame: ${error.message}`));
        else finish(new StompConnectionError('protocol', `handling a STOMP frame failed: ${(error as Error).message}`));
      }
    });
    socket.on('connect', () => {
      tcpConnected = true;
      // USP is request/response: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to every round trip.
      socket.setNoDelay(true);
    });
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      tlsEstablished = secure;
      const headers: [string, string][] = [['accept-version', '1.2']];
      if (options.virtualHost) headers.push(['host', options.virtualHost]);
      if (options.login !== undefined) headers.push(['login', options.login]);
      if (options.passcode !== undefined) headers.push(['passcode', options.passcode]);
      if (options.heartbeats) headers.push(['heart-beat', `${options.heartbeats.outgoingMs},${options.heartbeats.incomingMs}`]);
      headers.push(...Object.entries(options.connectHeaders ?? {}));
      write(encodeFrameParts('STOMP', headers)).catch(() => undefined);
    });
    socket.on('error', (error: Error & { code?: string }) => {
      const code = error.code;
      // Whatever breaks between the TCP connect and the end of the handshake is TLS's (a plain-TCP port, a refused client certificate).
      const kind: StompFailureKind = isTlsFailure(code) || (secure && tcpConnected && !tlsEstablished) ? 'tls' : 'unreachable';
      finish(new StompConnectionError(kind, `${kind === 'tls' ? 'TLS with' : 'connection to'} ${options.host}:${options.port} failed: ${error.message}`, { socketCode: code }));
    });
    socket.on('close', () => {
      finish(new StompConnectionError(opened ? 'closed' : 'unreachable', `the STOMP server ${options.host}:${options.port} closed the connection`));
    });
  });
}
