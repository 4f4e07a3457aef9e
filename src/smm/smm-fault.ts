// How a Software Module Management operation fails: an error with the USP fault code that DUStateChange! and
// OperationComplete report (TR-181 SoftwareModules faults, TR-369 error codes; all in usp/errors.ts's fault table).
import { UspError } from '../usp/errors.ts';

/** A failed Software Module Management operation, with the fault code (`uspErrorCode`) DUStateChange! reports. */
export class SmmFault extends UspError {
  constructor(uspErrorCode: number, message: string, options: { cause?: unknown } = {}) {
    super(uspErrorCode, message, options);
    this.name = 'SmmFault';
  }
}
