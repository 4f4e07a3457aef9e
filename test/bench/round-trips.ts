// Timing sequential Get round trips of a Controller, for the benchmarks.
import { performance } from 'node:perf_hooks';
import type { ControllerClient } from '../../src/controller/controller-session.ts';

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `count` sequential Gets of Device.LocalAgent.: each round trip in ms (sorted), and how many per second. */
export async function roundTrips(client: ControllerClient, count: number): Promise<{ times: number[]; perSecond: number }> {
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await client.get(['Device.LocalAgent.']);
    times.push(performance.now() - t0);
  }
  const perSecond = count / ((performance.now() - started) / 1000);
  times.sort((a, b) => a - b);
  return { times, perSecond };
}

/** Waits (up to 20 s) until the agent, still starting, answers the Controller's Get. */
export async function untilAnswering(client: ControllerClient): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await client.get(['Device.LocalAgent.EndpointID'], 0);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
