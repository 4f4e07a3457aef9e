// Recovery after a crash of the agent and after a Docker outage: the runtime is reconciled with the state (what an
// interrupted operation made is removed, recorded units are adopted as they run, recovery-plan.ts decides which),
// units are brought to their requested state, and operations a crash interrupted are reported failed, never
// retried (TR-369 R-SMM.1). While the runtime does not answer, recovery retries with a back-off.
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import type { Logger } from '../log.ts';
import type { Clock } from './clock.ts';
import { egressRulesOf } from './deployment.ts';
import type { DuOperationReport } from './du-operations.ts';
import type { ExecEnvIsolation } from './exec-env-policy.ts';
import { reconcile } from './reconcile.ts';
import { adoptUnit, reconnectDelayMs } from './recovery-plan.ts';
import { ErrorCode } from '../usp/errors.ts';
import type { SmmState } from './smm-state.ts';
import type { UnitRunState } from './unit-run-state.ts';

export interface Recovery {
  /** At start: reconciles (or, while the runtime does not answer, keeps trying in the background), then reports interrupted operations. */
  boot(): Promise<void>;
  /** Reconnects to the runtime after an outage and reconciles again; one recovery at a time. */
  recover(): Promise<void>;
  /**
   * Removes what no record holds, once the operation under way is done: run after every DU operation, so that what
   * a call whose answer was lost created, or a removal that failed left, does not wait for the next restart.
   */
  sweep(): Promise<void>;
  close(): void;
}

export interface RecoveryDeps {
  runtime: ContainerRuntime;
  owner: string;
  state: SmmState;
  isolation(execEnv: string): ExecEnvIsolation;
  units: UnitRunState;
  /** Runs after the DU operation under way, if any (recovery never interleaves with one). */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  save(): Promise<void>;
  changed(): void;
  emit(report: DuOperationReport): void;
  /** Told when the runtime's event stream was lost or has been re-established. */
  onRuntimeChange?: (() => void) | undefined;
  clock: Clock;
  logger: Logger;
}

export function createRecovery(deps: RecoveryDeps): Recovery {
  const { runtime, logger, state, units, clock } = deps;
  let recovering: Promise<void> | undefined;
  let closed = false;

  /** Reconciles the runtime with the records: removes what no record holds (retained data excepted). */
  async function removeUnrecorded(): Promise<Awaited<ReturnType<typeof reconcile>>> {
    const result = await reconcile(runtime, deps.owner, state.deployments.map((e) => e.record), {
      retainedVolumes: new Set(state.retainedVolumes),
      egressOf: (record) => egressRulesOf(record, deps.isolation(record.execEnv).network),
    });
    if (Object.values(result.removed).some((removed) => removed.length > 0)) {
      logger.info({ removed: result.removed }, 'removed what an interrupted or failed operation left behind');
    }
    if (result.notRemoved.length > 0) logger.warn({ notRemoved: result.notRemoved }, 'leftovers of an interrupted operation could not be removed; trying again at the next reconcile');
    return result;
  }

  /** Adopts the runtime's state for the recorded units after a (re)start and removes what no record knows. */
  async function adoptRuntime(): Promise<void> {
    await units.resubscribe((error) => {
      logger.warn({ err: error }, 'lost the container runtime\'s event stream; reconnecting');
      deps.onRuntimeChange?.();
      void recover();
    });
    const result = await removeUnrecorded();
    units.setUnconfined(result.unconfined);
    for (const { network, reason } of result.unconfined) logger.error({ network, reason }, 'an app network cannot be confined; its units stay down');
    const containers = new Map(result.units.map((u) => [`${u.uuid}/${u.version}/${u.unit}`, u.state]));
    const supervisor = units.supervisor();
    const actions: (() => void)[] = [];
    for (const entry of state.deployments) {
      for (const unit of entry.units) {
        const id = units.containerOf(entry, unit);
        if (!id) continue;
        const adoption = adoptUnit(containers.get(`${entry.record.uuid}/${entry.record.version}/${unit.name}`), { shouldRun: units.shouldRun(entry, unit), confined: units.isConfined(entry) });
        supervisor.add(id, unit.autoRestart, { running: adoption.running, requested: unit.requested, fault: adoption.fault, ...(adoption.startedAt !== undefined ? { startedAt: adoption.startedAt } : {}) });
        if (adoption.action === 'start' || adoption.action === 'refuse') actions.push(() => { units.activate(entry, unit, true); });
        else if (adoption.action === 'stop') actions.push(() => void units.deactivate(entry, unit));
        else if (adoption.action === 'stop-unconfined') actions.push(() => void units.deactivate(entry, unit).then(() => units.refuseUnconfined(entry, unit)));
      }
    }
    // Every unit is followed before any is started or stopped.
    for (const act of actions) act();
    deps.changed();
  }

  function recover(): Promise<void> {
    if (closed) return Promise.resolve();
    recovering ??= (async () => {
      for (let attempt = 0; !closed; attempt++) {
        try {
          await deps.exclusive(adoptRuntime);
          logger.info('reconciled with the container runtime');
          deps.onRuntimeChange?.();
          return;
        } catch (error) {
          if (attempt === 0) logger.warn({ err: error }, 'container runtime unavailable; retrying');
          await new Promise<void>((resolve) => clock.after(reconnectDelayMs(attempt), resolve));
        }
      }
    })().finally(() => {
      recovering = undefined;
    });
    return recovering;
  }

  /**
   * Operations a crash interrupted: reported failed (what they made was removed by reconciling), or, when already
   * committed, as done.
   */
  async function reportInterrupted(): Promise<void> {
    const interrupted = state.inFlight;
    if (interrupted.length === 0) return;
    state.inFlight = [];
    await deps.save();
    for (const op of interrupted) {
      if (op.committed) {
        // It had done what was asked; reconciling removed what it was still removing.
        deps.emit({
          operation: op.kind,
          uuid: op.uuid ?? '',
          version: op.committed.version,
          execEnv: op.execEnv,
          currentState: op.kind === 'Uninstall' ? 'Uninstalled' : 'Installed',
          duInstance: op.committed.duInstance,
          euInstances: op.committed.euInstances,
          startTime: new Date(op.startedAt),
          completeTime: new Date(clock.now()),
          fault: undefined,
        });
        continue;
      }
      const entry = state.deployments.find((e) => e.record.uuid === op.uuid && e.record.execEnv === op.execEnv);
      deps.emit({
        operation: op.kind,
        uuid: op.uuid ?? '',
        version: entry?.record.version ?? op.version ?? '',
        execEnv: op.execEnv,
        currentState: entry ? 'Installed' : 'Failed',
        duInstance: entry?.instance,
        euInstances: entry?.units.map((u) => u.instance) ?? [],
        startTime: new Date(op.startedAt),
        completeTime: new Date(clock.now()),
        fault: { code: ErrorCode.RequestDenied, message: `the agent stopped during this ${op.kind.toLowerCase()}; nothing of it was kept` },
      });
    }
  }

  return {
    async boot() {
      try {
        await deps.exclusive(adoptRuntime);
      } catch (error) {
        logger.warn({ err: error }, 'container runtime unavailable at start; installed apps are reconciled once it answers');
        void recover();
      }
      // An older berth kept images to remove here; it now goes by name (reconcile), never by image ID.
      delete (state as { orphanImages?: unknown }).orphanImages;
      await reportInterrupted();
    },
    recover,
    sweep() {
      if (closed) return Promise.resolve();
      return deps.exclusive(async () => { await removeUnrecorded(); }).catch((error: unknown) => {
        // The runtime went away (recovery reconciles once it answers) or one listing failed: the next reconcile will.
        logger.warn({ err: error }, 'could not look for leftovers after a DU operation; the next reconcile will');
      });
    },
    close() {
      closed = true;
    },
  };
}
