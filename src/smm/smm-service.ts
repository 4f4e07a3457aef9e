// Software Module Management: InstallDU, Update, Uninstall and the Execution Unit lifecycle carried out on the
// container runtime, in berth's terms (no TR-181 paths here: the bindings map this service to the data model).
// This file composes the parts, each with one job:
//   du-operations.ts   InstallDU, Update, Uninstall: probation, rollback, in-flight bookkeeping, reports
//   recovery.ts        after a crash or a Docker outage: reconcile, adopt units, report interrupted operations
//   usage-monitor.ts   usage sampling and disk-allocation enforcement
//   unit-run-state.ts  whether units should run; SetRequestedState, Restart, AutoRestart, ExecEnv changes
//   admission.ts       what installed apps hold (one sum) and whether a new one fits
//
// Invariants:
// - DU operations run one at a time (a mutex, shared with recovery), so admission control always sees what is
//   really installed.
// - An operation is written to the state as in flight before it touches the runtime and removed when it ends;
//   the state (saved atomically with the data model) changes only when an operation is committed. After a
//   crash, boot() reconciles the runtime with the state: whatever the interrupted operation made is removed,
//   the previous version keeps running, and the operation is reported failed.
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import type { Logger } from '../log.ts';
import { allocatedIn, cpuShareOf } from './admission.ts';
import { systemClock } from './clock.ts';
import type { Clock } from './clock.ts';
import { createDuOperations } from './du-operations.ts';
import type { DuOperationOptions, DuOperationReport, DuStatus, InstallArgs, UpdateArgs } from './du-operations.ts';
import type { ExecEnvIsolation } from './exec-env-policy.ts';
import type { WorkArea } from './install-package.ts';
import type { PackageCatalog } from './package-catalog.ts';
import { createRecovery } from './recovery.ts';
import type { DeploymentEntry, SmmState, UnitSettings } from './smm-state.ts';
import { createUnitRunState } from './unit-run-state.ts';
import type { ExecEnvInfo, UnitSettingsChange } from './unit-run-state.ts';
import type { UnitView } from './unit-supervisor.ts';
import { createUsageMonitor } from './usage-monitor.ts';
import type { UnitUsage } from './usage-monitor.ts';

export type { DuOperationReport, DuStatus, ExecEnvInfo, InstallArgs, UnitUsage };

export interface SmmOptions extends DuOperationOptions {
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
  /** Time and timers (default: the system's). */
  clock?: Clock;
  /** Told when the runtime's event stream was lost or has been re-established (re-check its health now). */
  onRuntimeChange?: () => void;
}

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
  update(entry: DeploymentEntry, args: UpdateArgs): Promise<DuOperationReport>;
  uninstall(entry: DeploymentEntry, args: { retainData: boolean }): Promise<DuOperationReport>;
  /** SetRequestedState(): returns at once, the unit moves through Starting/Stopping on its own. */
  setRequestedState(entry: DeploymentEntry, unit: UnitSettings, state: 'Active' | 'Idle'): void;
  restartUnit(entry: DeploymentEntry, unit: UnitSettings): void;
  /** Controller changes to AutoStart, RunLevel, ShutdownDelay, AutoRestart.*, Alias. */
  changeUnitSettings(entry: DeploymentEntry, unit: UnitSettings, change: UnitSettingsChange): void;
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

export function createSmmService(deps: SmmDeps, state: SmmState): SmmService {
  const { runtime, logger, options } = deps;
  const clock = deps.clock ?? systemClock;
  const changeListeners = new Set<() => void>();
  const reportListeners = new Set<(report: DuOperationReport) => void>();
  let queue: Promise<unknown> = Promise.resolve();

  const changed = (): void => {
    for (const listener of changeListeners) listener();
  };
  const emit = (report: DuOperationReport): void => {
    for (const listener of reportListeners) listener(report);
  };
  const save = (): Promise<void> => deps.persist(state);
  const saveSoon = (): void => {
    save().catch((error: unknown) => {
      logger.error({ err: error }, 'saving the software module state failed');
    });
  };
  /** DU operations and recoveries one at a time: admission must see what is really installed. */
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  const execEnv = (name: string): ExecEnvInfo | undefined => deps.execEnv(name);
  const isolation = (name: string): ExecEnvIsolation => deps.isolation(name);
  const units = createUnitRunState({ runtime, owner: deps.owner, clock, state, execEnv, saveSoon, changed, logger });
  const usage = createUsageMonitor({ runtime, state, units, cpuCount: deps.cpuCount, clock, saveSoon, changed, logger });
  const operations = createDuOperations({
    runtime,
    catalog: deps.catalog,
    work: deps.work,
    owner: deps.owner,
    cpuCount: deps.cpuCount,
    execEnv,
    isolation,
    options,
    state,
    save,
    changed,
    emit,
    exclusive,
    sweep: () => void recovery.sweep(),
    units,
    usage,
    clock,
    logger,
  });
  const recovery = createRecovery({ runtime, owner: deps.owner, state, isolation, units, exclusive, save, changed, emit, onRuntimeChange: deps.onRuntimeChange, clock, logger });

  return {
    state,
    async boot() {
      await recovery.boot();
      usage.start(options.sampleIntervalMs);
    },
    close() {
      recovery.close();
      usage.close();
      units.close();
    },
    deployments: () => state.deployments,
    duStatus: (entry) => operations.status(entry),
    unitView: (entry, unit) => units.view(entry, unit),
    unitUsage: (_entry, unit) => usage.usageOf(unit),
    unitStartedAt: (entry, unit) => units.startedAt(entry, unit),
    unitLogs: (entry, unit, maxBytes) => units.logs(entry, unit, maxBytes),
    allocatedIn: (execEnv) => allocatedIn(state.deployments, execEnv, deps.cpuCount),
    cpuShare: (percentOfOneCpu) => cpuShareOf(percentOfOneCpu, deps.cpuCount),
    install: (args) => operations.install(args),
    update: (entry, args) => operations.update(entry, args),
    uninstall: (entry, args) => operations.uninstall(entry, args),
    setRequestedState: (entry, unit, requested) => { units.setRequestedState(entry, unit, requested); },
    restartUnit: (entry, unit) => { units.restart(entry, unit); },
    changeUnitSettings: (entry, unit, change) => { units.changeSettings(entry, unit, change); },
    changeDeploymentModuleVersion(entry, moduleVersion) {
      entry.moduleVersion = moduleVersion;
      saveSoon();
      changed();
    },
    execEnvChanged: (execEnv) => units.execEnvChanged(execEnv),
    restartExecEnv: (execEnv) => units.restartExecEnv(execEnv),
    recover: () => recovery.recover(),
    sampleNow: () => usage.sampleNow(),
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
