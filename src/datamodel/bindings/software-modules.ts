// Bindings for Device.SoftwareModules.ExecEnv.{i}.: the Execution Environments from the config, with their
// allocations, what is still available, and a Status that follows the container runtime (Up while Docker
// answers, Error while it does not, Disabled when a Controller sets Enable=false).
import type { Registry } from '../registry.ts';
import type { DmObject } from '../instances.ts';
import type { DataModel } from '../data-model.ts';

export interface ExecEnvRuntime {
  /** Whether the container runtime answered at the last check. */
  runtimeUp(): boolean;
  runtimeVersion(): string;
  /** What installed apps hold in this ExecEnv (KiB, percent, KiB). */
  used(envName: string): { memoryKiB: number; cpuPercent: number; diskKiB: number };
}

const available = (allocated: string, used: number): string => {
  const value = Number(allocated);
  return value < 0 ? '-1' : String(Math.max(0, value - used));
};

export function bindSoftwareModules(registry: Registry, runtime: ExecEnvRuntime, model: () => DataModel): void {
  const read = (row: DmObject, name: string): string => model().read(row, name);
  registry.bindObject('Device.SoftwareModules.ExecEnv.{i}.', {
    internal: ['Name', 'AllocatedDiskSpace', 'AllocatedMemory', 'AllocatedCPUPercent'],
    get: {
      Status: (row) => (read(row, 'Enable') !== 'true' ? 'Disabled' : runtime.runtimeUp() ? 'Up' : 'Error'),
      Type: () => 'Docker Engine',
      Vendor: () => 'Docker',
      Version: () => runtime.runtimeVersion(),
      CurrentRunLevel: () => '-1',
      ParentExecEnv: () => '',
      AvailableMemory: (row) => available(read(row, 'AllocatedMemory'), runtime.used(read(row, 'Name')).memoryKiB),
      AvailableDiskSpace: (row) => available(read(row, 'AllocatedDiskSpace'), runtime.used(read(row, 'Name')).diskKiB),
      AvailableCPUPercent: (row) => available(read(row, 'AllocatedCPUPercent'), runtime.used(read(row, 'Name')).cpuPercent),
      ActiveExecutionUnits: () => '',
    },
  });
}
