// Execution Unit run state: whether each unit should run (asked for or AutoStart, its ExecEnv enabled and at a high
// enough run level, its network confined), and the Controller's unit controls carried out through the unit
// supervisor (SetRequestedState, Restart, AutoRestart settings, an ExecEnv enabled, disabled or restarted). It owns
// the current supervisor; recovery replaces it with a fresh subscription after a (re)start of the runtime.
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import type { Logger } from '../log.ts';
import type { Clock } from './clock.ts';
import type { DeploymentEntry, SmmState, UnitSettings } from './smm-state.ts';
import { NO_FAULT } from './unit-fault.ts';
import { createUnitSupervisor } from './unit-supervisor.ts';
import type { UnitSupervisor, UnitView } from './unit-supervisor.ts';

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

/** The settings of a unit a Controller may change. */
export type UnitSettingsChange = Partial<Omit<UnitSettings, 'name' | 'euid' | 'instance' | 'createdAt'>>;

export interface UnitRunState {
  /** The supervisor following the units now (replaced by resubscribe()). */
  supervisor(): UnitSupervisor;
  /** A new supervisor on a fresh event subscription; `onLost` when that stream ends (the runtime went away). */
  resubscribe(onLost: (error: unknown) => void): Promise<void>;
  /** App networks the last reconcile could not confine (network → why): their units may not run. */
  setUnconfined(unconfined: readonly { network: string; reason: string }[]): void;
  isConfined(entry: DeploymentEntry): boolean;
  shouldRun(entry: DeploymentEntry, unit: UnitSettings): boolean;
  containerOf(entry: DeploymentEntry, unit: UnitSettings): string | undefined;
  /** Starts the unit unless its network is unconfined (then its fault says why); failures are logged. */
  activate(entry: DeploymentEntry, unit: UnitSettings, autoStarted: boolean): void;
  /** Stops the unit, giving it its ShutdownDelay; failures are logged. */
  deactivate(entry: DeploymentEntry, unit: UnitSettings): Promise<void>;
  /** Whether the unit's network is unconfined; if so its fault says why it does not run. */
  refuseUnconfined(entry: DeploymentEntry, unit: UnitSettings): boolean;
  view(entry: DeploymentEntry, unit: UnitSettings): UnitView;
  startedAt(entry: DeploymentEntry, unit: UnitSettings): number | undefined;
  logs(entry: DeploymentEntry, unit: UnitSettings, maxBytes: number): Promise<string>;
  setRequestedState(entry: DeploymentEntry, unit: UnitSettings, requested: 'Active' | 'Idle'): void;
  restart(entry: DeploymentEntry, unit: UnitSettings): void;
  changeSettings(entry: DeploymentEntry, unit: UnitSettings, change: UnitSettingsChange): void;
  execEnvChanged(execEnv: string): Promise<void>;
  restartExecEnv(execEnv: string): Promise<void>;
  close(): void;
}

export interface UnitRunStateDeps {
  runtime: ContainerRuntime;
  owner: string;
  clock: Clock;
  state: SmmState;
  execEnv(name: string): ExecEnvInfo | undefined;
  /** Saves the state in the background (a unit's requested state or settings changed). */
  saveSoon(): void;
  /** Something a row shows changed. */
  changed(): void;
  logger: Logger;
}

const IDLE_VIEW: UnitView = { status: 'Idle', fault: NO_FAULT, retryCount: 0, lastRestarted: undefined, nextRestart: undefined, activeSince: undefined };

export function createUnitRunState(deps: UnitRunStateDeps): UnitRunState {
  const { runtime, logger, state } = deps;
  let supervisor = createUnitSupervisor(runtime, deps.owner, deps.clock);
  let unconfined = new Map<string, string>();

  const entriesIn = (execEnv: string): DeploymentEntry[] => state.deployments.filter((e) => e.record.execEnv === execEnv);
  const containerOf = (entry: DeploymentEntry, unit: UnitSettings): string | undefined => entry.record.units.find((u) => u.name === unit.name)?.containerId;

  function shouldRun(entry: DeploymentEntry, unit: UnitSettings): boolean {
    const env = deps.execEnv(entry.record.execEnv);
    if (!env?.enabled) return false;
    if (unit.requested !== 'Active') return false;
    return env.currentRunLevel < 0 || unit.runLevel <= env.currentRunLevel;
  }

  /** A unit on a network that is not kept apart from the gateway never runs; says why in its fault. */
  function refuseUnconfined(entry: DeploymentEntry, unit: UnitSettings): boolean {
    const id = containerOf(entry, unit);
    const why = entry.record.network === undefined ? undefined : unconfined.get(entry.record.network);
    if (why !== undefined && id) supervisor.setFault(id, { code: 'UnStartable', message: `its network cannot be kept apart from the gateway: ${why}` });
    return why !== undefined;
  }

  function activate(entry: DeploymentEntry, unit: UnitSettings, autoStarted: boolean): void {
    const id = containerOf(entry, unit);
    if (!id || refuseUnconfined(entry, unit)) return;
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

  return {
    supervisor: () => supervisor,
    async resubscribe(onLost) {
      supervisor.close();
      supervisor = createUnitSupervisor(runtime, deps.owner, deps.clock);
      supervisor.onChange(() => {
        deps.changed();
      });
      await supervisor.start(onLost);
    },
    setUnconfined(list) {
      unconfined = new Map(list.map((u) => [u.network, u.reason]));
    },
    isConfined: (entry) => entry.record.network === undefined || !unconfined.has(entry.record.network),
    shouldRun,
    containerOf,
    activate,
    deactivate,
    refuseUnconfined,
    view(entry, unit) {
      const id = containerOf(entry, unit);
      return (id ? supervisor.view(id) : undefined) ?? IDLE_VIEW;
    },
    startedAt(entry, unit) {
      const id = containerOf(entry, unit);
      return id ? supervisor.view(id)?.activeSince : undefined;
    },
    async logs(entry, unit, maxBytes) {
      const id = containerOf(entry, unit);
      if (!id) return '';
      const text = (await runtime.logs(id, 100_000)).join('\n');
      const bytes = Buffer.from(text);
      return bytes.length <= maxBytes ? text : bytes.subarray(bytes.length - maxBytes).toString('utf8');
    },
    setRequestedState(entry, unit, requested) {
      unit.requested = requested;
      deps.saveSoon();
      if (requested === 'Active') activate(entry, unit, false);
      else void deactivate(entry, unit);
    },
    restart(entry, unit) {
      const id = containerOf(entry, unit);
      if (!id || refuseUnconfined(entry, unit)) return;
      unit.requested = 'Active';
      deps.saveSoon();
      supervisor.restart(id, unit.shutdownDelay).catch((error: unknown) => {
        logger.warn({ err: error, du: entry.record.name, unit: unit.name }, 'restarting an execution unit failed');
      });
    },
    changeSettings(entry, unit, change) {
      Object.assign(unit, change);
      if (change.autoRestart) {
        const id = containerOf(entry, unit);
        if (id) supervisor.setPolicy(id, unit.autoRestart);
      }
      deps.saveSoon();
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
    close() {
      supervisor.close();
    },
  };
}
