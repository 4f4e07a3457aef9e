// STOMP 1.2 frames (https://stomp.github.io/stomp-specification-1.2.html): an encoder and a streaming decoder fed
// socket chunks. Pure: no I/O. The decoder holds at most one frame's bytes and refuses anything past its limits
// with a StompFrameError, after which it takes no more input: a peer that breaks framing cannot be resynchronised
// safely, so the connection is dropped.
import { BerthError } from '../../errors/berth-error.ts';

/** A decoded frame. Header names and values are unescaped; a repeated header keeps its first value (STOMP 1.2). */
export interface StompFrame {
  readonly command: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

export interface StompFrameLimits {
  /** Largest frame in bytes: command line, header lines, blank line and body (the NUL not counted). */
  readonly maxFrameBytes: number;
  /** Most header lines in one frame. */
  readonly maxHeaders: number;
  /** Longest command or header line in bytes (before unescaping, without its EOL). */
  readonly maxHeaderLineBytes: number;
}

/** A frame the decoder refuses (malformed or past a limit), or one the encoder cannot write. */
export class StompFrameError extends BerthError {
  constructor(message: string) {
    super('BAD_STOMP_FRAME', message);
    this.name = 'StompFrameError';
  }
}

/** Bytes of the header section a USP frame needs besides its Record: destinations, ids, content-type, length. */
export const STOMP_HEADER_HEADROOM_BYTES = 16 * 1024;
export const DEFAULT_MAX_HEADERS = 64;
export const DEFAULT_MAX_HEADER_LINE_BYTES = 4096;

export function frameLimitsFor(maxBodyBytes: number): StompFrameLimits {
  return { maxFrameBytes: maxBodyBytes + STOMP_HEADER_HEADROOM_BYTES, maxHeaders: DEFAULT_MAX_HEADERS, maxHeaderLineBytes: DEFAULT_MAX_HEADER_LINE_BYTES };
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const COMMAND = /^[A-Z]+$/;

/** CONNECT and CONNECTED keep STOMP 1.0's unescaped headers; every other frame (the STOMP frame too) escapes them. */
function escapes(command: string): boolean {
  return command !== 'CONNECT' && command !== 'CONNECTED';
}

export function escapeHeader(text: string): string {
  return text.replace(/[\\\r\n:]/g, (c) => (c === '\\' ? '\\\\' : c === '\r' ? '\\r' : c === '\n' ? '\\n' : '\\c'));
}

export function unescapeHeader(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(.?)/gs, (_, c: string) => {
    switch (c) {
      case 'r': return '\r';
      case 'n': return '\n';
      case 'c': return ':';
      case '\\': return '\\';
      default:
        // STOMP 1.2: an undefined escape sequence is a fatal protocol error.
        throw new StompFrameError(c === '' ? 'a header ends in a lone backslash' : `undefined escape sequence \\${c} in a header`);
    }
  });
}

/**
 * One frame as bytes. A body always gets a content-length header (so it may hold NULs); callers do not pass one.
 * CONNECT headers cannot be escaped, so a CR or LF in one is refused rather than sent as a broken frame.
 */
export function encodeFrame(command: string, headers: Iterable<readonly [string, string]>, body?: Uint8Array): Buffer {
  return Buffer.concat(encodeFrameParts(command, headers, body));
}

const NUL_BYTE = Buffer.from([0]);

/**
 * A frame as the pieces to write one after the other: the command and headers, the body as given (not copied), NUL.
 * Writing them corked instead of copying the body into one buffer keeps each response from costing a second
 * allocation of its size: measured, the copies left the agent's malloc heap ~5 MiB larger after a few thousand
 * answers (bench:mtp).
 */
export function encodeFrameParts(command: string, headers: Iterable<readonly [string, string]>, body?: Uint8Array): Uint8Array[] {
  if (!COMMAND.test(command)) throw new StompFrameError(`not a STOMP command: ${JSON.stringify(command)}`);
  const escaped = escapes(command);
  let head = `${command}\n`;
  for (const [name, value] of headers) {
    if (name === 'content-length') throw new StompFrameError('content-length is set by the encoder');
    if (escaped) {
      head += `${escapeHeader(name)}:${escapeHeader(value)}\n`;
    } else {
      if (/[\r\n]/.test(name + value) || name.includes(':')) throw new StompFrameError(`a ${command} header cannot hold CR, LF or (in its name) ':': ${JSON.stringify(name)}`);
      head += `${name}:${value}\n`;
    }
  }
  if (body !== undefined && body.length > 0) head += `content-length:${body.length}\n`;
  head += '\n';
  const headBytes = Buffer.from(head, 'utf8');
  return body !== undefined && body.length > 0 ? [headBytes, body, NUL_BYTE] : [headBytes, NUL_BYTE];
}

/** The EOL a client sends as a heart-beat. */
export const HEARTBEAT = Buffer.from('\n');

export interface StompFrameDecoder {
  /** Feeds bytes; calls onFrame for every frame completed. Throws StompFrameError, and refuses input from then on. */
  push(chunk: Uint8Array): void;
  /** Bytes held for the frame being read (for tests of the bound). */
  readonly bufferedBytes: number;
}

type State = 'command' | 'headers' | 'body-length' | 'body-nul' | 'nul';

export function createFrameDecoder(limits: StompFrameLimits, onFrame: (frame: StompFrame) => void): StompFrameDecoder {
  let state: State = 'command';
  let failed: StompFrameError | undefined;
  // The line being read, in pieces as they arrived.
  let lineParts: Buffer[] = [];
  let lineBytes = 0;
  // The frame being read.
  let frameBytes = 0;
  let command = '';
  let headers = new Map<string, string>();
  let headerCount = 0;
  let body: Buffer | undefined;
  let bodyFilled = 0;
  let bodyParts: Buffer[] = [];
  let bodyPartsBytes = 0;

  const fail = (message: string): never => {
    failed = new StompFrameError(message);
    lineParts = [];
    bodyParts = [];
    body = undefined;
    throw failed;
  };

  const reset = (): void => {
    state = 'command';
    frameBytes = 0;
    command = '';
    headers = new Map();
    headerCount = 0;
    body = undefined;
    bodyFilled = 0;
    bodyParts = [];
    bodyPartsBytes = 0;
  };

  const emit = (bytes: Uint8Array): void => {
    const frame: StompFrame = { command, headers, body: bytes };
    reset();
    onFrame(frame);
  };

  const countFrameBytes = (n: number): void => {
    frameBytes += n;
    if (frameBytes > limits.maxFrameBytes) fail(`a ${command || 'STOMP'} frame is larger than ${limits.maxFrameBytes} bytes`);
  };

  const headerLine = (line: string): void => {
    headerCount += 1;
    if (headerCount > limits.maxHeaders) fail(`a ${command} frame has more than ${limits.maxHeaders} headers`);
    const colon = line.indexOf(':');
    if (colon < 0) fail(`a ${command} header line has no ':': ${JSON.stringify(line.slice(0, 80))}`);
    const rawName = line.slice(0, colon);
    const rawValue = line.slice(colon + 1);
    let name = rawName;
    let value = rawValue;
    if (escapes(command)) {
      try {
        name = unescapeHeader(rawName);
        value = unescapeHeader(rawValue);
      } catch (error) {
        fail(`${command}: ${(error as Error).message}`);
      }
    }
    if (!headers.has(name)) headers.set(name, value);
  };

  const endOfHeaders = (): void => {
    const length = headers.get('content-length');
    if (length === undefined) {
      state = 'body-nul';
      return;
    }
    if (!/^\d{1,15}$/.test(length)) fail(`a ${command} frame has an invalid content-length: ${JSON.stringify(length.slice(0, 40))}`);
    const bytes = Number(length);
    if (frameBytes + bytes > limits.maxFrameBytes) fail(`a ${command} frame announces a ${bytes}-byte body: larger than the ${limits.maxFrameBytes}-byte frame limit`);
    frameBytes += bytes;
    body = Buffer.allocUnsafe(bytes);
    bodyFilled = 0;
    state = bytes === 0 ? 'nul' : 'body-length';
  };

  const line = (text: string): void => {
    if (state === 'command') {
      // Blank lines between frames are heart-beats.
      if (text === '') {
        frameBytes = 0;
        return;
      }
      if (!COMMAND.test(text)) fail(`not a STOMP command: ${JSON.stringify(text.slice(0, 40))}`);
      command = text;
      state = 'headers';
      return;
    }
    if (text === '') endOfHeaders();
    else headerLine(text);
  };

  // Reads up to the next LF of a command or header line; returns the offset after it, or chunk.length.
  const readLine = (chunk: Buffer, from: number): number => {
    const lf = chunk.indexOf(LF, from);
    const end = lf < 0 ? chunk.length : lf;
    const piece = chunk.subarray(from, end);
    if (lineBytes + piece.length > limits.maxHeaderLineBytes + 1) fail(`a ${command || 'STOMP'} command or header line is longer than ${limits.maxHeaderLineBytes} bytes`);
    countFrameBytes(piece.length + (lf < 0 ? 0 : 1));
    if (lf < 0) {
      lineParts.push(piece);
      lineBytes += piece.length;
      return chunk.length;
    }
    let bytes = lineParts.length === 0 ? piece : Buffer.concat([...lineParts, piece]);
    lineParts = [];
    lineBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length > limits.maxHeaderLineBytes) fail(`a ${command || 'STOMP'} command or header line is longer than ${limits.maxHeaderLineBytes} bytes`);
    line(bytes.toString('utf8'));
    return lf + 1;
  };

  const push = (input: Uint8Array): void => {
    if (failed) throw failed;
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    let at = 0;
    while (at < chunk.length) {
      switch (state) {
        case 'command':
        case 'headers':
          at = readLine(chunk, at);
          break;
        case 'body-length': {
          const target = body!;
          const n = Math.min(target.length - bodyFilled, chunk.length - at);
          chunk.copy(target, bodyFilled, at, at + n);
          bodyFilled += n;
          at += n;
          if (bodyFilled === target.length) state = 'nul';
          break;
        }
        case 'nul':
          if (chunk[at] !== NUL) fail(`a ${command} frame's ${body?.length ?? 0}-byte body (content-length) is not followed by NUL`);
          at += 1;
          emit(body ?? new Uint8Array(0));
          break;
        case 'body-nul': {
          const nul = chunk.indexOf(NUL, at);
          const end = nul < 0 ? chunk.length : nul;
          countFrameBytes(end - at);
          if (end > at) {
            // Copied: the socket's chunk is not ours to keep.
            bodyParts.push(Buffer.from(chunk.subarray(at, end)));
            bodyPartsBytes += end - at;
          }
          at = end;
          if (nul >= 0) {
            at += 1;
            const bytes = bodyParts.length === 1 ? bodyParts[0]! : Buffer.concat(bodyParts, bodyPartsBytes);
            emit(bytes);
          }
          break;
        }
        default: {
          const never: never = state;
          throw new Error(`unknown decoder state ${String(never)}`);
        }
      }
    }
  };

  return {
    push,
    get bufferedBytes() {
      return lineBytes + bodyPartsBytes + (body?.length ?? 0);
    },
  };
}
