// Bindings for Device.SoftwareModules.DeploymentUnit.{i}., ExecutionUnit.{i}. and InstallDU(): rows mirror the
// SMM service's state (synced after every change: only values that really changed reach ValueChange
// subscribers), commands are checked synchronously here (refused in the OperateResp) and carried out by the
// service, and every finished DU operation raises DUStateChange! with all its arguments.
import type { Registry } from '../registry.ts';
import type { DmObject } from '../instances.ts';
import type { DataModel } from '../data-model.ts';
import type { Transaction } from '../transaction.ts';
import { ErrorCode, UspError } from '../../usp/errors.ts';
import { toDateTime, UNKNOWN_TIME } from '../../usp/values.ts';
import { isUuidV5 } from '../../smm/du-uuid.ts';
import type { DuOperationReport, SmmService } from '../../smm/smm-service.ts';
import type { DeploymentEntry, UnitSettings } from '../../smm/smm-state.ts';
import type { AutoRestartPolicy } from '../../smm/restart-backoff.ts';
import { checkHttpUrl } from './http-url.ts';
import { execEnvByRef, execEnvRef, execEnvRow, EXEC_ENV_TABLE } from './software-modules.ts';
import { requirePermission } from '../../access/access.ts';
import type { Access } from '../../access/access.ts';
import { WRITE } from '../../access/permission-bits.ts';
import { syncVendorLogRows, vendorLogRef } from './vendor-log-files.ts';
import { VENDOR_PREFIX } from '../vendor.ts';

const DU_TABLE = 'Device.SoftwareModules.DeploymentUnit.';
const EU_TABLE = 'Device.SoftwareModules.ExecutionUnit.';
const duRef = (instance: number): string => `${DU_TABLE}${instance}`;
const euRef = (instance: number): string => `${EU_TABLE}${instance}`;
const NEVER = '9999-12-31T23:59:59Z';
const INSTALLED_BY = `${VENDOR_PREFIX}InstalledBy`;

export interface DeploymentUnitsDeps {
  smm(): SmmService;
  /** Whether the config names a catalog (InstallDU is refused without one). */
  catalogConfigured: boolean;
  now(): Date;
}

const checkPackageUrl = (url: string): void => {
  checkHttpUrl(url, 'packages come from the catalog over http(s)');
};

function autoRestartFromArgs(args: Readonly<Record<string, string>>): AutoRestartPolicy | undefined {
  if (args['AutoRestart.Enable'] === undefined) return undefined;
  const number = (name: string, fallback: number): number => (args[`AutoRestart.${name}`] === undefined ? fallback : Number(args[`AutoRestart.${name}`]));
  return {
    enable: args['AutoRestart.Enable'] === 'true',
    retryMinimumWaitInterval: number('RetryMinimumWaitInterval', 5),
    retryMaximumWaitInterval: number('RetryMaximumWaitInterval', 300),
    retryIntervalMultiplier: number('RetryIntervalMultiplier', 2000),
    maximumRetryCount: number('MaximumRetryCount', 10),
    resetPeriod: number('ResetPeriod', 0),
  };
}

export function bindDeploymentUnits(registry: Registry, deps: DeploymentUnitsDeps, model: () => DataModel): { syncRows(): void } {
  const smm = (): SmmService => deps.smm();
  const entryOfRow = (row: DmObject): DeploymentEntry => {
    const entry = smm().deployments().find((e) => e.instance === row.instance);
    if (!entry) throw new UspError(ErrorCode.ObjectDoesNotExist, `${row.path} is gone`);
    return entry;
  };
  const unitOfRow = (row: DmObject): { entry: DeploymentEntry; unit: UnitSettings } => {
    for (const entry of smm().deployments()) {
      const unit = entry.units.find((u) => u.instance === row.instance);
      if (unit) return { entry, unit };
    }
    throw new UspError(ErrorCode.ObjectDoesNotExist, `${row.path} is gone`);
  };
  const envRefOf = (name: string): string => {
    const row = execEnvRow(model(), name);
    return row ? execEnvRef(row) : '';
  };

  function syncDeployment(tx: Transaction, row: DmObject, entry: DeploymentEntry): void {
    const { record } = entry;
    const set = (name: string, value: string): void => {
      if (row.values.get(name) !== value) tx.setInternal(row, name, value);
    };
    set('UUID', record.uuid);
    set('DUID', record.imageId.replace(/^sha256:/, '').slice(0, 64));
    set('Alias', entry.alias);
    set('Name', record.name);
    set('Status', smm().duStatus(entry));
    set('Resolved', 'true');
    set('URL', entry.url);
    set('Description', entry.description.slice(0, 256));
    set('Vendor', record.vendor);
    set('Version', record.version.slice(0, 32));
    set('ExecutionUnitList', entry.units.map((u) => euRef(u.instance)).join(','));
    set('ExecutionEnvRef', envRefOf(record.execEnv));
    set('Installed', entry.installedAt.replace(/\.\d+Z$/, 'Z'));
    set('LastUpdate', entry.lastUpdate.replace(/\.\d+Z$/, 'Z'));
    set('ModuleVersion', entry.moduleVersion);
    set(INSTALLED_BY, entry.installedBy ?? '');
  }

  function syncUnit(tx: Transaction, row: DmObject, entry: DeploymentEntry, unit: UnitSettings): void {
    const set = (obj: DmObject, name: string, value: string): void => {
      if (obj.values.get(name) !== value) tx.setInternal(obj, name, value);
    };
    const view = smm().unitView(entry, unit);
    const record = entry.record.units.find((u) => u.name === unit.name);
    set(row, 'EUID', unit.euid);
    set(row, 'Alias', unit.alias);
    set(row, 'Name', unit.name);
    set(row, 'ExecEnvLabel', (record?.containerName ?? unit.name).slice(0, 64));
    set(row, 'Status', view.status);
    set(row, 'ExecutionFaultCode', view.fault.code);
    set(row, 'ExecutionFaultMessage', view.fault.message.slice(0, 256));
    set(row, 'AutoStart', String(unit.autoStart));
    set(row, 'RunLevel', String(unit.runLevel));
    set(row, 'Vendor', entry.record.vendor);
    set(row, 'Version', entry.record.version.slice(0, 32));
    set(row, 'Description', entry.description.slice(0, 256));
    set(row, 'Privileged', 'false');
    set(row, 'AllocatedDiskSpace', String(record?.diskKiB ?? -1));
    set(row, 'AllocatedMemory', String(record?.memoryKiB ?? -1));
    // Percent of the device's CPU, like the ExecEnv's figures (the manifest gives percent of one CPU).
    set(row, 'AllocatedCPUPercent', String(record ? Math.min(100, smm().cpuShare(record.cpuPercent)) : -1));
    set(row, 'CreationTime', unit.createdAt.replace(/\.\d+Z$/, 'Z'));
    set(row, 'ShutdownDelay', String(unit.shutdownDelay));
    set(row, 'ExecutionEnvRef', envRefOf(entry.record.execEnv));
    const restart = row.objects.get('AutoRestart')!;
    const policy = unit.autoRestart;
    set(restart, 'Enable', String(policy.enable));
    set(restart, 'RetryMinimumWaitInterval', String(policy.retryMinimumWaitInterval));
    set(restart, 'RetryMaximumWaitInterval', String(policy.retryMaximumWaitInterval));
    set(restart, 'RetryIntervalMultiplier', String(policy.retryIntervalMultiplier));
    set(restart, 'MaximumRetryCount', String(policy.maximumRetryCount));
    set(restart, 'ResetPeriod', String(policy.resetPeriod));
    set(restart, 'RetryCount', String(view.retryCount));
    set(restart, 'LastRestarted', view.lastRestarted ? toDateTime(view.lastRestarted) : UNKNOWN_TIME);
    set(restart, 'NextRestart', view.nextRestart ? toDateTime(view.nextRestart) : NEVER);
  }

  let syncing = false;
  function syncRows(): void {
    const dm = model();
    syncing = true;
    try {
      dm.update((tx) => {
        const duTable = dm.table(DU_TABLE);
        const euTable = dm.table(EU_TABLE);
        const entries = smm().deployments();
        const duInstances = new Set(entries.map((e) => e.instance));
        const euInstances = new Set(entries.flatMap((e) => e.units.map((u) => u.instance)));
        for (const row of [...duTable.rows.values()]) if (!duInstances.has(row.instance!)) tx.deleteRow(row);
        for (const row of [...euTable.rows.values()]) if (!euInstances.has(row.instance!)) tx.deleteRow(row);
        for (const entry of entries) {
          for (const unit of entry.units) syncUnit(tx, euTable.rows.get(unit.instance) ?? tx.addRow(euTable, unit.instance), entry, unit);
          syncDeployment(tx, duTable.rows.get(entry.instance) ?? tx.addRow(duTable, entry.instance), entry);
        }
        syncVendorLogRows(tx, dm, entries);
      });
    } finally {
      syncing = false;
    }
  }

  registry.bindObject('Device.SoftwareModules.DeploymentUnit.{i}.', {
    internal: ['UUID', 'DUID', 'Name', 'Status', 'Resolved', 'URL', 'Description', 'Vendor', 'Version', 'ExecutionUnitList', 'ExecutionEnvRef', 'Installed', 'LastUpdate', 'ModuleVersion', INSTALLED_BY],
    get: {
      // Its units' logs.
      VendorLogList: (row) => entryOfRow(row).units.map((u) => vendorLogRef(u.instance)).join(','),
      VendorConfigList: () => '',
    },
  });

  const usageOf = (row: DmObject, pick: 'memoryKiB' | 'cpuPercent' | 'diskKiB'): string => {
    const { entry, unit } = unitOfRow(row);
    const usage = smm().unitUsage(entry, unit);
    return usage ? String(usage[pick]) : '0';
  };
  registry.bindObject('Device.SoftwareModules.ExecutionUnit.{i}.', {
    internal: ['EUID', 'Name', 'ExecEnvLabel', 'Status', 'ExecutionFaultCode', 'ExecutionFaultMessage', 'Vendor', 'Version', 'Description', 'Privileged', 'AllocatedDiskSpace', 'AllocatedMemory', 'AllocatedCPUPercent', 'CreationTime', 'ExecutionEnvRef'],
    get: {
      MemoryInUse: (row) => usageOf(row, 'memoryKiB'),
      CPUPercentInUse: (row) => usageOf(row, 'cpuPercent'),
      DiskSpaceInUse: (row) => usageOf(row, 'diskKiB'),
      Uptime: (row) => {
        const { entry, unit } = unitOfRow(row);
        const since = smm().unitStartedAt(entry, unit);
        return since === undefined ? '0' : String(Math.max(0, Math.floor((deps.now().getTime() - since) / 1000)));
      },
      References: () => '',
      AssociatedProcessList: () => '',
      VendorLogList: (row) => vendorLogRef(row.instance!),
      VendorConfigList: () => '',
    },
    onChanged: (row, names) => {
      if (syncing) return;
      const { entry, unit } = unitOfRow(row);
      const read = (name: string): string => model().read(row, name);
      const change: Partial<UnitSettings> = {};
      if (names.includes('AutoStart')) change.autoStart = read('AutoStart') === 'true';
      if (names.includes('RunLevel')) change.runLevel = Number(read('RunLevel'));
      if (names.includes('ShutdownDelay')) change.shutdownDelay = Number(read('ShutdownDelay'));
      smm().changeUnitSettings(entry, unit, change);
    },
  });
  registry.bindObject('Device.SoftwareModules.ExecutionUnit.{i}.AutoRestart.', {
    internal: ['LastRestarted', 'NextRestart'],
    onChanged: (obj) => {
      if (syncing) return;
      const { entry, unit } = unitOfRow(obj.parent!);
      const read = (name: string): number => Number(model().read(obj, name));
      smm().changeUnitSettings(entry, unit, {
        autoRestart: {
          enable: model().read(obj, 'Enable') === 'true',
          retryMinimumWaitInterval: read('RetryMinimumWaitInterval'),
          retryMaximumWaitInterval: read('RetryMaximumWaitInterval'),
          retryIntervalMultiplier: read('RetryIntervalMultiplier'),
          maximumRetryCount: read('MaximumRetryCount'),
          resetPeriod: read('ResetPeriod'),
        },
      });
    },
  });

  // ---- commands ----------------------------------------------------------------------------------

  /**
   * The ExecEnv an InstallDU() installs into. A Controller may install only into an ExecEnv it may write (Obj w on
   * its row): TR-181 permissions cannot look inside a command's arguments, so this is berth's own check. One it
   * may not see is reported as unknown, like one that does not exist; without ExecutionEnvRef the first enabled
   * ExecEnv it may install into is chosen.
   */
  const installTarget = (args: Readonly<Record<string, string>>, access: Access | undefined): string => {
    if (!deps.catalogConfigured) throw new UspError(ErrorCode.RequestDenied, 'no app catalog is configured (config key catalog): this agent installs apps only from a signed catalog');
    checkPackageUrl(args['URL'] ?? '');
    const uuid = args['UUID'] ?? '';
    if (uuid !== '' && !isUuidV5(uuid)) throw new UspError(ErrorCode.InvalidArguments, `UUID "${uuid}" is not a version 5 UUID (TR-181 Annex C)`);
    const ref = args['ExecutionEnvRef'] ?? '';
    const dm = model();
    let env: DmObject | undefined;
    const mayInstallInto = (row: DmObject): boolean => access === undefined || (access.objectBits(row) & WRITE) !== 0;
    if (ref === '') {
      env = [...dm.table(EXEC_ENV_TABLE).rows.values()].find((row) => dm.read(row, 'Enable') === 'true' && mayInstallInto(row));
      if (!env) throw new UspError(ErrorCode.InvalidValue, access === undefined ? 'no ExecEnv is enabled' : 'no enabled ExecEnv this Controller may install into');
    } else {
      env = execEnvByRef(dm, ref);
      if (!env || (access !== undefined && !access.canSeeRow(env))) throw new UspError(ErrorCode.UnknownExecEnv, `ExecutionEnvRef ${ref} is not an ExecEnv of this agent`);
      if (access !== undefined) requirePermission(access, access.objectBits(env), WRITE, 'Obj', env.path);
      if (dm.read(env, 'Enable') !== 'true') throw new UspError(ErrorCode.InvalidValue, `ExecEnv ${ref} is disabled`);
    }
    return dm.read(env, 'Name');
  };

  registry.bindCommand(
    'Device.SoftwareModules.InstallDU()',
    async ({ args, signal, access, originator }) => {
      const execEnv = installTarget(args, access);
      const report = await smm().install({
        installedBy: originator,
        url: args['URL']!,
        uuid: args['UUID'] === '' ? undefined : args['UUID'],
        execEnv,
        moduleVersion: args['ModuleVersion'],
        autoRestart: autoRestartFromArgs(args),
        shutdownDelay: args['ShutdownDelay'] === undefined ? undefined : Number(args['ShutdownDelay']),
        signal,
      });
      if (report.fault) throw new UspError(report.fault.code, report.fault.message);
      return { UUID: report.uuid, Version: report.version, ExecEnvRef: envRefOf(report.execEnv) };
    },
    ({ args, access }) => {
      installTarget(args, access);
    },
  );

  const checkIdle = (row: DmObject): DeploymentEntry => {
    const entry = entryOfRow(row);
    const status = smm().duStatus(entry);
    if (status !== 'Installed') throw new UspError(ErrorCode.InvalidDuState, `${row.path} is ${status}`);
    const env = execEnvRow(model(), entry.record.execEnv);
    if (env && model().read(env, 'Enable') !== 'true') throw new UspError(ErrorCode.InvalidValue, `its ExecEnv ${entry.record.execEnv} is disabled`);
    return entry;
  };

  registry.bindCommand(
    'Device.SoftwareModules.DeploymentUnit.{i}.Update()',
    async ({ obj, args, signal }) => {
      const entry = checkIdle(obj);
      const url = args['URL'] === undefined || args['URL'] === '' ? undefined : args['URL'];
      const report = await smm().update(entry, { url, retainData: args['RetainData'] === 'true', signal });
      if (report.fault) throw new UspError(report.fault.code, report.fault.message);
      if (args['ModuleVersion'] !== undefined) smm().changeDeploymentModuleVersion(entry, args['ModuleVersion']);
      return {};
    },
    ({ obj, args }) => {
      checkIdle(obj);
      if (args['URL'] !== undefined && args['URL'] !== '') checkPackageUrl(args['URL']);
    },
  );

  registry.bindCommand(
    'Device.SoftwareModules.DeploymentUnit.{i}.Uninstall()',
    async ({ obj, args }) => {
      const report = await smm().uninstall(checkIdle(obj), { retainData: args['RetainData'] === 'true' });
      if (report.fault) throw new UspError(report.fault.code, report.fault.message);
      return {};
    },
    ({ obj }) => {
      checkIdle(obj);
    },
  );

  const checkUnitCommand = (row: DmObject): { entry: DeploymentEntry; unit: UnitSettings } => {
    const found = unitOfRow(row);
    const env = execEnvRow(model(), found.entry.record.execEnv);
    if (!env || model().read(env, 'Enable') !== 'true') throw new UspError(ErrorCode.InvalidValue, `its ExecEnv ${found.entry.record.execEnv} is disabled`);
    const status = smm().duStatus(found.entry);
    if (status !== 'Installed') throw new UspError(ErrorCode.InvalidDuState, `its DeploymentUnit is ${status}`);
    return found;
  };

  registry.bindCommand('Device.SoftwareModules.ExecutionUnit.{i}.SetRequestedState()', ({ obj, args }) => {
    const requested = args['RequestedState'] === 'Active' ? 'Active' : 'Idle';
    // Stopping is always allowed, except while its DU is being updated or removed (the operation owns the unit).
    const { entry, unit } = requested === 'Active' ? checkUnitCommand(obj) : unitOfRow(obj);
    const status = smm().duStatus(entry);
    if (status !== 'Installed') throw new UspError(ErrorCode.InvalidDuState, `its DeploymentUnit is ${status}`);
    smm().setRequestedState(entry, unit, requested);
    return {};
  });

  registry.bindCommand('Device.SoftwareModules.ExecutionUnit.{i}.Restart()', ({ obj }) => {
    const { entry, unit } = checkUnitCommand(obj);
    if (smm().unitView(entry, unit).status === 'Stopping') throw new UspError(ErrorCode.InvalidEuState, `${obj.path} is Stopping`);
    smm().restartUnit(entry, unit);
    return {};
  });

  return { syncRows };
}

/** Raises DUStateChange! on Device.SoftwareModules. for a finished DU operation. */
export function raiseDuStateChange(dm: DataModel, report: DuOperationReport): void {
  // Scoped to the DU's ExecEnv: a tenant hears about its own apps only (a Controller that cannot see the ExecEnv
  // is not told, even if it subscribed to DUStateChange!).
  dm.emitEvent(dm.object('Device.SoftwareModules.'), 'DUStateChange!', toDuStateChangeArgs(report), execEnvRow(dm, report.execEnv));
}

/** DUStateChange! arguments of a finished operation (TR-181 2.19: CurrentState Uninstalled, not UnInstalled). */
export function toDuStateChangeArgs(report: DuOperationReport): Record<string, string> {
  return {
    UUID: report.uuid,
    DeploymentUnitRef: report.duInstance === undefined ? '' : duRef(report.duInstance),
    Version: report.version,
    CurrentState: report.currentState,
    Resolved: String(report.currentState !== 'Failed'),
    ExecutionUnitRefList: report.euInstances.map(euRef).join(','),
    StartTime: toDateTime(report.startTime),
    CompleteTime: toDateTime(report.completeTime),
    OperationPerformed: report.operation,
    'Fault.FaultCode': String(report.fault?.code ?? 0),
    'Fault.FaultString': (report.fault?.message ?? '').slice(0, 256),
  };
}
