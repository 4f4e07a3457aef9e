// When to restart a crashed Execution Unit (TR-181 ExecutionUnit.{i}.AutoRestart, reference §6.4): the n-th retry
// (n = RetryCount, from 0) waits a random time in [m·(k/1000)^n, m·(k/1000)^(n+1)] seconds while m·(k/1000)^n
// is below RetryMaximumWaitInterval, and in [max·1000/k, max] after that; no retry once MaximumRetryCount
// retries were made (0 = unlimited). A run that stayed up for ResetPeriod seconds (0 = never) resets the count.

export interface AutoRestartPolicy {
  enable: boolean;
  retryMinimumWaitInterval: number;
  retryMaximumWaitInterval: number;
  retryIntervalMultiplier: number;
  maximumRetryCount: number;
  resetPeriod: number;
}

/** Seconds to wait before retry number `retryCount`, or undefined when no restart is due. */
export function nextRestartDelay(policy: AutoRestartPolicy, retryCount: number, random: () => number = Math.random): number | undefined {
  if (!policy.enable) return undefined;
  if (policy.maximumRetryCount > 0 && retryCount >= policy.maximumRetryCount) return undefined;
  const m = Math.max(0, policy.retryMinimumWaitInterval);
  const k = Math.max(1000, policy.retryIntervalMultiplier) / 1000;
  const max = Math.max(m, policy.retryMaximumWaitInterval);
  const low = m * k ** retryCount;
  if (low < max) {
    const high = Math.min(m * k ** (retryCount + 1), max);
    return low + (high - low) * random();
  }
  const floor = max / k;
  return floor + (max - floor) * random();
}

/** The retry count to use after an EU that had `retryCount` retries ran for `upSeconds` before it crashed. */
export function retryCountAfterRun(policy: AutoRestartPolicy, retryCount: number, upSeconds: number): number {
  return policy.resetPeriod > 0 && upSeconds >= policy.resetPeriod ? 0 : retryCount;
}

/** What to do about a unit that crashed: restart it at `at` (ms since the epoch), or leave it down. */
export type CrashDecision =
  | { retryCount: number; restart: true; delayMs: number; at: number }
  /** `gaveUp`: AutoRestart is on but MaximumRetryCount is reached (said in the unit's fault). */
  | { retryCount: number; restart: false; gaveUp: boolean };

/**
 * After a crash of a unit that had `retryCount` retries: the run it just ended (container timestamps) may reset
 * the count (ResetPeriod), then the back-off says when to try again, or that no retry is due.
 */
export function afterCrash(
  policy: AutoRestartPolicy,
  retryCount: number,
  run: { startedAt: string; finishedAt: string },
  now: number,
  random: () => number = Math.random,
): CrashDecision {
  const upSeconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
  const count = retryCountAfterRun(policy, retryCount, Number.isFinite(upSeconds) ? upSeconds : 0);
  const delay = nextRestartDelay(policy, count, random);
  if (delay === undefined) return { retryCount: count, restart: false, gaveUp: policy.enable };
  const delayMs = delay * 1000;
  return { retryCount: count, restart: true, delayMs, at: now + delayMs };
}
