// berth owns the liveness of Execution Units (containers run with restart policy `no`): this supervisor follows
// the runtime's event stream, turns it into TR-181 EU Status (Idle, Starting, Active, Stopping) with
// ExecutionFaultCode/Message, and restarts a crashed unit per its AutoRestart policy with the spec's back-off,
// giving up after MaximumRetryCount. A unit berth itself stops is not a crash.
import type { ContainerRuntime, RuntimeEvent } from '../runtime/container-runtime.ts';
import { LABEL_OWNER } from '../runtime/labels.ts';
import { systemClock } from './clock.ts';
import type { Clock, Timer } from './clock.ts';
import { afterCrash } from './restart-backoff.ts';
import type { AutoRestartPolicy } from './restart-backoff.ts';
import { faultOfExit, NO_FAULT } from './unit-fault.ts';
import type { UnitFault } from './unit-fault.ts';

export type UnitStatus = 'Idle' | 'Starting' | 'Active' | 'Stopping' | 'Restarting';

export interface UnitView {
  status: UnitStatus;
  fault: UnitFault;
  retryCount: number;
  lastRestarted: Date | undefined;
  nextRestart: Date | undefined;
  /** When the container last became Active (ms since the epoch), while it is Active. */
  activeSince: number | undefined;
}

interface Unit extends UnitView {
  containerId: string;
  policy: AutoRestartPolicy;
  autoStarted: boolean;
  /** What was last asked for: a `die` after berth was asked for Idle is a stop, not a crash. */
  requested: 'Active' | 'Idle';
  timer: Timer | undefined;
}

export interface UnitSupervisor {
  /**
   * Subscribes to the runtime's events for this agent's containers; resolves once subscribed. `onLost` is called if
   * the stream ends without close() (Docker stopped or restarted): the owner reconciles and starts a new supervisor.
   */
  start(onLost?: (error: unknown) => void): Promise<void>;
  close(): void;
  /** Follows a unit; `running` when its container is already up (adopted after a restart). */
  add(containerId: string, policy: AutoRestartPolicy, options?: { running?: boolean; startedAt?: number; requested?: 'Active' | 'Idle'; fault?: UnitFault }): void;
  setPolicy(containerId: string, policy: AutoRestartPolicy): void;
  /** Restart(): Active/Starting → Restarting → Active (an Idle unit is simply started). */
  restart(containerId: string, shutdownDelaySeconds: number): Promise<void>;
  /** Records a fault berth decided (disk quota, disabled ExecEnv) on an Idle unit. */
  setFault(containerId: string, fault: UnitFault): void;
  remove(containerId: string): void;
  /** SetRequestedState(Active) / AutoStart: Idle → Starting → Active. */
  activate(containerId: string, options?: { autoStarted?: boolean }): Promise<void>;
  /** SetRequestedState(Idle): Starting/Active → Stopping → Idle, giving the app `shutdownDelaySeconds` to exit. */
  deactivate(containerId: string, shutdownDelaySeconds: number): Promise<void>;
  view(containerId: string): UnitView | undefined;
  onChange(listener: (containerId: string, view: UnitView) => void): () => void;
}

export function createUnitSupervisor(runtime: ContainerRuntime, owner: string, clock: Clock = systemClock): UnitSupervisor {
  const units = new Map<string, Unit>();
  const listeners = new Set<(containerId: string, view: UnitView) => void>();
  const abort = new AbortController();

  const snapshot = (unit: Unit): UnitView => ({
    status: unit.status,
    fault: unit.fault,
    retryCount: unit.retryCount,
    lastRestarted: unit.lastRestarted,
    nextRestart: unit.nextRestart,
    activeSince: unit.status === 'Active' ? unit.activeSince : undefined,
  });
  const changed = (unit: Unit): void => {
    for (const listener of listeners) listener(unit.containerId, snapshot(unit));
  };

  async function startContainer(unit: Unit): Promise<void> {
    unit.status = 'Starting';
    changed(unit);
    try {
      await runtime.startContainer(unit.containerId);
    } catch (error) {
      unit.status = 'Idle';
      unit.fault = { code: unit.autoStarted ? 'FailureOnAutoStart' : 'FailureOnStart', message: (error as Error).message };
      changed(unit);
      throw error;
    }
  }

  async function onDie(unit: Unit): Promise<void> {
    if (unit.requested === 'Idle') return; // a stop berth made; deactivate() settles the state
    const state = await runtime.inspectContainer(unit.containerId);
    if (!state || !units.has(unit.containerId)) return;
    const decision = afterCrash(unit.policy, unit.retryCount, state, clock.now());
    unit.retryCount = decision.retryCount;
    unit.fault = faultOfExit(state, unit.autoStarted);
    unit.status = 'Idle';
    unit.nextRestart = decision.restart ? new Date(decision.at) : undefined;
    if (decision.restart) {
      unit.timer = clock.after(decision.delayMs, () => {
        unit.timer = undefined;
        unit.retryCount++;
        unit.lastRestarted = new Date(clock.now());
        unit.nextRestart = undefined;
        startContainer(unit).catch(() => undefined);
      });
    } else if (decision.gaveUp) {
      unit.fault = { ...unit.fault, message: `${unit.fault.message}; gave up after ${unit.retryCount} restarts (MaximumRetryCount)` };
    }
    changed(unit);
  }

  function onEvent(event: RuntimeEvent): void {
    const unit = units.get(event.id);
    if (!unit || event.type !== 'container') return;
    if (event.action === 'start') {
      unit.status = 'Active';
      unit.activeSince = clock.now();
      changed(unit);
    } else if (event.action === 'die') {
      onDie(unit).catch(() => undefined);
    }
  }

  return {
    async start(onLost) {
      const events = await runtime.events(`${LABEL_OWNER}=${owner}`, abort.signal);
      void (async () => {
        let failure: unknown = new Error('the runtime closed its event stream');
        try {
          for await (const event of events) onEvent(event);
        } catch (error) {
          failure = error;
        }
        // The stream ends when Docker stops; the owner reconciles and starts a new supervisor.
        if (!abort.signal.aborted) onLost?.(failure);
      })();
    },
    close() {
      abort.abort();
      for (const unit of units.values()) unit.timer?.cancel();
    },
    add(containerId, policy, options = {}) {
      units.set(containerId, {
        containerId,
        policy,
        autoStarted: false,
        requested: options.requested ?? (options.running ? 'Active' : 'Idle'),
        timer: undefined,
        status: options.running ? 'Active' : 'Idle',
        fault: options.fault ?? NO_FAULT,
        retryCount: 0,
        lastRestarted: undefined,
        nextRestart: undefined,
        activeSince: options.running ? (options.startedAt ?? clock.now()) : undefined,
      });
    },
    setPolicy(containerId, policy) {
      const unit = units.get(containerId);
      if (unit) unit.policy = policy;
    },
    async restart(containerId, shutdownDelaySeconds) {
      const unit = units.get(containerId);
      if (!unit) throw new Error(`unknown unit ${containerId}`);
      if (unit.status === 'Active' || unit.status === 'Starting') {
        unit.requested = 'Idle';
        unit.status = 'Restarting';
        changed(unit);
        try {
          await runtime.stopContainer(containerId, shutdownDelaySeconds);
        } catch (error) {
          unit.status = 'Idle';
          unit.fault = { code: 'FailureOnStop', message: (error as Error).message };
          changed(unit);
          throw error;
        }
        unit.status = 'Idle';
      }
      await this.activate(containerId);
    },
    setFault(containerId, fault) {
      const unit = units.get(containerId);
      if (!unit) return;
      unit.fault = fault;
      changed(unit);
    },
    remove(containerId) {
      const unit = units.get(containerId);
      unit?.timer?.cancel();
      units.delete(containerId);
    },
    async activate(containerId, options = {}) {
      const unit = units.get(containerId);
      if (!unit) throw new Error(`unknown unit ${containerId}`);
      if (unit.status === 'Active' || unit.status === 'Starting') return;
      unit.timer?.cancel();
      unit.timer = undefined;
      unit.autoStarted = options.autoStarted ?? false;
      unit.requested = 'Active';
      unit.fault = NO_FAULT;
      unit.retryCount = 0;
      unit.nextRestart = undefined;
      await startContainer(unit);
    },
    async deactivate(containerId, shutdownDelaySeconds) {
      const unit = units.get(containerId);
      if (!unit) throw new Error(`unknown unit ${containerId}`);
      unit.timer?.cancel();
      unit.timer = undefined;
      unit.nextRestart = undefined;
      unit.requested = 'Idle';
      if (unit.status === 'Idle') return;
      unit.status = 'Stopping';
      changed(unit);
      try {
        await runtime.stopContainer(containerId, shutdownDelaySeconds);
      } catch (error) {
        unit.fault = { code: 'FailureOnStop', message: (error as Error).message };
        throw error;
      } finally {
        unit.status = 'Idle';
        changed(unit);
      }
    },
    view(containerId) {
      const unit = units.get(containerId);
      return unit ? snapshot(unit) : undefined;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
