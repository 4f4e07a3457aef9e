// What installed apps really use, sampled periodically from the runtime: each running unit's memory and CPU, and
// the disk its container layer and data volumes take. Docker has no portable disk limit, so this is also where a
// unit's disk allocation is enforced: a unit over it is stopped, and its fault says why.
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import type { Logger } from '../log.ts';
import type { Resources } from './admission.ts';
import type { Clock, Timer } from './clock.ts';
import type { SmmState, UnitSettings } from './smm-state.ts';
import type { UnitRunState } from './unit-run-state.ts';

/** What a unit uses now: memory and disk in KiB, CPU in percent of the device. */
export type UnitUsage = Resources;

export interface UsageMonitor {
  /** Samples every `intervalMs` from now on. */
  start(intervalMs: number): void;
  close(): void;
  /** One sample of every unit now. */
  sampleNow(): Promise<void>;
  usageOf(unit: UnitSettings): UnitUsage | undefined;
  /** Forgets the usage of units that are gone (uninstalled). */
  forget(units: readonly UnitSettings[]): void;
}

export interface UsageMonitorDeps {
  runtime: ContainerRuntime;
  state: SmmState;
  units: UnitRunState;
  cpuCount: number;
  clock: Clock;
  saveSoon(): void;
  changed(): void;
  logger: Logger;
}

// A few at a time: with dozens of units, one request each at once would only queue up in dockerd and hold a buffer
// per response in the agent.
const SAMPLE_CONCURRENCY = 4;

/** Whether a unit is stopped for its disk: it is running, its disk is known, and it is over a set allocation. */
export function exceedsDiskAllocation(sample: { diskKnown: boolean; active: boolean; diskKiB: number }, allowedKiB: number): boolean {
  return sample.diskKnown && sample.active && allowedKiB > 0 && sample.diskKiB > allowedKiB;
}

export function createUsageMonitor(deps: UsageMonitorDeps): UsageMonitor {
  const { runtime, state, units, logger } = deps;
  const usage = new Map<string, UnitUsage>();
  let sampler: Timer | undefined;

  async function sample(): Promise<void> {
    const live = state.deployments.flatMap((entry) => entry.units.map((unit) => ({ entry, unit, id: units.containerOf(entry, unit) })));
    let disk: Awaited<ReturnType<ContainerRuntime['diskUsage']>> | undefined;
    try {
      disk = await runtime.diskUsage();
    } catch {
      disk = undefined;
    }
    const sampleOne = async ({ entry, unit, id }: (typeof live)[number]): Promise<void> => {
      if (!id) return;
      const view = units.supervisor().view(id);
      let memoryKiB = 0;
      let cpuPercent = 0;
      if (view?.status === 'Active') {
        try {
          const stats = await runtime.usage(id);
          memoryKiB = Math.ceil(stats.memoryBytes / 1024);
          cpuPercent = Math.min(100, Math.round(stats.cpuPercent / Math.max(1, deps.cpuCount)));
        } catch {
          return;
        }
      }
      const volumes = entry.record.volumes.filter((v) => v.unit === unit.name);
      const diskBytes = (disk?.containers.get(id) ?? 0) + volumes.reduce((sum, v) => sum + (disk?.volumes.get(v.name) ?? 0), 0);
      const diskKiB = Math.ceil(diskBytes / 1024);
      usage.set(unit.euid, { memoryKiB, cpuPercent, diskKiB });
      const allowed = entry.record.units.find((u) => u.name === unit.name)?.diskKiB ?? 0;
      if (exceedsDiskAllocation({ diskKnown: disk !== undefined, active: view?.status === 'Active', diskKiB }, allowed)) {
        logger.warn({ du: entry.record.name, unit: unit.name, diskKiB, allowed }, 'execution unit exceeds its disk allocation; stopping it');
        unit.requested = 'Idle';
        deps.saveSoon();
        await units.supervisor().deactivate(id, unit.shutdownDelay).catch(() => undefined);
        units.supervisor().setFault(id, { code: 'FailureWhileActive', message: `stopped: uses ${diskKiB} KiB of disk, its allocation is ${allowed} KiB` });
      }
    };
    for (let next = 0; next < live.length; next += SAMPLE_CONCURRENCY) {
      await Promise.all(live.slice(next, next + SAMPLE_CONCURRENCY).map(sampleOne));
    }
    deps.changed();
  }

  return {
    start(intervalMs) {
      sampler?.cancel();
      sampler = deps.clock.every(intervalMs, () => void sample().catch(() => undefined));
    },
    close() {
      sampler?.cancel();
    },
    sampleNow: sample,
    usageOf: (unit) => usage.get(unit.euid),
    forget(gone) {
      for (const unit of gone) usage.delete(unit.euid);
    },
  };
}
