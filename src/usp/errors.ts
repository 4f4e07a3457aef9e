// The fault table: every USP error code berth sends (TR-369 §Error Codes; TR-181 SoftwareModules faults in
// DUStateChange!, OperationComplete and cmd_failure) with its name, and the error class that carries one.
// Errors are thrown where they happen with a precise message and turned into Error / ParamError / cmd_failure /
// a DU fault only at the edge, by toUspFailure (usp-failure.ts). The README's "Error codes" table lists exactly
// these codes with these names (test/unit/usp/fault-table.test.ts checks it); it says when berth returns each.
import { BerthError, isBerthError } from '../errors/berth-error.ts';

export const ErrorCode = {
  MessageNotSupported: 7001,
  RequestDenied: 7002,
  InternalError: 7003,
  InvalidArguments: 7004,
  ResourcesExceeded: 7005,
  PermissionDenied: 7006,
  InvalidPathSyntax: 7008,
  UnsupportedParameter: 7010,
  InvalidType: 7011,
  InvalidValue: 7012,
  NotWritable: 7013,
  ValueConflict: 7014,
  ObjectDoesNotExist: 7016,
  ObjectNotCreated: 7017,
  NotATable: 7018,
  NotCreatable: 7019,
  RequiredParameterFailed: 7021,
  CommandFailure: 7022,
  CommandCanceled: 7023,
  DeleteFailure: 7024,
  DuplicateKey: 7025,
  InvalidPath: 7026,
  InvalidCommandArguments: 7027,
  // The catalog, as an SMM operation reports it (TR-181 2.16).
  ServerUnreachable: 7033,
  ServerInsecure: 7034,
  CorruptData: 7035,
  BadSignature: 7036,
  RecordNotParsed: 7100,
  SessionContextNotAllowed: 7106,
  // Software Module Management faults (TR-181 2.16 DUStateChange!.FaultCode).
  UnknownExecEnv: 7223,
  DuToExecEnvMismatch: 7225,
  DuplicateDeploymentUnit: 7226,
  SystemResourcesExceeded: 7227,
  InvalidDuState: 7229,
  InvalidEuState: 7230,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The name of each code as TR-369 / TR-181 give it (the README's "name" column). */
export const ERROR_NAMES: Readonly<Record<ErrorCode, string>> = {
  7001: 'Message not supported',
  7002: 'Request denied',
  7003: 'Internal error',
  7004: 'Invalid arguments',
  7005: 'Resources exceeded',
  7006: 'Permission denied',
  7008: 'Invalid path syntax',
  7010: 'Unsupported parameter',
  7011: 'Invalid type',
  7012: 'Invalid value',
  7013: 'Not writable',
  7014: 'Value conflict',
  7016: 'Object does not exist',
  7017: 'Object could not be created',
  7018: 'Object is not a table',
  7019: 'Not creatable',
  7021: 'Required parameter failed',
  7022: 'Command failure',
  7023: 'Command canceled',
  7024: 'Delete failure',
  7025: 'Duplicate key',
  7026: 'Invalid path',
  7027: 'Invalid command arguments',
  7033: 'Server unreachable',
  7034: 'Server insecure',
  7035: 'Corrupt data',
  7036: 'Bad signature',
  7100: 'Record could not be parsed',
  7106: 'Session context not allowed',
  7223: 'Unknown Execution Environment',
  7225: 'DU to ExecEnv mismatch',
  7226: 'Duplicate Deployment Unit',
  7227: 'System resources exceeded',
  7229: 'Invalid Deployment Unit state',
  7230: 'Invalid Execution Unit state',
};

/**
 * An error whose USP code a Controller receives (`uspErrorCode`), with `message` as the err_msg. Its `code` is
 * `USP_<uspErrorCode>` (`USP_7012`).
 */
export class UspError extends BerthError {
  declare readonly uspErrorCode: number;
  constructor(uspErrorCode: number, message: string, options: { cause?: unknown } = {}) {
    super(`USP_${uspErrorCode}`, message, { uspErrorCode, cause: options.cause });
    this.name = 'UspError';
  }
}

export function isUspError(error: unknown): error is UspError {
  return error instanceof UspError;
}

/**
 * The USP code a thrown value was answered with, without logging anything (the audit trail's record of an answer
 * already sent): its own code if it carries one, else 7003 Internal error.
 */
export function uspErrorCodeOf(error: unknown): number {
  return isBerthError(error) && error.uspErrorCode !== undefined ? error.uspErrorCode : ErrorCode.InternalError;
}

export function toUspMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
