// Time as Software Module Management sees it: injected, so probation, restart back-off and usage sampling can be
// driven by a test's clock, and nothing in smm/ reads the wall clock or sets a timer of its own.

/** A pending callback; cancel() is a no-op once it has run. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once after `ms`. */
  after(ms: number, callback: () => void): Timer;
  /** Runs `callback` every `ms`; this timer alone does not keep the process alive (background sampling). */
  every(ms: number, callback: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, callback) {
    const timer = setTimeout(callback, ms);
    return { cancel: () => { clearTimeout(timer); } };
  },
  every(ms, callback) {
    const timer = setInterval(callback, ms);
    timer.unref();
    return { cancel: () => { clearInterval(timer); } };
  },
};
