// Bindings for Device.SoftwareModules.ExecEnv.{i}.: the Execution Environments from the config, with their
// allocations, what is still available, a Status that follows the container runtime (Up while Docker answers,
// Error while it does not, Disabled when a Controller sets Enable=false, Restarting during Restart()), run
// levels, ModifyConstraints() and Restart().
import type { Registry } from '../registry.ts';
import type { DmObject } from '../instances.ts';
import type { DataModel } from '../data-model.ts';
import { ErrorCode, UspError } from '../../usp/errors.ts';
import { toDateTime } from '../../usp/values.ts';
import type { ExecEnvInfo, SmmService, UnitUsage } from '../../smm/smm-service.ts';

export const EXEC_ENV_TABLE = 'Device.SoftwareModules.ExecEnv.';
export const EXEC_ENV_PREFIX = 'Device.SoftwareModules.ExecEnv.';

export interface ExecEnvRuntime {
  /** Whether the container runtime answered at the last check. */
  runtimeUp(): boolean;
  runtimeVersion(): string;
  smm(): SmmService;
  now(): Date;
}

const available = (allocated: string, used: number): string => {
  const value = Number(allocated);
  return value < 0 ? '-1' : String(Math.max(0, value - used));
};

/** The ExecEnv row of a given Name. */
export function execEnvRow(dm: DataModel, name: string): DmObject | undefined {
  for (const row of dm.table(EXEC_ENV_TABLE).rows.values()) if (row.values.get('Name') === name) return row;
  return undefined;
}

/** What the SMM service needs to know of an ExecEnv, read from its row. */
export function execEnvInfo(dm: DataModel, name: string): ExecEnvInfo | undefined {
  const row = execEnvRow(dm, name);
  if (!row) return undefined;
  const read = (param: string): number => Number(dm.read(row, param));
  return {
    name,
    enabled: dm.read(row, 'Enable') === 'true',
    allocatedMemoryKiB: read('AllocatedMemory'),
    allocatedCpuPercent: read('AllocatedCPUPercent'),
    allocatedDiskKiB: read('AllocatedDiskSpace'),
    currentRunLevel: read('CurrentRunLevel'),
  };
}

/** `Device.SoftwareModules.ExecEnv.2` (or with a trailing dot) → its row. */
export function execEnvByRef(dm: DataModel, ref: string): DmObject | undefined {
  const path = ref.endsWith('.') ? ref : `${ref}.`;
  if (!path.startsWith(EXEC_ENV_PREFIX)) return undefined;
  const row = dm.lookup(path);
  return row?.table?.path === EXEC_ENV_TABLE ? row : undefined;
}

export const execEnvRef = (row: DmObject): string => row.path.slice(0, -1);

export function bindSoftwareModules(registry: Registry, runtime: ExecEnvRuntime, model: () => DataModel): void {
  const read = (row: DmObject, name: string): string => model().read(row, name);
  const restarting = new Set<DmObject>();
  const used = (row: DmObject): UnitUsage => runtime.smm().allocatedIn(read(row, 'Name'));

  registry.bindObject('Device.SoftwareModules.ExecEnv.{i}.', {
    internal: ['Name', 'AllocatedDiskSpace', 'AllocatedMemory', 'AllocatedCPUPercent', 'CurrentRunLevel', 'CreatedAt', 'RestartReason', 'RestartCount', 'LastRestarted'],
    get: {
      Status: (row) => (read(row, 'Enable') !== 'true' ? 'Disabled' : restarting.has(row) ? 'Restarting' : runtime.runtimeUp() ? 'Up' : 'Error'),
      Type: () => 'Docker Engine',
      Vendor: () => 'Docker',
      Version: () => runtime.runtimeVersion(),
      ParentExecEnv: () => '',
      AvailableMemory: (row) => available(read(row, 'AllocatedMemory'), used(row).memoryKiB),
      AvailableDiskSpace: (row) => available(read(row, 'AllocatedDiskSpace'), used(row).diskKiB),
      AvailableCPUPercent: (row) => available(read(row, 'AllocatedCPUPercent'), used(row).cpuPercent),
      ActiveExecutionUnits: (row) => {
        const smm = runtime.smm();
        const name = read(row, 'Name');
        return smm
          .deployments()
          .filter((entry) => entry.record.execEnv === name)
          .flatMap((entry) => entry.units.filter((unit) => smm.unitView(entry, unit).status === 'Active').map((unit) => `Device.SoftwareModules.ExecutionUnit.${unit.instance}`))
          .join(',');
      },
    },
    onChanged: (row, names) => {
      if (names.includes('Enable')) {
        model().notifyValueChange(row, 'Status');
        void runtime.smm().execEnvChanged(read(row, 'Name'));
      }
    },
  });

  registry.bindCommand('Device.SoftwareModules.ExecEnv.{i}.SetRunLevel()', ({ obj, args }) => {
    model().update((tx) => {
      tx.setInternal(obj, 'CurrentRunLevel', args['RequestedRunLevel']!);
    });
    void runtime.smm().execEnvChanged(read(obj, 'Name'));
    return {};
  });

  // -1 leaves an allocation as it is (the arguments' default); a cut below what installed apps hold is refused
  // unless Force=true (then the apps keep running and new installs must fit the new figure).
  const checkConstraints = (obj: DmObject, args: Readonly<Record<string, string>>): void => {
    if (args['Force'] === 'true') return;
    const holding = used(obj);
    const checks: [string, number, string][] = [
      ['AllocatedMemory', holding.memoryKiB, 'KiB'],
      ['AllocatedCPUPercent', holding.cpuPercent, '%'],
      ['AllocatedDiskSpace', holding.diskKiB, 'KiB'],
    ];
    for (const [name, inUse, unit] of checks) {
      const wanted = Number(args[name] ?? '-1');
      if (wanted >= 0 && wanted < inUse) {
        throw new UspError(ErrorCode.CommandFailure, `${name} ${wanted} ${unit} is below what installed apps hold (${inUse} ${unit}); use Force=true to set it anyway`);
      }
    }
  };
  registry.bindCommand(
    'Device.SoftwareModules.ExecEnv.{i}.ModifyConstraints()',
    ({ obj, args }) => {
      checkConstraints(obj, args);
      model().update((tx) => {
        for (const name of ['AllocatedMemory', 'AllocatedCPUPercent', 'AllocatedDiskSpace']) {
          const wanted = args[name] ?? '-1';
          if (Number(wanted) >= 0) tx.setInternal(obj, name, wanted);
        }
      });
      return {};
    },
    ({ obj, args }) => {
      checkConstraints(obj, args);
    },
  );

  registry.bindCommand(
    'Device.SoftwareModules.ExecEnv.{i}.Restart()',
    async ({ obj, args }) => {
      restarting.add(obj);
      model().notifyValueChange(obj, 'Status');
      try {
        await runtime.smm().restartExecEnv(read(obj, 'Name'));
      } finally {
        restarting.delete(obj);
      }
      const at = runtime.now();
      const reason = args['Reason'] ?? '';
      model().update((tx) => {
        tx.setInternal(obj, 'RestartCount', String(Number(read(obj, 'RestartCount')) + 1));
        tx.setInternal(obj, 'LastRestarted', toDateTime(at));
        tx.setInternal(obj, 'RestartReason', reason);
      });
      model().notifyValueChange(obj, 'Status');
      model().emitEvent(obj, 'Restarted!', { RestartTime: toDateTime(at), RestartReason: reason });
      return {};
    },
    ({ obj }) => {
      if (read(obj, 'Enable') !== 'true') throw new UspError(ErrorCode.InvalidValue, `${obj.path} is disabled`);
    },
  );
}
