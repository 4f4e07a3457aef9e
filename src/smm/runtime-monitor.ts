// Whether the container runtime answers, checked periodically: ExecEnv.{i}.Status is Up while Docker answers and
// Error while it does not. Changes are reported so ValueChange subscribers hear about an outage.
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import { systemClock } from './clock.ts';
import type { Clock, Timer } from './clock.ts';

export interface RuntimeMonitor {
  readonly up: boolean;
  readonly version: string;
  /** Checks now, then every `intervalMs`. */
  start(): void;
  stop(): void;
  checkNow(): Promise<void>;
}

export function createRuntimeMonitor(runtime: ContainerRuntime, intervalMs: number, onChange: (up: boolean) => void, clock: Clock = systemClock): RuntimeMonitor {
  let up = false;
  let version = '';
  let timer: Timer | undefined;
  const check = async (): Promise<void> => {
    let now = false;
    try {
      version = await runtime.engineVersion();
      now = true;
    } catch {
      now = false;
    }
    if (now !== up) {
      up = now;
      onChange(up);
    }
  };
  return {
    get up() {
      return up;
    },
    get version() {
      return version;
    },
    start() {
      void check();
      timer = clock.every(intervalMs, () => void check());
    },
    stop() {
      timer?.cancel();
    },
    checkNow: check,
  };
}
