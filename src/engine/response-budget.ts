// How much a response may grow before it is built. A Controller's small request can ask for a huge answer (a Get of
// 10,000 × `Device.` once built a 209 MiB response): handlers spend from this budget as they add paths and values,
// and the request fails with 7005 Resources exceeded as soon as the answer could no longer be sent, instead of after
// the memory is gone. The estimate counts string lengths plus a few bytes of protobuf framing per field; the exact
// encoded size is checked again before sending (engine.ts).
import { ErrorCode } from '../usp/errors.ts';
import { MessageError } from './message-error.ts';

/** Framing of one protobuf field (tag, length) and its map entry, rounded up. */
const FIELD_OVERHEAD = 6;

export interface ResponseBudget {
  /** Counts `strings` (and their framing) against the budget; throws MessageError 7005 once it is spent. */
  spend(...strings: string[]): void;
  readonly limitBytes: number;
}

export function createResponseBudget(limitBytes: number): ResponseBudget {
  let used = 0;
  return {
    limitBytes,
    spend(...strings) {
      for (const text of strings) used += text.length + FIELD_OVERHEAD;
      if (used > limitBytes) throw new ResponseTooLargeError(limitBytes);
    },
  };
}

/** The whole message fails: per-path handlers must let it through rather than turn it into a per-path error. */
export class ResponseTooLargeError extends MessageError {
  constructor(limitBytes: number, actualBytes?: number) {
    const size = actualBytes === undefined ? `more than ${limitBytes} bytes` : `${actualBytes} bytes`;
    super(
      ErrorCode.ResourcesExceeded,
      `the response would be ${size}, and this agent sends at most ${limitBytes} bytes in one message: ask for less (fewer or narrower paths, max_depth, first_level_only)`,
    );
    this.name = 'ResponseTooLargeError';
  }
}
