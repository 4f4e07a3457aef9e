// Keeps a peer from filling the log: the same warning or error (by its message text) is written at most
// MAX_LINES_PER_MESSAGE times a minute; the first one after the minute says how many were left out. A hostile
// Controller or WebSocket peer that makes the agent refuse thousands of Records a second then costs a few lines a
// minute, not the gateway's flash. Info and below are the agent's own (starts, connections, operations) and pass.

/** Lines with the same message text written per window; the rest are counted, not written. */
export const MAX_LINES_PER_MESSAGE = 20;
export const THROTTLE_WINDOW_MS = 60_000;
/** Distinct messages counted per window; beyond, new ones share one count (the table stays bounded). */
export const MAX_DISTINCT_MESSAGES = 256;
const WARN_LEVEL = 40;
const FATAL_LEVEL = 60;
const OTHERS = '\u0000others';

export interface LogThrottle {
  /** Whether to write this line; `suppressed` > 0: how many like it were left out before it (to say so). */
  admit(level: number, message: string): { write: boolean; suppressed: number };
}

export function createLogThrottle(now: () => number = Date.now): LogThrottle {
  let windowStart = now();
  let counts = new Map<string, number>();
  // What the previous window left out, per message: reported on that message's next line.
  let leftOut = new Map<string, number>();
  return {
    admit(level, message) {
      if (level < WARN_LEVEL || level >= FATAL_LEVEL) return { write: true, suppressed: 0 };
      const at = now();
      if (at - windowStart >= THROTTLE_WINDOW_MS) {
        leftOut = new Map([...counts].filter(([, n]) => n > MAX_LINES_PER_MESSAGE).map(([key, n]) => [key, n - MAX_LINES_PER_MESSAGE]));
        counts = new Map();
        windowStart = at;
      }
      const key = counts.has(message) || counts.size < MAX_DISTINCT_MESSAGES ? message : OTHERS;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n > MAX_LINES_PER_MESSAGE) return { write: false, suppressed: 0 };
      const suppressed = leftOut.get(key) ?? 0;
      leftOut.delete(key);
      return { write: true, suppressed };
    },
  };
}
