// The one base of berth's own errors (DESIGN.md §6.5): a stable, machine-readable `code` that callers branch on and
// logs show, the TR-369 error code when the failure has one a Controller should be told, and the cause it wraps.
// A leaf: every layer may import it, and it imports nothing.

export interface BerthErrorOptions {
  /** The USP error code (TR-369, TR-181 SoftwareModules faults) a Controller is told; absent: not a USP error. */
  readonly uspErrorCode?: number | undefined;
  readonly cause?: unknown;
}

export class BerthError extends Error {
  /** Stable, SCREAMING_SNAKE: what a caller (or an HTTP body, or a log search) matches, never the message. */
  readonly code: string;
  /**
   * What a Controller is told when this error ends a USP request or an SMM operation. Without it, the error is not
   * one a Controller can do anything about: it becomes 7003 Internal error, logged with its stack (usp/usp-failure.ts).
   */
  readonly uspErrorCode: number | undefined;
  constructor(code: string, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BerthError';
    this.code = code;
    this.uspErrorCode = options.uspErrorCode;
  }
}

export function isBerthError(error: unknown): error is BerthError {
  return error instanceof BerthError;
}
