// Software Module Management: InstallDU, Update, Uninstall and the Execution Unit lifecycle carried out on the
// container runtime, in berth's terms (no TR-181 paths here: the bindings map this service to the data model).
//
// Invariants:
// - DU operations run one at a time (a mutex), so admission control always sees what is really installed.
// - An operation is written to the state as in flight before it touches the runtime and removed when it ends;
//   the state (saved atomically with the data model) changes only when an operation is committed. After a
//   crash, boot() reconciles the runtime with the state: whatever the interrupted operation made is removed,
//   the previous version keeps running, and the operation is reported failed.
import { randomUUID } from 'node:crypto';
// Only the two functions: the rest of semver (ranges) is loaded with the catalog client, at the first install.
import compareVersions from 'semver/functions/compare.js';
import validVersion from 'semver/functions/valid.js';
import type { PackageCatalog } from './package-catalog.ts';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import type { Logger } from '../log.ts';
import { utcTimestamp } from '../usp/values.ts';
import { carryData, egressRulesOf, removeDeployment } from './deployment.ts';
import type { DeploymentRecord } from './deployment.ts';
import { installPackage } from './install-package.ts';
import { SmmFault, SmmFaultCode } from './smm-fault.ts';
import type { WorkArea } from './install-package.ts';
import { reconcile } from './reconcile.ts';
import { createUnitSupervisor } from './unit-supervisor.ts';
import type { UnitSupervisor, UnitView } from './unit-supervisor.ts';
import { NO_FAULT } from './unit-fault.ts';
import type { UnitFault } from './unit-fault.ts';
import { DEFAULT_AUTO_RESTART, euidOf } from './smm-state.ts';
import type { DeploymentEntry, InFlightOperation, OperationKind, SmmState, UnitSettings } from './smm-state.ts';
import type { AutoRestartPolicy } from './restart-backoff.ts';
import type { ExecEnvIsolation } from './exec-env-policy.ts';

export interface ExecEnvInfo {
  name: string;
  enabled: boolean;
  /** KiB, percent of the device's CPU, KiB; −1 = no constraint. */
  allocatedMemoryKiB: number;
  allocatedCpuPercent: number;
  allocatedDiskKiB: number;
  /** −1 = run levels not used: AutoStart alone decides. */
  currentRunLevel: number;
}

export interface SmmOptions {
  /** Update() to a lower version is refused (7229) unless allowed. */
  allowDowngrade: boolean;
  /** How long a new version's units must stay up before an Update is committed. */
  probationMs: number;
  /** How long a new app's AutoStart units must stay up before an install is committed. */
  installProbationMs: number;
  /** How long a new version's units may take to become Active. */
  startTimeoutMs: number;
  /** Capabilities apps may be given back (ExecEnv policy). */
  allowedCapabilities: readonly string[];
  /** Usage sampling (stats and disk) period. */
  sampleIntervalMs: number;
}

export interface SmmDeps {
  runtime: ContainerRuntime;
  /** undefined when the config names no catalog: installs are refused with a clear fault. */
  catalog: PackageCatalog | undefined;
  work: WorkArea;
  /** The agent's Endpoint ID (labelled on everything it creates). */
  owner: string;
  cpuCount: number;
  execEnv(name: string): ExecEnvInfo | undefined;
  /** How an ExecEnv's apps are kept apart (users, published ports, egress): from the config. */
  isolation(execEnv: string): ExecEnvIsolation;
  persist(state: SmmState): Promise<void>;
  options: SmmOptions;
  logger: Logger;
  now?: () => Date;
  /** Told when the runtime's event stream was lost or has been re-established (re-check its health now). */
  onRuntimeChange?: () => void;
}

export interface UnitUsage {
  memoryKiB: number;
  /** Percent of the device's CPU. */
  cpuPercent: number;
  diskKiB: number;
}

/** A finished DU operation, for DUStateChange! and OperationComplete. */
export interface DuOperationReport {
  operation: OperationKind;
  uuid: string;
  version: string;
  execEnv: string;
  currentState: 'Installed' | 'Uninstalled' | 'Failed';
  /** The DU's row (undefined when no DU exists: a failed install). */
  duInstance: number | undefined;
  euInstances: number[];
  startTime: Date;
  completeTime: Date;
  fault: { code: number; message: string } | undefined;
}

export interface InstallArgs {
  url: string;
  uuid?: string | undefined;
  execEnv: string;
  moduleVersion?: string | undefined;
  autoRestart?: AutoRestartPolicy | undefined;
  shutdownDelay?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((message: string) => void) | undefined;
  /** The Controller asking (recorded on the DU). */
  installedBy?: string | undefined;
}

export type DuStatus = 'Installing' | 'Installed' | 'Updating' | 'Uninstalling';

export interface SmmService {
  /** Reconciles with the runtime, reports interrupted operations, brings units to their requested state. */
  boot(): Promise<void>;
  close(): void;
  readonly state: SmmState;
  deployments(): readonly DeploymentEntry[];
  duStatus(entry: DeploymentEntry): DuStatus;
  unitView(entry: DeploymentEntry, unit: UnitSettings): UnitView;
  unitUsage(entry: DeploymentEntry, unit: UnitSettings): UnitUsage | undefined;
  /** When the unit last became Active (ms since the epoch), while Active. */
  unitStartedAt(entry: DeploymentEntry, unit: UnitSettings): number | undefined;
  /** The unit's output (stdout and stderr), at most `maxBytes`, the newest kept. */
  unitLogs(entry: DeploymentEntry, unit: UnitSettings, maxBytes: number): Promise<string>;
  /** A unit's CPU allocation (manifests give percent of one CPU) as percent of the device, the ExecEnv's unit. */
  cpuShare(percentOfOneCpu: number): number;
  /** What installed apps hold in an ExecEnv (their allocations and images). */
  allocatedIn(execEnv: string): UnitUsage;
  install(args: InstallArgs): Promise<DuOperationReport>;
  update(entry: DeploymentEntry, args: { url?: string | undefined; retainData: boolean; signal?: AbortSignal | undefined; onProgress?: ((message: string) => void) | undefined }): Promise<DuOperationReport>;
  uninstall(entry: DeploymentEntry, args: { retainData: boolean }): Promise<DuOperationReport>;
  /** SetRequestedState(): returns at once, the unit moves through Starting/Stopping on its own. */
  setRequestedState(entry: DeploymentEntry, unit: UnitSettings, state: 'Active' | 'Idle'): void;
  restartUnit(entry: DeploymentEntry, unit: UnitSettings): void;
  /** Controller changes to AutoStart, RunLevel, ShutdownDelay, AutoRestart.*, Alias. */
  changeUnitSettings(entry: DeploymentEntry, unit: UnitSettings, change: Partial<Omit<UnitSettings, 'name' | 'euid' | 'instance' | 'createdAt'>>): void;
  changeDeploymentModuleVersion(entry: DeploymentEntry, moduleVersion: string): void;
  /** ExecEnv Enable changed, run level set, or Restart(): bring its units in line. */
  execEnvChanged(execEnv: string): Promise<void>;
  restartExecEnv(execEnv: string): Promise<void>;
  /** Reconnects to the runtime after an outage and reconciles again. */
  recover(): Promise<void>;
  /** Runs one usage sample now (tests, benchmarks). */
  sampleNow(): Promise<void>;
  /** Something a row shows changed (status, usage, rows added or removed). */
  onChange(listener: () => void): () => void;
  onReport(listener: (report: DuOperationReport) => void): () => void;
  /** Resolves once no DU operation is running (shutdown, tests). */
  idle(): Promise<void>;
}

const duKey = (uuid: string, execEnv: string): string => `${uuid}@${execEnv}`;
const SAMPLE_CONCURRENCY = 4;

export function createSmmService(deps: SmmDeps, state: SmmState): SmmService {
  const { runtime, logger, options } = deps;
  const now = deps.now ?? (() => new Date());
  const changeListeners = new Set<() => void>();
  const reportListeners = new Set<(report: DuOperationReport) => void>();
  const busy = new Map<string, DuStatus>();
  const usage = new Map<string, UnitUsage>();
  let supervisor: UnitSupervisor = createUnitSupervisor(runtime, deps.owner);
  let sampler: ReturnType<typeof setInterval> | undefined;
  let recovering: Promise<void> | undefined;
  let closed = false;
  /** App networks the last reconcile could not confine (network → why): their units may not start. */
  let unconfined = new Map<string, string>();
  let queue: Promise<unknown> = Promise.resolve();

  const changed = (): void => {
    for (const listener of changeListeners) listener();
  };
  const save = (): Promise<void> => deps.persist(state);
  const saveSoon = (): void => {
    save().catch((error: unknown) => {
      logger.error({ err: error }, 'saving the software module state failed');
    });
  };
  /** DU operations one at a time: admission must see what is really installed. */
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  const toExecEnvCpu = (percentOfOneCpu: number): number => Math.ceil(percentOfOneCpu / Math.max(1, deps.cpuCount));
  const entriesIn = (execEnv: string): DeploymentEntry[] => state.deployments.filter((e) => e.record.execEnv === execEnv);
  const unitRecord = (entry: DeploymentEntry, unit: UnitSettings) => entry.record.units.find((u) => u.name === unit.name);
  const containerOf = (entry: DeploymentEntry, unit: UnitSettings): string | undefined => unitRecord(entry, unit)?.containerId;

  function allocatedIn(execEnv: string): UnitUsage {
    const total = { memoryKiB: 0, cpuPercent: 0, diskKiB: 0 };
    for (const entry of entriesIn(execEnv)) {
      for (const unit of entry.record.units) {
        total.memoryKiB += unit.memoryKiB;
        total.cpuPercent += toExecEnvCpu(unit.cpuPercent);
        total.diskKiB += unit.diskKiB;
      }
      total.diskKiB += Math.ceil(entry.unpackedBytes / 1024);
    }
    return total;
  }

  /** Whether a unit should run now: asked for (or AutoStart), its ExecEnv enabled and at a high enough run level. */
  function shouldRun(entry: DeploymentEntry, unit: UnitSettings): boolean {
    const env = deps.execEnv(entry.record.execEnv);
    if (!env?.enabled) return false;
    if (unit.requested !== 'Active') return false;
    return env.currentRunLevel < 0 || unit.runLevel <= env.currentRunLevel;
  }

  /** A unit on a network that is not kept apart from the gateway never runs; says why in its fault. */
  function refusedUnconfined(entry: DeploymentEntry, id: string): boolean {
    const why = entry.record.network === undefined ? undefined : unconfined.get(entry.record.network);
    if (why !== undefined) supervisor.setFault(id, { code: 'UnStartable', message: `its network cannot be kept apart from the gateway: ${why}` });
    return why !== undefined;
  }

  function activate(entry: DeploymentEntry, unit: UnitSettings, autoStarted: boolean): void {
    const id = containerOf(entry, unit);
    if (!id || refusedUnconfined(entry, id)) return;
    supervisor.activate(id, { autoStarted }).catch((error: unknown) => {
      logger.warn({ err: error, du: entry.record.name, unit: unit.name }, 'starting an execution unit failed');
    });
  }

  function deactivate(entry: DeploymentEntry, unit: UnitSettings): Promise<void> {
    const id = containerOf(entry, unit);
    if (!id) return Promise.resolve();
    return supervisor.deactivate(id, unit.shutdownDelay).catch((error: unknown) => {
      logger.warn({ err: error, du: entry.record.name, unit: unit.name }, 'stopping an execution unit failed');
    });
  }

  /**
   * Runs a DU operation after the ones before it (one at a time). For an installed DU, its Status shows `status`
   * meanwhile, and a second operation on it is refused (7229).
   */
  async function runDuOperation<T>(entry: DeploymentEntry | undefined, status: DuStatus, work: () => Promise<T>): Promise<T> {
    const key = entry ? duKey(entry.record.uuid, entry.record.execEnv) : undefined;
    if (key !== undefined) {
      const current = busy.get(key);
      if (current) throw new SmmFault(SmmFaultCode.InvalidDuState, `DU ${entry!.record.name} is ${current}`);
      busy.set(key, status);
      changed();
    }
    try {
      return await exclusive(work);
    } finally {
      if (key !== undefined) busy.delete(key);
      changed();
    }
  }

  /** A unit new to the agent (fresh install, or a unit a new version adds): its row number and first settings. */
  function newUnitSettings(
    record: DeploymentRecord,
    unit: DeploymentRecord['units'][number],
    at: string,
    given: { shutdownDelay?: number | undefined; autoRestart?: AutoRestartPolicy | undefined },
  ): UnitSettings {
    const instance = state.nextEuInstance++;
    return {
      name: unit.name,
      euid: euidOf(record.execEnv, record.name, unit.name),
      instance,
      alias: `cpe-eu-${instance}`,
      autoStart: unit.autoStart,
      runLevel: Math.max(0, unit.runLevel),
      shutdownDelay: given.shutdownDelay ?? 10,
      autoRestart: given.autoRestart ?? DEFAULT_AUTO_RESTART,
      requested: unit.autoStart ? 'Active' : 'Idle',
      createdAt: at,
    };
  }

  function report(operation: OperationKind, fields: Omit<DuOperationReport, 'operation' | 'completeTime'>): DuOperationReport {
    const done: DuOperationReport = { operation, ...fields, completeTime: now() };
    for (const listener of reportListeners) listener(done);
    return done;
  }

  /** The report on a DU that has rows: `du` names the version it is about, `units` the EU rows it ends with. */
  function reportOnDu(
    operation: OperationKind,
    du: Pick<DeploymentRecord, 'uuid' | 'version' | 'execEnv'>,
    rows: { instance: number; units: readonly { instance: number }[] },
    currentState: DuOperationReport['currentState'],
    startTime: Date,
    fault?: DuOperationReport['fault'],
  ): DuOperationReport {
    return report(operation, { uuid: du.uuid, version: du.version, execEnv: du.execEnv, currentState, duInstance: rows.instance, euInstances: rows.units.map((u) => u.instance), startTime, fault });
  }

  async function beginOperation(kind: OperationKind, fields: Pick<InFlightOperation, 'url' | 'execEnv' | 'uuid' | 'version'>): Promise<InFlightOperation> {
    const op: InFlightOperation = { id: randomUUID(), kind, ...fields, startedAt: utcTimestamp(now()) };
    state.inFlight.push(op);
    await save();
    return op;
  }
  const endOperation = (op: InFlightOperation): void => {
    state.inFlight = state.inFlight.filter((o) => o.id !== op.id);
  };

  const policyOf = (execEnv: string) => {
    const env = deps.execEnv(execEnv);
    if (!env) throw new SmmFault(SmmFaultCode.UnknownExecEnv, `ExecEnv ${execEnv} does not exist`);
    if (!env.enabled) throw new SmmFault(SmmFaultCode.InvalidValue, `ExecEnv ${execEnv} is disabled`);
    const used = allocatedIn(execEnv);
    return {
      name: execEnv,
      owner: deps.owner,
      allowedCapabilities: options.allowedCapabilities,
      ...deps.isolation(execEnv),
      allocatedMemoryKiB: env.allocatedMemoryKiB,
      allocatedCpuPercent: env.allocatedCpuPercent,
      allocatedDiskKiB: env.allocatedDiskKiB,
      usedMemoryKiB: used.memoryKiB,
      usedCpuPercent: used.cpuPercent,
      usedDiskKiB: used.diskKiB,
    };
  };

  const catalogOrFault = (): PackageCatalog => {
    if (!deps.catalog) throw new SmmFault(SmmFaultCode.RequestDenied, 'no app catalog is configured (config key catalog): this agent installs apps only from a signed catalog');
    return deps.catalog;
  };

  const faultOf = (error: unknown): { code: number; message: string } =>
    error instanceof SmmFault ? { code: error.faultCode, message: error.message } : { code: SmmFaultCode.InternalError, message: (error as Error).message };

  async function install(args: InstallArgs): Promise<DuOperationReport> {
    const startTime = now();
    return runDuOperation(undefined, 'Installing', async () => {
      const op = await beginOperation('Install', { url: args.url, execEnv: args.execEnv, uuid: args.uuid, version: undefined });
      try {
        const { record, resolved } = await installPackage(
          { catalog: catalogOrFault(), runtime, work: deps.work },
          {
            url: args.url,
            uuid: args.uuid,
            execEnv: policyOf(args.execEnv),
            toExecEnvCpu,
            installed: entriesIn(args.execEnv).map((e) => e.record),
            signal: args.signal,
            onProgress: (phase, detail) => args.onProgress?.(detail ? `${phase} ${detail.received}/${detail.total}` : phase),
          },
        );
        const at = utcTimestamp(now());
        const unitOptions = { shutdownDelay: args.shutdownDelay, autoRestart: args.autoRestart };
        const duInstance = state.nextDuInstance++;
        const entry: DeploymentEntry = {
          record,
          instance: duInstance,
          alias: `cpe-du-${duInstance}`,
          url: args.url,
          description: resolved.custom.description,
          installedAt: at,
          lastUpdate: at,
          moduleVersion: args.moduleVersion ?? '',
          ...(args.installedBy !== undefined && { installedBy: args.installedBy }),
          unpackedBytes: resolved.custom.unpackedSize,
          units: record.units.map((unit) => newUnitSettings(record, unit, at, unitOptions)),
        };
        // An app whose units cannot even start is a failed install, not an installed DU in a crash loop: the
        // AutoStart units must come up and stay up for a moment before the DU is committed.
        for (const unit of entry.units) supervisor.add(containerOf(entry, unit)!, { ...unit.autoRestart, enable: false });
        const starting = entry.units.filter((unit) => shouldRun(entry, unit));
        for (const unit of starting) activate(entry, unit, true);
        args.onProgress?.('starting');
        try {
          await probation(starting.map((unit) => ({ id: containerOf(entry, unit)!, name: unit.name })), options.installProbationMs, 'the app');
        } catch (error) {
          for (const unit of record.units) supervisor.remove(unit.containerId);
          const retained = new Set(state.retainedVolumes);
          await removeDeployment(runtime, { ...record, volumes: record.volumes.filter((v) => !retained.has(v.name)) }, { retainData: false }).catch((cleanup: unknown) => {
            logger.error({ err: cleanup }, 'removing the failed install left something behind');
          });
          throw error;
        }
        for (const unit of entry.units) supervisor.setPolicy(containerOf(entry, unit)!, unit.autoRestart);
        state.deployments.push(entry);
        // Retained data this install adopted belongs to the DU again.
        const adopted = new Set(record.volumes.map((v) => v.name));
        state.retainedVolumes = state.retainedVolumes.filter((name) => !adopted.has(name));
        endOperation(op);
        await save();
        changed();
        return reportOnDu('Install', record, entry, 'Installed', startTime);
      } catch (error) {
        endOperation(op);
        await save().catch(() => undefined);
        const fault = faultOf(error);
        logger.warn({ url: args.url, code: fault.code, reason: fault.message }, 'install failed');
        return report('Install', { uuid: args.uuid ?? '', version: '', execEnv: args.execEnv, currentState: 'Failed', duInstance: undefined, euInstances: [], startTime, fault });
      }
    });
  }

  /** Waits until every unit is Active and has stayed up for the probation window; throws with the reason if not. */
  async function probation(containers: readonly { id: string; name: string }[], windowMs: number, what: string): Promise<void> {
    if (containers.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const activeSince = new Map<string, number>();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (error?: Error): void => {
        off();
        clearTimeout(timer);
        clearInterval(tick);
        if (error) reject(error);
        else resolve();
      };
      const check = (): void => {
        const at = Date.now();
        for (const { id, name } of containers) {
          const view = supervisor.view(id);
          if (!view) {
            finish(new Error(`unit ${name} disappeared`));
            return;
          }
          if (view.status === 'Active') {
            if (!activeSince.has(id)) activeSince.set(id, at);
          } else if (view.status === 'Idle' && view.fault.code !== 'NoFault') {
            finish(new SmmFault(SmmFaultCode.RequestDenied, `${what}'s unit ${name} failed: ${view.fault.message}`));
            return;
          } else {
            activeSince.delete(id);
          }
        }
        if (containers.every(({ id }) => at - (activeSince.get(id) ?? Infinity) >= windowMs)) finish();
      };
      const off = supervisor.onChange(() => {
        check();
      });
      const tick = setInterval(check, Math.min(250, Math.max(50, windowMs / 4)));
      timer = setTimeout(() => {
        const slow = containers.filter(({ id }) => !activeSince.has(id)).map((c) => c.name);
        finish(new SmmFault(SmmFaultCode.RequestDenied, `${what}'s unit(s) ${slow.join(', ')} did not stay Active for ${windowMs / 1000} s`));
      }, options.startTimeoutMs + windowMs);
      check();
    });
  }

  async function update(entry: DeploymentEntry, args: Parameters<SmmService['update']>[1]): Promise<DuOperationReport> {
    const startTime = now();
    const old = entry.record;
    const url = args.url ?? entry.url;
    return runDuOperation(entry, 'Updating', async () => {
      const op = await beginOperation('Update', { url, execEnv: old.execEnv, uuid: old.uuid, version: old.version });
      let fresh: DeploymentRecord | undefined;
      const wasRunning = entry.units.filter((u) => shouldRun(entry, u));
      let oldStopped = false;
      try {
        const releasing = { memoryKiB: 0, cpuPercent: 0, diskKiB: Math.ceil(entry.unpackedBytes / 1024) };
        for (const unit of old.units) {
          releasing.memoryKiB += unit.memoryKiB;
          releasing.cpuPercent += toExecEnvCpu(unit.cpuPercent);
          releasing.diskKiB += unit.diskKiB;
        }
        const installed = await installPackage(
          { catalog: catalogOrFault(), runtime, work: deps.work },
          {
            url,
            uuid: old.uuid,
            execEnv: policyOf(old.execEnv),
            toExecEnvCpu,
            installed: [old],
            signal: args.signal,
            update: { releasing },
            accept: (custom) => {
              if (custom.name !== old.name || custom.vendor !== old.vendor) {
                throw new SmmFault(SmmFaultCode.DuToExecEnvMismatch, `${url} is ${custom.vendor}/${custom.name}, not ${old.vendor}/${old.name}: an Update keeps the app`);
              }
              const newer = validVersion(custom.version) && validVersion(old.version) ? compareVersions(custom.version, old.version) : custom.version.localeCompare(old.version);
              if (newer < 0 && !options.allowDowngrade) {
                throw new SmmFault(SmmFaultCode.InvalidDuState, `${old.name} ${custom.version} is older than the installed ${old.version}: downgrades are not allowed (config smm.allowDowngrade)`);
              }
            },
            onProgress: (phase, detail) => args.onProgress?.(detail ? `${phase} ${detail.received}/${detail.total}` : phase),
          },
        );
        fresh = installed.record;
        const next = fresh;
        // The switch: old units stop, their data is copied into the new volumes, the new units start.
        args.onProgress?.('stopping the running version');
        await Promise.all(entry.units.map((unit) => deactivate(entry, unit)));
        oldStopped = true;
        await carryData(runtime, { from: old, includeUnretained: args.retainData }, next);
        const settingsOf = (name: string): UnitSettings | undefined => entry.units.find((u) => u.name === name);
        const toStart = next.units.filter((u) => {
          const previous = settingsOf(u.name);
          return previous ? wasRunning.includes(previous) : u.autoStart;
        });
        for (const unit of next.units) supervisor.add(unit.containerId, { ...DEFAULT_AUTO_RESTART, enable: false });
        args.onProgress?.('starting the new version (probation)');
        for (const unit of toStart) void supervisor.activate(unit.containerId, { autoStarted: true }).catch(() => undefined);
        await probation(toStart.map((u) => ({ id: u.containerId, name: u.name })), options.probationMs, 'the new version');

        // Commit: the new version becomes the record; the old one's containers, volumes and image go.
        const at = utcTimestamp(now());
        const units: UnitSettings[] = next.units.map((unit) => {
          const previous = settingsOf(unit.name);
          return previous ? { ...previous } : newUnitSettings(next, unit, at, {});
        });
        for (const unit of old.units) supervisor.remove(unit.containerId);
        for (const unit of units) supervisor.setPolicy(next.units.find((u) => u.name === unit.name)!.containerId, unit.autoRestart);
        entry.record = next;
        entry.units = units;
        entry.url = url;
        entry.lastUpdate = at;
        entry.description = installed.resolved.custom.description;
        entry.unpackedBytes = installed.resolved.custom.unpackedSize;
        endOperation(op);
        await save();
        await removeDeployment(runtime, old, { retainData: false, keepNetwork: true }).catch((error: unknown) => {
          logger.warn({ err: error, du: old.name, version: old.version }, 'removing the replaced version left something behind');
        });
        changed();
        return reportOnDu('Update', next, { instance: entry.instance, units }, 'Installed', startTime);
      } catch (error) {
        // Rollback: the new version goes, the old one (untouched data included) comes back as it ran.
        if (fresh) {
          for (const unit of fresh.units) supervisor.remove(unit.containerId);
          await removeDeployment(runtime, fresh, { retainData: false, keepNetwork: true }).catch((cleanup: unknown) => {
            logger.error({ err: cleanup }, 'removing the failed new version left something behind');
          });
        }
        // The new version confined the shared network to its own egress: the old one's comes back.
        if (old.network) {
          await runtime.confineNetwork(old.network, egressRulesOf(old, deps.isolation(old.execEnv).network)).catch((cleanup: unknown) => {
            logger.error({ err: cleanup, network: old.network }, 'restoring the network rules of the previous version failed');
          });
        }
        if (oldStopped) for (const unit of wasRunning) activate(entry, unit, true);
        endOperation(op);
        await save().catch(() => undefined);
        const fault = faultOf(error);
        logger.warn({ du: old.name, url, code: fault.code, reason: fault.message }, 'update failed; the previous version stays');
        changed();
        return reportOnDu('Update', old, entry, 'Installed', startTime, fault);
      }
    });
  }

  async function uninstall(entry: DeploymentEntry, args: { retainData: boolean }): Promise<DuOperationReport> {
    const startTime = now();
    return runDuOperation(entry, 'Uninstalling', async () => {
      const record = entry.record;
      const op = await beginOperation('Uninstall', { url: entry.url, execEnv: record.execEnv, uuid: record.uuid, version: record.version });
      const wasRunning = entry.units.filter((u) => shouldRun(entry, u));
      try {
        await Promise.all(entry.units.map((unit) => deactivate(entry, unit)));
        for (const unit of record.units) supervisor.remove(unit.containerId);
        await removeDeployment(runtime, record, { retainData: args.retainData });
        if (args.retainData) state.retainedVolumes.push(...record.volumes.filter((v) => v.retain).map((v) => v.name));
        state.deployments = state.deployments.filter((e) => e !== entry);
        endOperation(op);
        await save();
        for (const unit of entry.units) usage.delete(unit.euid);
        changed();
        return reportOnDu('Uninstall', record, entry, 'Uninstalled', startTime);
      } catch (error) {
        // Whatever is left stays recorded; reconciling at the next start removes nothing that still runs.
        for (const unit of record.units) if (!supervisor.view(unit.containerId)) supervisor.add(unit.containerId, entry.units.find((u) => u.name === unit.name)!.autoRestart);
        for (const unit of wasRunning) activate(entry, unit, true);
        endOperation(op);
        await save().catch(() => undefined);
        const fault = faultOf(error);
        return reportOnDu('Uninstall', record, entry, 'Installed', startTime, fault);
      }
    });
  }

  /** Adopts the runtime's state for the recorded units after a (re)start and removes what no record knows. */
  async function adoptRuntime(): Promise<void> {
    supervisor.close();
    supervisor = createUnitSupervisor(runtime, deps.owner);
    supervisor.onChange(() => {
      changed();
    });
    await supervisor.start((error) => {
      logger.warn({ err: error }, 'lost the container runtime\'s event stream; reconnecting');
      deps.onRuntimeChange?.();
      void recover();
    });
    const result = await reconcile(runtime, deps.owner, state.deployments.map((e) => e.record), {
      retainedVolumes: new Set(state.retainedVolumes),
      egressOf: (record) => egressRulesOf(record, deps.isolation(record.execEnv).network),
    });
    if (Object.values(result.removed).some((removed) => removed.length > 0)) {
      logger.info({ removed: result.removed }, 'removed what an interrupted operation left behind');
    }
    unconfined = new Map(result.unconfined.map((u) => [u.network, u.reason]));
    for (const { network, reason } of result.unconfined) logger.error({ network, reason }, 'an app network cannot be confined; its units stay down');
    const states = new Map(result.units.map((u) => [`${u.uuid}/${u.version}/${u.unit}`, u.state]));
    for (const entry of state.deployments) {
      for (const unit of entry.units) {
        const id = containerOf(entry, unit);
        if (!id) continue;
        const container = states.get(`${entry.record.uuid}/${entry.record.version}/${unit.name}`);
        const fault: UnitFault = container ? NO_FAULT : { code: 'UnStartable', message: 'its container is gone (removed outside berth); reinstall the app' };
        const running = container?.status === 'running';
        supervisor.add(id, unit.autoRestart, { running, requested: unit.requested, fault, ...(running ? { startedAt: Date.parse(container.startedAt) } : {}) });
      }
    }
    for (const entry of state.deployments) {
      for (const unit of entry.units) {
        const view = supervisor.view(containerOf(entry, unit) ?? '');
        const confined = entry.record.network === undefined || !unconfined.has(entry.record.network);
        if (view && view.status === 'Idle' && view.fault.code !== 'UnStartable' && shouldRun(entry, unit)) activate(entry, unit, true);
        else if (view && view.status === 'Active' && !shouldRun(entry, unit)) void deactivate(entry, unit);
        else if (view && view.status === 'Active' && !confined) void deactivate(entry, unit).then(() => refusedUnconfined(entry, containerOf(entry, unit)!));
      }
    }
    changed();
  }

  function recover(): Promise<void> {
    if (closed) return Promise.resolve();
    recovering ??= (async () => {
      for (let attempt = 0; !closed; attempt++) {
        try {
          await exclusive(adoptRuntime);
          logger.info('reconciled with the container runtime');
          deps.onRuntimeChange?.();
          return;
        } catch (error) {
          if (attempt === 0) logger.warn({ err: error }, 'container runtime unavailable; retrying');
          await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
        }
      }
    })().finally(() => {
      recovering = undefined;
    });
    return recovering;
  }

  async function sample(): Promise<void> {
    const live = state.deployments.flatMap((entry) => entry.units.map((unit) => ({ entry, unit, id: containerOf(entry, unit) })));
    let disk: Awaited<ReturnType<ContainerRuntime['diskUsage']>> | undefined;
    try {
      disk = await runtime.diskUsage();
    } catch {
      disk = undefined;
    }
    // A few at a time: with dozens of units, one request each at once would only queue up in dockerd and hold
    // a buffer per response in the agent.
    const sampleOne = async ({ entry, unit, id }: (typeof live)[number]): Promise<void> => {
      if (!id) return;
      const view = supervisor.view(id);
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
      const allowed = unitRecord(entry, unit)?.diskKiB ?? 0;
      if (disk && allowed > 0 && diskKiB > allowed && view?.status === 'Active') {
        // Docker has no portable disk limit: berth stops the unit and says why.
        logger.warn({ du: entry.record.name, unit: unit.name, diskKiB, allowed }, 'execution unit exceeds its disk allocation; stopping it');
        unit.requested = 'Idle';
        saveSoon();
        await supervisor.deactivate(id, unit.shutdownDelay).catch(() => undefined);
        supervisor.setFault(id, { code: 'FailureWhileActive', message: `stopped: uses ${diskKiB} KiB of disk, its allocation is ${allowed} KiB` });
      }
    };
    for (let next = 0; next < live.length; ) {
      await Promise.all(live.slice(next, next + SAMPLE_CONCURRENCY).map(sampleOne));
      next += SAMPLE_CONCURRENCY;
    }
    changed();
  }

  return {
    state,
    async boot() {
      try {
        await exclusive(adoptRuntime);
      } catch (error) {
        logger.warn({ err: error }, 'container runtime unavailable at start; installed apps are reconciled once it answers');
        void recover();
      }
      // An older berth kept images to remove here; it now goes by name (reconcile), never by image ID.
      delete (state as { orphanImages?: unknown }).orphanImages;
      // Operations a crash interrupted: reported failed, never retried (TR-369 R-SMM.1).
      const interrupted = state.inFlight;
      if (interrupted.length > 0) {
        // What they made is removed by reconciling: by label, and berth's image names no record holds.
        state.inFlight = [];
        await save();
        for (const op of interrupted) {
          const entry = state.deployments.find((e) => e.record.uuid === op.uuid && e.record.execEnv === op.execEnv);
          report(op.kind, {
            uuid: op.uuid ?? '',
            version: entry?.record.version ?? op.version ?? '',
            execEnv: op.execEnv,
            currentState: entry ? 'Installed' : 'Failed',
            duInstance: entry?.instance,
            euInstances: entry?.units.map((u) => u.instance) ?? [],
            startTime: new Date(op.startedAt),
            fault: { code: SmmFaultCode.RequestDenied, message: `the agent stopped during this ${op.kind.toLowerCase()}; nothing of it was kept` },
          });
        }
      }
      sampler = setInterval(() => void sample().catch(() => undefined), options.sampleIntervalMs);
      sampler.unref();
    },
    close() {
      closed = true;
      clearInterval(sampler);
      supervisor.close();
    },
    deployments: () => state.deployments,
    duStatus: (entry) => busy.get(duKey(entry.record.uuid, entry.record.execEnv)) ?? 'Installed',
    unitView(entry, unit) {
      const id = containerOf(entry, unit);
      return (id ? supervisor.view(id) : undefined) ?? { status: 'Idle', fault: NO_FAULT, retryCount: 0, lastRestarted: undefined, nextRestart: undefined, activeSince: undefined };
    },
    unitUsage: (_entry, unit) => usage.get(unit.euid),
    unitStartedAt(entry, unit) {
      const id = containerOf(entry, unit);
      return id ? supervisor.view(id)?.activeSince : undefined;
    },
    allocatedIn,
    cpuShare: toExecEnvCpu,
    async unitLogs(entry, unit, maxBytes) {
      const id = containerOf(entry, unit);
      if (!id) return '';
      const text = (await runtime.logs(id, 100_000)).join('\n');
      const bytes = Buffer.from(text);
      return bytes.length <= maxBytes ? text : bytes.subarray(bytes.length - maxBytes).toString('utf8');
    },
    install,
    update,
    uninstall,
    setRequestedState(entry, unit, requested) {
      unit.requested = requested;
      saveSoon();
      if (requested === 'Active') activate(entry, unit, false);
      else void deactivate(entry, unit);
    },
    restartUnit(entry, unit) {
      const id = containerOf(entry, unit);
      if (!id || refusedUnconfined(entry, id)) return;
      unit.requested = 'Active';
      saveSoon();
      supervisor.restart(id, unit.shutdownDelay).catch((error: unknown) => {
        logger.warn({ err: error, du: entry.record.name, unit: unit.name }, 'restarting an execution unit failed');
      });
    },
    changeUnitSettings(entry, unit, change) {
      Object.assign(unit, change);
      if (change.autoRestart) {
        const id = containerOf(entry, unit);
        if (id) supervisor.setPolicy(id, unit.autoRestart);
      }
      saveSoon();
    },
    changeDeploymentModuleVersion(entry, moduleVersion) {
      entry.moduleVersion = moduleVersion;
      saveSoon();
      changed();
    },
    async execEnvChanged(execEnv) {
      const env = deps.execEnv(execEnv);
      const stops: Promise<void>[] = [];
      for (const entry of entriesIn(execEnv)) {
        for (const unit of entry.units) {
          const id = containerOf(entry, unit);
          const view = id ? supervisor.view(id) : undefined;
          if (!id || !view) continue;
          const run = shouldRun(entry, unit);
          if (run && view.status === 'Idle') activate(entry, unit, true);
          else if (!run && view.status !== 'Idle') {
            stops.push(
              deactivate(entry, unit).then(() => {
                if (env && !env.enabled) supervisor.setFault(id, { code: 'UnStartable', message: `ExecEnv ${execEnv} is disabled` });
              }),
            );
          } else if (!env?.enabled) supervisor.setFault(id, { code: 'UnStartable', message: `ExecEnv ${execEnv} is disabled` });
        }
      }
      await Promise.all(stops);
    },
    async restartExecEnv(execEnv) {
      await Promise.all(entriesIn(execEnv).flatMap((entry) => entry.units.map((unit) => deactivate(entry, unit))));
      for (const entry of entriesIn(execEnv)) for (const unit of entry.units) if (shouldRun(entry, unit)) activate(entry, unit, true);
    },
    recover,
    sampleNow: sample,
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    onReport(listener) {
      reportListeners.add(listener);
      return () => reportListeners.delete(listener);
    },
    idle: () => exclusive(() => Promise.resolve()),
  };
}
