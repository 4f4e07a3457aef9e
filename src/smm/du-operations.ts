// The DU operations, InstallDU, Update and Uninstall, carried out on the container runtime. An install or update
// commits only after probation (its units come up and stay up: probation-verdict.ts); a failed update rolls back to
// the previous version as it ran, data included. Each operation is written to the state as in flight before it
// touches the runtime and removed when it ends, so after a crash recovery knows what was interrupted.
import { randomUUID } from 'node:crypto';
// Only the two functions: the rest of semver (ranges) is loaded with the catalog client, at the first install.
import compareVersions from 'semver/functions/compare.js';
import validVersion from 'semver/functions/valid.js';
import { utcTimestamp } from '../usp/values.ts';
import { allocatedIn, cpuShareOf, heldBy } from './admission.ts';
import type { Clock } from './clock.ts';
import { carryData, egressRulesOf, removeDeployment } from './deployment.ts';
import type { DeploymentRecord, ExecEnvPolicy } from './deployment.ts';
import { installPackage } from './install-package.ts';
import type { PackageCatalog } from './package-catalog.ts';
import { judgeProbation } from './probation-verdict.ts';
import type { AutoRestartPolicy } from './restart-backoff.ts';
import { SmmFault } from './smm-fault.ts';
import { ErrorCode } from '../usp/errors.ts';
import { toUspFailure } from '../usp/usp-failure.ts';
import { DEFAULT_AUTO_RESTART, euidOf } from './smm-state.ts';
import type { DeploymentEntry, InFlightOperation, OperationKind, SmmState, UnitSettings } from './smm-state.ts';
import type { UnitRunState } from './unit-run-state.ts';
import type { UsageMonitor } from './usage-monitor.ts';
import type { SmmDeps } from './smm-service.ts';

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

export interface UpdateArgs {
  url?: string | undefined;
  retainData: boolean;
  signal?: AbortSignal | undefined;
  onProgress?: ((message: string) => void) | undefined;
}

export type DuStatus = 'Installing' | 'Installed' | 'Updating' | 'Uninstalling';

export interface DuOperationOptions {
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
}

export interface DuOperations {
  install(args: InstallArgs): Promise<DuOperationReport>;
  update(entry: DeploymentEntry, args: UpdateArgs): Promise<DuOperationReport>;
  uninstall(entry: DeploymentEntry, args: { retainData: boolean }): Promise<DuOperationReport>;
  /** An installed DU's Status: Installed, or the operation running on it. */
  status(entry: DeploymentEntry): DuStatus;
}

/** What the service was given (smm-service.ts documents each), and what it shares with the operations. */
export interface DuOperationsDeps extends Pick<SmmDeps, 'runtime' | 'catalog' | 'work' | 'owner' | 'cpuCount' | 'execEnv' | 'isolation' | 'logger'> {
  options: DuOperationOptions;
  state: SmmState;
  save(): Promise<void>;
  changed(): void;
  /** Tells the report's listeners (DUStateChange!, OperationComplete). */
  emit(report: DuOperationReport): void;
  /** Asks for leftovers to be removed once this operation is done (what a lost answer or failed removal left). */
  sweep(): void;
  /** Runs work after the DU operations (and recoveries) before it: admission must see what is really installed. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  units: UnitRunState;
  usage: Pick<UsageMonitor, 'forget'>;
  clock: Clock;
}

const duKey = (uuid: string, execEnv: string): string => `${uuid}@${execEnv}`;

export function createDuOperations(deps: DuOperationsDeps): DuOperations {
  const { runtime, logger, options, state, units, clock } = deps;
  const busy = new Map<string, DuStatus>();
  const now = (): Date => new Date(clock.now());
  const save = (): Promise<void> => deps.save();
  const toExecEnvCpu = (percentOfOneCpu: number): number => cpuShareOf(percentOfOneCpu, deps.cpuCount);
  /** The fault a DU operation reports; one without a USP code is logged with its stack (7003). */
  const faultOf = (error: unknown, where: Readonly<Record<string, unknown>>): { code: number; message: string } => {
    const { code, message } = toUspFailure(error, logger, where);
    return { code, message };
  };

  /**
   * Runs a DU operation after the ones before it (one at a time). For an installed DU, its Status shows `status`
   * meanwhile, and a second operation on it is refused (7229).
   */
  async function runDuOperation<T>(entry: DeploymentEntry | undefined, status: DuStatus, work: () => Promise<T>): Promise<T> {
    const key = entry ? duKey(entry.record.uuid, entry.record.execEnv) : undefined;
    if (key !== undefined) {
      const current = busy.get(key);
      if (current) throw new SmmFault(ErrorCode.InvalidDuState, `DU ${entry!.record.name} is ${current}`);
      busy.set(key, status);
      deps.changed();
    }
    try {
      return await deps.exclusive(work);
    } finally {
      if (key !== undefined) busy.delete(key);
      deps.changed();
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
    deps.emit(done);
    deps.sweep();
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
  /** A committed operation is over: its outcome is already saved, so a failing save here costs only a report twice. */
  const finishCommitted = async (op: InFlightOperation): Promise<void> => {
    endOperation(op);
    await save().catch((error: unknown) => {
      logger.error({ err: error }, 'saving the software module state failed');
    });
  };

  const policyOf = (execEnv: string) => {
    const env = deps.execEnv(execEnv);
    if (!env) throw new SmmFault(ErrorCode.UnknownExecEnv, `ExecEnv ${execEnv} does not exist`);
    if (!env.enabled) throw new SmmFault(ErrorCode.InvalidValue, `ExecEnv ${execEnv} is disabled`);
    const used = allocatedIn(state.deployments, execEnv, deps.cpuCount);
    const policy: ExecEnvPolicy = { name: execEnv, owner: deps.owner, allowedCapabilities: options.allowedCapabilities, ...deps.isolation(execEnv) };
    return {
      ...policy,
      allocatedMemoryKiB: env.allocatedMemoryKiB,
      allocatedCpuPercent: env.allocatedCpuPercent,
      allocatedDiskKiB: env.allocatedDiskKiB,
      usedMemoryKiB: used.memoryKiB,
      usedCpuPercent: used.cpuPercent,
      usedDiskKiB: used.diskKiB,
    };
  };

  const catalogOrFault = (): PackageCatalog => {
    if (!deps.catalog) throw new SmmFault(ErrorCode.RequestDenied, 'no app catalog is configured (config key catalog): this agent installs apps only from a signed catalog');
    return deps.catalog;
  };

  /** Waits until every unit is Active and has stayed up for the probation window; throws with the reason if not. */
  async function probation(containers: readonly { id: string; name: string }[], windowMs: number, subject: string): Promise<void> {
    if (containers.length === 0) return;
    const deadline = clock.now() + options.startTimeoutMs + windowMs;
    await new Promise<void>((resolve, reject) => {
      let activeSince: (number | undefined)[] = containers.map(() => undefined);
      const check = (): void => {
        const supervisor = units.supervisor();
        const observed = containers.map(({ id, name }, i) => ({ name, observed: supervisor.view(id), activeSince: activeSince[i] }));
        const verdict = judgeProbation(observed, clock.now(), { windowMs, deadline, subject });
        if (verdict.verdict === 'wait') {
          activeSince = verdict.activeSince;
          return;
        }
        off();
        tick.cancel();
        timeout.cancel();
        if (verdict.verdict === 'pass') resolve();
        else reject(new SmmFault(verdict.code, verdict.message));
      };
      const off = units.supervisor().onChange(() => {
        check();
      });
      const tick = clock.every(Math.min(250, Math.max(50, windowMs / 4)), check);
      const timeout = clock.after(deadline - clock.now(), check);
      check();
    });
  }

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
            installed: state.deployments.filter((e) => e.record.execEnv === args.execEnv).map((e) => e.record),
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
        const supervisor = units.supervisor();
        for (const unit of entry.units) supervisor.add(units.containerOf(entry, unit)!, { ...unit.autoRestart, enable: false });
        const starting = entry.units.filter((unit) => units.shouldRun(entry, unit));
        for (const unit of starting) units.activate(entry, unit, true);
        args.onProgress?.('starting');
        try {
          await probation(starting.map((unit) => ({ id: units.containerOf(entry, unit)!, name: unit.name })), options.installProbationMs, 'the app');
        } catch (error) {
          for (const unit of record.units) units.supervisor().remove(unit.containerId);
          const retained = new Set(state.retainedVolumes);
          await removeDeployment(runtime, { ...record, volumes: record.volumes.filter((v) => !retained.has(v.name)) }, { retainData: false }).catch((cleanup: unknown) => {
            logger.error({ err: cleanup }, 'removing the failed install left something behind');
          });
          throw error;
        }
        for (const unit of entry.units) units.supervisor().setPolicy(units.containerOf(entry, unit)!, unit.autoRestart);
        state.deployments.push(entry);
        // Retained data this install adopted belongs to the DU again.
        const adopted = new Set(record.volumes.map((v) => v.name));
        state.retainedVolumes = state.retainedVolumes.filter((name) => !adopted.has(name));
        endOperation(op);
        await save();
        deps.changed();
        return reportOnDu('Install', record, entry, 'Installed', startTime);
      } catch (error) {
        endOperation(op);
        await save().catch(() => undefined);
        const fault = faultOf(error, { operation: 'Install', url: args.url, execEnv: args.execEnv });
        logger.warn({ url: args.url, code: fault.code, reason: fault.message }, 'install failed');
        return report('Install', { uuid: args.uuid ?? '', version: '', execEnv: args.execEnv, currentState: 'Failed', duInstance: undefined, euInstances: [], startTime, fault });
      }
    });
  }

  async function update(entry: DeploymentEntry, args: UpdateArgs): Promise<DuOperationReport> {
    const startTime = now();
    const old = entry.record;
    const url = args.url ?? entry.url;
    return runDuOperation(entry, 'Updating', async () => {
      const op = await beginOperation('Update', { url, execEnv: old.execEnv, uuid: old.uuid, version: old.version });
      let fresh: DeploymentRecord | undefined;
      const wasRunning = entry.units.filter((u) => units.shouldRun(entry, u));
      let oldStopped = false;
      try {
        const installed = await installPackage(
          { catalog: catalogOrFault(), runtime, work: deps.work },
          {
            url,
            uuid: old.uuid,
            execEnv: policyOf(old.execEnv),
            toExecEnvCpu,
            installed: [old],
            signal: args.signal,
            update: { releasing: heldBy(entry, deps.cpuCount) },
            accept: (custom) => {
              if (custom.name !== old.name || custom.vendor !== old.vendor) {
                throw new SmmFault(ErrorCode.DuToExecEnvMismatch, `${url} is ${custom.vendor}/${custom.name}, not ${old.vendor}/${old.name}: an Update keeps the app`);
              }
              const newer = validVersion(custom.version) && validVersion(old.version) ? compareVersions(custom.version, old.version) : custom.version.localeCompare(old.version);
              if (newer < 0 && !options.allowDowngrade) {
                throw new SmmFault(ErrorCode.InvalidDuState, `${old.name} ${custom.version} is older than the installed ${old.version}: downgrades are not allowed (config smm.allowDowngrade)`);
              }
            },
            onProgress: (phase, detail) => args.onProgress?.(detail ? `${phase} ${detail.received}/${detail.total}` : phase),
          },
        );
        fresh = installed.record;
        const next = fresh;
        // The switch: old units stop, their data is copied into the new volumes, the new units start.
        args.onProgress?.('stopping the running version');
        await Promise.all(entry.units.map((unit) => units.deactivate(entry, unit)));
        oldStopped = true;
        await carryData(runtime, { from: old, includeUnretained: args.retainData }, next);
        const settingsOf = (name: string): UnitSettings | undefined => entry.units.find((u) => u.name === name);
        const toStart = next.units.filter((u) => {
          const previous = settingsOf(u.name);
          return previous ? wasRunning.includes(previous) : u.autoStart;
        });
        const supervisor = units.supervisor();
        for (const unit of next.units) supervisor.add(unit.containerId, { ...DEFAULT_AUTO_RESTART, enable: false });
        args.onProgress?.('starting the new version (probation)');
        for (const unit of toStart) void supervisor.activate(unit.containerId, { autoStarted: true }).catch(() => undefined);
        await probation(toStart.map((u) => ({ id: u.containerId, name: u.name })), options.probationMs, 'the new version');

        // Commit: the new version becomes the record; the old one's containers, volumes and image go.
        const at = utcTimestamp(now());
        const unitSettings: UnitSettings[] = next.units.map((unit) => {
          const previous = settingsOf(unit.name);
          return previous ? { ...previous } : newUnitSettings(next, unit, at, {});
        });
        for (const unit of old.units) units.supervisor().remove(unit.containerId);
        for (const unit of unitSettings) units.supervisor().setPolicy(next.units.find((u) => u.name === unit.name)!.containerId, unit.autoRestart);
        entry.record = next;
        entry.units = unitSettings;
        entry.url = url;
        entry.lastUpdate = at;
        entry.description = installed.resolved.custom.description;
        entry.unpackedBytes = installed.resolved.custom.unpackedSize;
        op.committed = { version: next.version, duInstance: entry.instance, euInstances: unitSettings.map((u) => u.instance) };
        await save();
        await removeDeployment(runtime, old, { retainData: false, keepNetwork: true }).catch((error: unknown) => {
          logger.warn({ err: error, du: old.name, version: old.version }, 'removing the replaced version left something behind; the next reconcile removes it');
        });
        await finishCommitted(op);
        deps.changed();
        return reportOnDu('Update', next, { instance: entry.instance, units: unitSettings }, 'Installed', startTime);
      } catch (error) {
        // Rollback: the new version goes, the old one (untouched data included) comes back as it ran.
        if (fresh) {
          for (const unit of fresh.units) units.supervisor().remove(unit.containerId);
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
        if (oldStopped) for (const unit of wasRunning) units.activate(entry, unit, true);
        endOperation(op);
        await save().catch(() => undefined);
        const fault = faultOf(error, { operation: 'Update', du: old.name, url });
        logger.warn({ du: old.name, url, code: fault.code, reason: fault.message }, 'update failed; the previous version stays');
        deps.changed();
        return reportOnDu('Update', old, entry, 'Installed', startTime, fault);
      }
    });
  }

  async function uninstall(entry: DeploymentEntry, args: { retainData: boolean }): Promise<DuOperationReport> {
    const startTime = now();
    return runDuOperation(entry, 'Uninstalling', async () => {
      const record = entry.record;
      const op = await beginOperation('Uninstall', { url: entry.url, execEnv: record.execEnv, uuid: record.uuid, version: record.version });
      const wasRunning = entry.units.filter((u) => units.shouldRun(entry, u));
      const before = { deployments: state.deployments, retainedVolumes: state.retainedVolumes };
      try {
        await Promise.all(entry.units.map((unit) => units.deactivate(entry, unit)));
        for (const unit of record.units) units.supervisor().remove(unit.containerId);
        // Committed before anything is removed: from the first removal on, the DU could not be given back whole.
        // What a failure or a crash leaves behind is held by no record, so the next reconcile removes it.
        if (args.retainData) state.retainedVolumes = [...state.retainedVolumes, ...record.volumes.filter((v) => v.retain).map((v) => v.name)];
        state.deployments = state.deployments.filter((e) => e !== entry);
        op.committed = { version: record.version, duInstance: entry.instance, euInstances: entry.units.map((u) => u.instance) };
        await save();
      } catch (error) {
        // The state could not be saved: the DU stays, its units as they were.
        state.deployments = before.deployments;
        state.retainedVolumes = before.retainedVolumes;
        delete op.committed;
        const supervisor = units.supervisor();
        for (const unit of record.units) if (!supervisor.view(unit.containerId)) supervisor.add(unit.containerId, entry.units.find((u) => u.name === unit.name)!.autoRestart);
        for (const unit of wasRunning) units.activate(entry, unit, true);
        endOperation(op);
        await save().catch(() => undefined);
        const fault = faultOf(error, { operation: 'Uninstall', du: record.name });
        return reportOnDu('Uninstall', record, entry, 'Installed', startTime, fault);
      }
      await removeDeployment(runtime, record, { retainData: args.retainData }).catch((error: unknown) => {
        logger.warn({ err: error, du: record.name, version: record.version }, 'uninstalling left something behind; the next reconcile removes it');
      });
      await finishCommitted(op);
      deps.usage.forget(entry.units);
      deps.changed();
      return reportOnDu('Uninstall', record, entry, 'Uninstalled', startTime);
    });
  }

  return {
    install,
    update,
    uninstall,
    status: (entry) => busy.get(duKey(entry.record.uuid, entry.record.execEnv)) ?? 'Installed',
  };
}
