// The one place a thrown value becomes what a Controller is told: an Error message, a ParamError, a cmd_failure,
// an OperationComplete or a DU fault. A berth error with a USP code is a failure the Controller can act on: its code
// and message go out as they are. Anything else is a bug in berth (or a failure it has no USP words for), so it is
// logged here at `error` with its stack, once, before it becomes `fallback` — 7003 Internal error unless the caller
// knows better (7022 for a command). The README's "Error codes" section promises that log line.
import { isBerthError } from '../errors/berth-error.ts';
import { ErrorCode, toUspMessage } from './errors.ts';
import type { Logger } from '../log.ts';

export interface UspFailure {
  readonly code: number;
  readonly message: string;
  /** Not a USP error: it was logged with its stack and answered with the fallback code. */
  readonly unexpected: boolean;
}

/** `where`: log fields naming what failed (the path, the msg_id, the command), so the log line can be found. */
export function toUspFailure(error: unknown, logger: Logger, where: Readonly<Record<string, unknown>>, fallback: number = ErrorCode.InternalError): UspFailure {
  if (isBerthError(error) && error.uspErrorCode !== undefined) return { code: error.uspErrorCode, message: error.message, unexpected: false };
  logger.error({ ...where, err: error, uspErrorCode: fallback }, 'unexpected error, answered as an internal error');
  return { code: fallback, message: toUspMessage(error), unexpected: true };
}
