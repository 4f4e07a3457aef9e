// How a Software Module Management operation fails: an error with the USP fault code that DUStateChange! and
// OperationComplete report (TR-181 SoftwareModules faults, TR-369 error codes).

/** A failed Software Module Management operation, with the fault code DUStateChange! reports. */
export class SmmFault extends Error {
  readonly faultCode: number;
  constructor(faultCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmmFault';
    this.faultCode = faultCode;
  }
}

export const SmmFaultCode = {
  RequestDenied: 7002,
  InternalError: 7003,
  InvalidValue: 7012,
  UnknownExecEnv: 7223,
  InvalidDuState: 7229,
  InvalidEuState: 7230,
  DuToExecEnvMismatch: 7225,
  DuplicateDeploymentUnit: 7226,
  SystemResourcesExceeded: 7227,
} as const;
