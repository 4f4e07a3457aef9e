// What a Controller is told when a handler catches an error. A UspError carries its own code and message; anything
// else is a bug in berth, so it is logged here with its stack, once, before it becomes `fallback` (7003 Internal
// error unless the caller knows better, e.g. 7022 for a synchronous command). The README promises that log line.
import { ErrorCode, isUspError, toUspMessage } from '../usp/errors.ts';
import type { Logger } from '../log.ts';

export interface Failure {
  readonly code: number;
  readonly message: string;
}

export function describeFailure(logger: Logger, error: unknown, where: string, fallback: number = ErrorCode.InternalError): Failure {
  if (isUspError(error)) return { code: error.code, message: error.message };
  logger.error({ err: error, where }, 'unexpected error while handling a request');
  return { code: fallback, message: `internal error at ${where}: ${toUspMessage(error)}` };
}
