// The randomized reconnect back-off every USP binding uses (R-MQTT.10, R-STOMP.25, R-WS.19–21): retry n waits a
// random time in [m·(k/1000)^(n−1), m·(k/1000)^n] seconds, n capped at 10 (from then on the range stays fixed),
// the whole capped at the binding's maximum where it has one. Random so that a fleet of gateways whose broker
// restarts does not reconnect in one wave.
import type { BackoffSettings } from './mtp.ts';

export function backoffWindow(n: number, settings: BackoffSettings): { min: number; max: number } {
  const k = Math.min(Math.max(n, 1), 10);
  const m = settings.multiplier / 1000;
  const cap = settings.maxSeconds ?? Number.POSITIVE_INFINITY;
  const min = Math.min(settings.initialSeconds * m ** (k - 1), cap);
  const max = Math.min(settings.initialSeconds * m ** k, cap);
  return { min, max };
}

/** Milliseconds to wait before retry n (1 = the first retry after a failure). */
export function backoffDelayMs(n: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const { min, max } = backoffWindow(n, settings);
  return (min + random() * (max - min)) * 1000;
}
