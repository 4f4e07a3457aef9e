// What an Execution Unit's container ending means in TR-181 terms: ExecutionFaultCode (an enum, not a number)
// and a readable ExecutionFaultMessage with the exit code or the OOM kill, so an operator sees why an app stopped.
import type { ContainerState } from '../runtime/container-runtime.ts';

export type ExecutionFaultCode = 'NoFault' | 'FailureOnStart' | 'FailureOnAutoStart' | 'FailureOnStop' | 'FailureWhileActive' | 'DependencyFailure' | 'UnStartable';

export interface UnitFault {
  code: ExecutionFaultCode;
  /** Empty when NoFault (TR-181). */
  message: string;
}

export const NO_FAULT: UnitFault = { code: 'NoFault', message: '' };

// A container that dies this soon after it started never really came up: a failure to start, not while active.
const START_WINDOW_MS = 2000;

/**
 * The fault of a container that ended on its own (not stopped by berth). `autoStarted`: it was started by
 * AutoStart rather than by a Controller's request.
 */
export function faultOfExit(state: Pick<ContainerState, 'exitCode' | 'oomKilled' | 'startedAt' | 'finishedAt'>, autoStarted: boolean): UnitFault {
  const ranMs = Date.parse(state.finishedAt) - Date.parse(state.startedAt);
  const early = Number.isFinite(ranMs) && ranMs >= 0 && ranMs < START_WINDOW_MS;
  const code: ExecutionFaultCode = early ? (autoStarted ? 'FailureOnAutoStart' : 'FailureOnStart') : 'FailureWhileActive';
  if (state.oomKilled) return { code, message: `killed: out of memory (exceeded its memory allocation), exit code ${state.exitCode}` };
  if (state.exitCode === 0) return { code, message: 'exited with code 0 (an execution unit is expected to keep running)' };
  if (state.exitCode > 128 && state.exitCode < 160) return { code, message: `killed by signal ${state.exitCode - 128} (exit code ${state.exitCode})` };
  return { code, message: `exited with code ${state.exitCode}` };
}
