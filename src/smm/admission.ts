// Admission control for InstallDU/Update, run on the resources the publisher signed into the catalog target
// (known before a byte is downloaded): every execution unit's memory, CPU and disk, plus the unpacked package
// (the image on disk), must fit in what the ExecEnv has left. A refusal names the resource and the figures
// (USP fault 7227, "System Resources Exceeded"). What installed apps hold is summed here too, in one place, for
// admission, for an Update's release of the old version and for what the ExecEnv rows show.
import type { DeploymentEntry } from './smm-state.ts';

/** Memory and disk in KiB; CPU in percent of the device (the ExecEnv's unit). */
export interface Resources {
  memoryKiB: number;
  cpuPercent: number;
  diskKiB: number;
}

/** A unit's CPU (manifests give percent of one CPU) as percent of a device with `cpuCount` CPUs, rounded up. */
export function cpuShareOf(percentOfOneCpu: number, cpuCount: number): number {
  return Math.ceil(percentOfOneCpu / Math.max(1, cpuCount));
}

/** What one installed app holds: its units' allocations, and its unpacked image on disk. */
export function heldBy(entry: Pick<DeploymentEntry, 'record' | 'unpackedBytes'>, cpuCount: number): Resources {
  const held = { memoryKiB: 0, cpuPercent: 0, diskKiB: Math.ceil(entry.unpackedBytes / 1024) };
  for (const unit of entry.record.units) {
    held.memoryKiB += unit.memoryKiB;
    held.cpuPercent += cpuShareOf(unit.cpuPercent, cpuCount);
    held.diskKiB += unit.diskKiB;
  }
  return held;
}

/** What the installed apps of one ExecEnv hold together. */
export function allocatedIn(entries: readonly Pick<DeploymentEntry, 'record' | 'unpackedBytes'>[], execEnv: string, cpuCount: number): Resources {
  const total = { memoryKiB: 0, cpuPercent: 0, diskKiB: 0 };
  for (const entry of entries) {
    if (entry.record.execEnv !== execEnv) continue;
    const held = heldBy(entry, cpuCount);
    total.memoryKiB += held.memoryKiB;
    total.cpuPercent += held.cpuPercent;
    total.diskKiB += held.diskKiB;
  }
  return total;
}

export interface ExecEnvBudget {
  name: string;
  /** −1 = no constraint (TR-181). */
  allocatedMemoryKiB: number;
  allocatedCpuPercent: number;
  allocatedDiskKiB: number;
  /** What installed DUs already hold (sum of their EUs' allocations and images). */
  usedMemoryKiB: number;
  usedCpuPercent: number;
  usedDiskKiB: number;
}

export interface AdmissionRequest {
  executionUnits: readonly { name: string; memoryKiB: number; cpuPercent: number; diskKiB: number }[];
  unpackedBytes: number;
  /** On Update, what the version being replaced holds (it is released when the new one takes over). */
  releasing?: Resources;
}

export type AdmissionResult = { admitted: true } | { admitted: false; message: string };

export function admit(budget: ExecEnvBudget, request: AdmissionRequest): AdmissionResult {
  const sum = (pick: (eu: AdmissionRequest['executionUnits'][number]) => number): number => request.executionUnits.reduce((total, eu) => total + pick(eu), 0);
  const wanted = {
    memory: sum((eu) => eu.memoryKiB),
    cpu: sum((eu) => eu.cpuPercent),
    // The image is unpacked onto the same disk the EUs write to.
    disk: sum((eu) => eu.diskKiB) + Math.ceil(request.unpackedBytes / 1024),
  };
  const checks: [string, number, number, number, string][] = [
    ['memory', budget.allocatedMemoryKiB, budget.usedMemoryKiB - (request.releasing?.memoryKiB ?? 0), wanted.memory, 'KiB'],
    ['CPU', budget.allocatedCpuPercent, budget.usedCpuPercent - (request.releasing?.cpuPercent ?? 0), wanted.cpu, '%'],
    ['disk', budget.allocatedDiskKiB, budget.usedDiskKiB - (request.releasing?.diskKiB ?? 0), wanted.disk, 'KiB'],
  ];
  for (const [resource, allocated, used, want, unit] of checks) {
    if (allocated < 0) continue;
    const free = Math.max(0, allocated - Math.max(0, used));
    if (want > free) {
      return { admitted: false, message: `not enough ${resource} in ExecEnv ${budget.name}: the app needs ${want} ${unit}, ${free} ${unit} of ${allocated} ${unit} are free` };
    }
  }
  return { admitted: true };
}
