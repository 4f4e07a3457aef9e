// Whether a new app or version has proven itself (DESIGN.md §2, InstallDU and Update): every unit it starts must
// become Active and stay Active for the probation window, before a deadline. A pure judgement of what the units
// show at one moment; the caller observes them and asks again on every change and tick.
import type { UnitStatus } from './unit-supervisor.ts';
import type { UnitFault } from './unit-fault.ts';
import { ErrorCode } from '../usp/errors.ts';

export interface ProbationUnit {
  name: string;
  /** What the supervisor shows for it now; undefined when it no longer follows the unit. */
  observed: { status: UnitStatus; fault: UnitFault } | undefined;
  /** When it was first seen Active in its current run (from the previous verdict); undefined if not. */
  activeSince: number | undefined;
}

export interface ProbationTerms {
  /** How long every unit must stay Active. */
  windowMs: number;
  /** When probation fails whatever the units do (its start + the start timeout + the window). */
  deadline: number;
  /** Who is on probation, for messages: "the app", "the new version". */
  subject: string;
}

export type ProbationVerdict =
  | { verdict: 'pass' }
  | { verdict: 'fail'; code: number; message: string }
  /** `activeSince` per unit, in the order given: pass it back at the next check. */
  | { verdict: 'wait'; activeSince: (number | undefined)[] };

export function judgeProbation(units: readonly ProbationUnit[], at: number, terms: ProbationTerms): ProbationVerdict {
  const activeSince: (number | undefined)[] = [];
  for (const unit of units) {
    if (!unit.observed) return { verdict: 'fail', code: ErrorCode.InternalError, message: `unit ${unit.name} disappeared` };
    const { status, fault } = unit.observed;
    if (status === 'Idle' && fault.code !== 'NoFault') {
      return { verdict: 'fail', code: ErrorCode.RequestDenied, message: `${terms.subject}'s unit ${unit.name} failed: ${fault.message}` };
    }
    // A unit that stopped or is restarting starts its window again when it is next Active.
    activeSince.push(status === 'Active' ? (unit.activeSince ?? at) : undefined);
  }
  const proven = (since: number | undefined): boolean => since !== undefined && at - since >= terms.windowMs;
  if (activeSince.every(proven)) return { verdict: 'pass' };
  if (at >= terms.deadline) {
    const slow = units.filter((_, i) => !proven(activeSince[i])).map((unit) => unit.name);
    return { verdict: 'fail', code: ErrorCode.RequestDenied, message: `${terms.subject}'s unit(s) ${slow.join(', ')} did not stay Active for ${terms.windowMs / 1000} s` };
  }
  return { verdict: 'wait', activeSince };
}
