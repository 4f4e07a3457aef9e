// A publish body as the server reads it: counted against the largest body a publish may have (a chunked upload
// has no Content-Length to check up front), and cut off when it does not arrive in time. The role must be in
// within the role timeout; once the role is verified, the package gets time in proportion to its signed length.
// Without a deadline, a body trickling a byte every few seconds held its connection (and a publish slot) forever.
import { finished, Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { BerthError } from '../../errors/berth-error.ts';

export class PublishBodyError extends BerthError {
  declare readonly code: 'TOO_LARGE' | 'TIMEOUT';
  constructor(code: 'TOO_LARGE' | 'TIMEOUT', message: string) {
    super(code, message);
    this.name = 'PublishBodyError';
  }
}

export interface MeteredBody {
  /** The body's bytes, up to the limit and the deadline. */
  readonly stream: Readable;
  /** Extends the deadline by `ms` (the package's time, once the role is accepted). */
  extendDeadline(ms: number): void;
  /** Clears the deadline (the request is answered). */
  stop(): void;
}

export function meterPublishBody(source: Readable, limits: { maxBytes: number; timeoutMs: number }): MeteredBody {
  let received = 0;
  const started = Date.now();
  let deadline = started + limits.timeoutMs;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received > limits.maxBytes) {
        done(new PublishBodyError('TOO_LARGE', `the body is longer than the ${limits.maxBytes} bytes a publish may have`));
        return;
      }
      done(null, chunk);
    },
  });
  // Errors reach the reader through its iterator or pipeline; this keeps one arriving between readers harmless.
  meter.on('error', () => undefined);
  const expire = (): void => {
    if (meter.writableFinished || meter.destroyed) return;
    meter.destroy(new PublishBodyError('TIMEOUT', `the body did not arrive in time (${received} bytes in ${Math.round((Date.now() - started) / 1000)} s)`));
  };
  let timer = setTimeout(expire, limits.timeoutMs);
  const stop = (): void => {
    clearTimeout(timer);
  };
  // pipe, not pipeline: a refused body must not destroy the request, whose socket still carries the answer.
  source.pipe(meter);
  finished(source, (error) => {
    if (error) meter.destroy(error);
  });
  // Once every byte is in, the time the server takes to check the package is not the client's.
  meter.on('finish', stop);
  return {
    stream: meter,
    extendDeadline(ms) {
      clearTimeout(timer);
      deadline += ms;
      timer = setTimeout(expire, Math.max(0, deadline - Date.now()));
    },
    stop,
  };
}
