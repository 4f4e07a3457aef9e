// A Clock (src/smm/clock.ts) whose time moves only when a test says so: timers fire, in order, as advance() passes
// their time, and the event loop is given a few turns after each so the work they start (runtime calls, the
// in-memory runtime's events) settles before the next one fires. Timers can be grouped by owner, so a "killed"
// agent's timers go with it.
import type { Clock, Timer } from '../../src/smm/clock.ts';

interface Pending {
  at: number;
  seq: number;
  callback: () => void;
  /** Repeats every this many ms (clock.every). */
  period: number | undefined;
  owner: object | undefined;
  cancelled: boolean;
}

/** Lets the event loop turn until nothing new happens for `quietTurns` turns (or `maxTurns` passed). */
export async function settle(activity: () => number = () => 0, quietTurns = 8, maxTurns = 400): Promise<void> {
  let last = activity();
  let quiet = 0;
  for (let turn = 0; turn < maxTurns && quiet < quietTurns; turn++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const now = activity();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

export class ManualClock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];
  /** Counts what happens (timers fired), for settle(). */
  fired = 0;
  activity: () => number = () => this.fired;

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** A view of this clock whose timers belong to `owner` (cancelAll(owner) drops them). */
  for(owner: object): Clock {
    return {
      now: () => this.#now,
      after: (ms, callback) => this.#schedule(ms, callback, undefined, owner),
      every: (ms, callback) => this.#schedule(ms, callback, ms, owner),
    };
  }

  cancelAll(owner: object): void {
    for (const timer of this.#pending) if (timer.owner === owner) timer.cancelled = true;
    this.#pending = this.#pending.filter((timer) => !timer.cancelled);
  }

  /** When the next timer is due, if any. */
  nextDue(): number | undefined {
    return this.#pending.filter((timer) => !timer.cancelled).reduce<number | undefined>((soonest, timer) => (soonest === undefined || timer.at < soonest ? timer.at : soonest), undefined);
  }

  /** Moves time forward by `ms`, firing each timer due on the way at its own time. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  async advanceTo(target: number): Promise<void> {
    await settle(this.activity);
    for (;;) {
      const due = this.#pending.filter((timer) => !timer.cancelled && timer.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      if (due.period === undefined) {
        due.cancelled = true;
        this.#pending = this.#pending.filter((timer) => timer !== due);
      } else {
        due.at += Math.max(1, due.period);
      }
      this.fired++;
      due.callback();
      await settle(this.activity);
    }
    this.#now = Math.max(this.#now, target);
    await settle(this.activity);
  }

  #schedule(ms: number, callback: () => void, period: number | undefined, owner: object | undefined): Timer {
    const timer: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, callback, period, owner, cancelled: false };
    this.#pending.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.#pending = this.#pending.filter((t) => t !== timer);
      },
    };
  }
}
