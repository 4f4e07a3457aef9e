// What a Controller is told for one path (or command) whose handling threw: toUspFailure's code and message, and
// for an unexpected error (logged there with its stack) a message that names the path, so that the Controller's
// report and the agent's log line can be matched.
import { ErrorCode } from '../usp/errors.ts';
import { toUspFailure } from '../usp/usp-failure.ts';
import type { Logger } from '../log.ts';

export interface Failure {
  readonly code: number;
  readonly message: string;
}

export function describeFailure(logger: Logger, error: unknown, where: string, fallback: number = ErrorCode.InternalError): Failure {
  const failure = toUspFailure(error, logger, { where }, fallback);
  return { code: failure.code, message: failure.unexpected ? `internal error at ${where}: ${failure.message}` : failure.message };
}
