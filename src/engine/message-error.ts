// A whole-message failure: becomes a USP Error message (with param_errs when parameters are to blame).
import { UspError } from '../usp/errors.ts';

export interface ParamError {
  readonly paramPath: string;
  readonly errCode: number;
  readonly errMsg: string;
}

export class MessageError extends UspError {
  readonly paramErrs: readonly ParamError[];
  constructor(code: number, message: string, paramErrs: readonly ParamError[] = []) {
    super(code, message);
    this.name = 'MessageError';
    this.paramErrs = paramErrs;
  }
}
