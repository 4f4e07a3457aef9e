// USP error codes (TR-369 §Error Codes, TR-181 SoftwareModules faults) and the one error class that carries them.
// Errors are thrown where they happen with a precise message and turned into Error / ParamError / cmd_failure
// only at the edge (src/engine). Every code here is listed in the README's error table.

export const ErrorCode = {
  MessageFailed: 7000,
  MessageNotSupported: 7001,
  RequestDenied: 7002,
  InternalError: 7003,
  InvalidArguments: 7004,
  ResourcesExceeded: 7005,
  PermissionDenied: 7006,
  InvalidConfiguration: 7007,
  InvalidPathSyntax: 7008,
  ParameterActionFailed: 7009,
  UnsupportedParameter: 7010,
  InvalidType: 7011,
  InvalidValue: 7012,
  NotWritable: 7013,
  ValueConflict: 7014,
  OperationError: 7015,
  ObjectDoesNotExist: 7016,
  ObjectNotCreated: 7017,
  NotATable: 7018,
  NotCreatable: 7019,
  ObjectNotUpdated: 7020,
  RequiredParameterFailed: 7021,
  CommandFailure: 7022,
  CommandCanceled: 7023,
  DeleteFailure: 7024,
  DuplicateKey: 7025,
  InvalidPath: 7026,
  InvalidCommandArguments: 7027,
  RecordNotParsed: 7100,
  SecureSessionRequired: 7101,
  SecureSessionNotSupported: 7102,
  SegmentationNotSupported: 7103,
  InvalidRecordValue: 7104,
  SessionContextTerminated: 7105,
  SessionContextNotAllowed: 7106,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error that maps to a USP error code. `code` is what the Controller receives, `message` the err_msg. */
export class UspError extends Error {
  readonly code: number;
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UspError';
    this.code = code;
  }
}

export function isUspError(error: unknown): error is UspError {
  return error instanceof UspError;
}

/** The USP code for any thrown value: its own code if it is a UspError, else 7003 Internal error. */
export function toUspCode(error: unknown): number {
  return isUspError(error) ? error.code : ErrorCode.InternalError;
}

export function toUspMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
