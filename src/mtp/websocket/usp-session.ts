// One open USP WebSocket session, whichever side dialled it: Records in binary frames only, the keep-alive, and the
// bounds on what the peer can make the agent hold. Both roles wrap their `ws` socket in one of these.
//
//   * A text frame, or a binary one that is not a USP Record, closes the session with 1003 (R-WS.16). The Record
//     is decoded here only to know that it is one: decoding is cheap (the Msg payload stays a view of the frame)
//     and R-WS.16 is the binding's to keep; the engine decodes it again and does the rest.
//   * A message over maxRecordBytes is refused by `ws` itself (maxPayload, counted over all fragments before they
//     are buffered): it closes with 1009.
//   * A Ping goes out every keepAliveSeconds (R-WS.17); when the next one is due and nothing came back since the
//     last (no Pong, no frame), the peer is gone and the socket is dropped without a closing handshake.
//   * What the agent sends waits in the socket's buffer while the peer does not read: at most
//     outboundBufferBytes(maxRecordBytes), beyond which send() fails instead of holding more.
import type { WebSocket, RawData } from 'ws';
import { decodeRecord } from '../../usp/codec.ts';
import { RecordTooLargeError } from '../mtp.ts';
import type { Logger } from '../../log.ts';

export const USP_SUBPROTOCOL = 'v1.usp';

/** Calls an event handler of the MTP's user; one that throws is logged and never breaks the session. */
export function callHandler(log: Logger, what: string, call: () => void): void {
  try {
    call();
  } catch (error) {
    log.error({ err: error }, `${what} handler failed`);
  }
}

/** RFC 6455 close codes berth sends (1009, message too big, `ws` sends itself). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
} as const;

/** Bytes the agent lets wait for a peer that does not read: two of the largest Records, and never under 1 MiB. */
export function outboundBufferBytes(maxRecordBytes: number): number {
  return Math.max(2 * maxRecordBytes, 1024 * 1024);
}

/** A close frame's reason holds at most 123 bytes of UTF-8 (`ws` throws beyond): cut on a character boundary. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let out = '';
  for (const char of text) {
    if (Buffer.byteLength(out + char) > 120) break;
    out += char;
  }
  return `${out}…`;
}

export interface UspSessionOptions {
  readonly keepAliveSeconds: number;
  readonly maxRecordBytes: number;
  /** Who the peer is, for the log. */
  readonly peer: string;
}

export interface UspSessionHooks {
  onRecord(bytes: Uint8Array): void;
  /** The socket closed (code 1006 when it was dropped without a closing handshake). */
  onClose(code: number, reason: string): void;
}

export interface UspSession {
  send(bytes: Uint8Array): Promise<void>;
  /** Closing handshake with this code; the socket is dropped if the peer does not answer within closeTimeout. */
  close(code: number, reason: string): void;
  /** Drops the socket at once. */
  terminate(): void;
  readonly open: boolean;
  /** Resolves once the socket has closed. */
  readonly closed: Promise<void>;
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function attachUspSession(socket: WebSocket, options: UspSessionOptions, hooks: UspSessionHooks, logger: Logger): UspSession {
  const log = logger.child({ peer: options.peer });
  const bufferLimit = outboundBufferBytes(options.maxRecordBytes);
  let heardSinceLastPing = true;
  let closed = false;
  let markClosed = (): void => undefined;
  const closedPromise = new Promise<void>((resolve) => {
    markClosed = resolve;
  });

  const close = (code: number, reason: string): void => {
    if (socket.readyState === socket.OPEN) socket.close(code, closeReason(reason));
  };

  // TR-181 KeepAliveInterval is at least 1 s; anything else (0, NaN) means no Pings rather than a busy loop.
  const keepAlive = options.keepAliveSeconds > 0
    ? setInterval(() => {
        if (!heardSinceLastPing) {
          log.warn({ keepAliveSeconds: options.keepAliveSeconds }, 'no Pong within the keep-alive interval: dropping the WebSocket session');
          socket.terminate();
          return;
        }
        heardSinceLastPing = false;
        socket.ping();
      }, options.keepAliveSeconds * 1000)
    : undefined;
  keepAlive?.unref();

  socket.on('pong', () => {
    heardSinceLastPing = true;
  });
  socket.on('ping', () => {
    heardSinceLastPing = true;
  });
  socket.on('message', (data, isBinary) => {
    heardSinceLastPing = true;
    if (closed || socket.readyState !== socket.OPEN) return;
    if (!isBinary) {
      log.warn('closing the WebSocket session with 1003: a text frame (USP Records travel in binary frames, R-WS.14)');
      close(CloseCode.unsupportedData, 'USP Records travel in binary frames');
      return;
    }
    const bytes = asBuffer(data);
    try {
      decodeRecord(bytes);
    } catch (error) {
      log.warn({ bytes: bytes.length, err: (error as Error).message }, 'closing the WebSocket session with 1003: the frame is not a USP Record (R-WS.16)');
      close(CloseCode.unsupportedData, 'the frame is not a USP Record');
      return;
    }
    callHandler(log, 'onRecord', () => { hooks.onRecord(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)); });
  });
  socket.on('error', (error: Error & { code?: string }) => {
    // `ws` has already started closing (1009 for an oversized message, 1002 for a protocol error): just say why.
    log.warn({ err: error.message, code: error.code }, 'WebSocket session error');
  });
  socket.on('close', (code, reason) => {
    closed = true;
    clearInterval(keepAlive);
    markClosed();
    callHandler(log, 'onClose', () => { hooks.onClose(code, reason.toString()); });
  });

  return {
    closed: closedPromise,
    get open() {
      return !closed && socket.readyState === socket.OPEN;
    },
    send(bytes) {
      if (bytes.length > options.maxRecordBytes) return Promise.reject(new RecordTooLargeError(bytes.length, options.maxRecordBytes));
      if (closed || socket.readyState !== socket.OPEN) return Promise.reject(new Error(`the WebSocket session with ${options.peer} is not open`));
      if (socket.bufferedAmount + bytes.length > bufferLimit) {
        return Promise.reject(new Error(`${options.peer} is not reading its WebSocket session: ${socket.bufferedAmount} bytes already wait to be sent (at most ${bufferLimit})`));
      }
      return new Promise<void>((resolve, reject) => {
        socket.send(bytes, { binary: true }, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    },
    close,
    terminate() {
      socket.terminate();
    },
  };
}
