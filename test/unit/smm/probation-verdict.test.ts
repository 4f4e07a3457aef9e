// Probation of a new app or version: pass only when every unit has stayed Active for the whole window; fail at
// once on a unit's fault or disappearance, and at the deadline with the names of the units that did not make it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeProbation } from '../../../src/smm/probation-verdict.ts';
import type { ProbationUnit } from '../../../src/smm/probation-verdict.ts';
import { NO_FAULT } from '../../../src/smm/unit-fault.ts';

const terms = { windowMs: 1000, deadline: 10_000, subject: 'the app' };
const active = (name: string, activeSince: number | undefined): ProbationUnit => ({ name, observed: { status: 'Active', fault: NO_FAULT }, activeSince });
const starting = (name: string): ProbationUnit => ({ name, observed: { status: 'Starting', fault: NO_FAULT }, activeSince: undefined });

test('probation verdicts: pass, wait (with when each unit became Active) and fail', () => {
  const cases: { name: string; units: ProbationUnit[]; at: number; want: ReturnType<typeof judgeProbation> }[] = [
    { name: 'no units: nothing to prove', units: [], at: 0, want: { verdict: 'pass' } },
    { name: 'first seen Active now: its window starts now', units: [active('web', undefined)], at: 500, want: { verdict: 'wait', activeSince: [500] } },
    { name: 'Active for less than the window', units: [active('web', 500)], at: 1499, want: { verdict: 'wait', activeSince: [500] } },
    { name: 'Active for exactly the window', units: [active('web', 500)], at: 1500, want: { verdict: 'pass' } },
    { name: 'one proven, one still starting', units: [active('web', 0), starting('db')], at: 5000, want: { verdict: 'wait', activeSince: [0, undefined] } },
    {
      name: 'a unit that went back to Starting loses its window',
      units: [active('web', 0), { name: 'db', observed: { status: 'Restarting', fault: NO_FAULT }, activeSince: 100 }],
      at: 5000,
      want: { verdict: 'wait', activeSince: [0, undefined] },
    },
    {
      name: 'Idle without a fault (not started yet) waits',
      units: [{ name: 'web', observed: { status: 'Idle', fault: NO_FAULT }, activeSince: undefined }],
      at: 10,
      want: { verdict: 'wait', activeSince: [undefined] },
    },
    {
      name: 'a crashed unit fails at once, with its fault',
      units: [active('web', 0), { name: 'db', observed: { status: 'Idle', fault: { code: 'FailureOnAutoStart', message: 'exited with code 3' } }, activeSince: 100 }],
      at: 200,
      want: { verdict: 'fail', code: 7002, message: "the app's unit db failed: exited with code 3" },
    },
    { name: 'a unit the supervisor no longer follows is an internal error', units: [{ name: 'web', observed: undefined, activeSince: 0 }], at: 200, want: { verdict: 'fail', code: 7003, message: 'unit web disappeared' } },
    {
      name: 'at the deadline: names the units that did not stay Active for the window (a late one too)',
      units: [active('web', 0), starting('db'), active('cache', 9500)],
      at: 10_000,
      want: { verdict: 'fail', code: 7002, message: "the app's unit(s) db, cache did not stay Active for 1 s" },
    },
    { name: 'proven exactly at the deadline passes', units: [active('web', 9000)], at: 10_000, want: { verdict: 'pass' } },
  ];
  for (const c of cases) assert.deepEqual(judgeProbation(c.units, c.at, terms), c.want, c.name);
});
