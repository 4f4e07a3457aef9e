// What recovery does after a crash or a Docker outage, decided from berth's records and what the runtime has, with
// no I/O: which of berth's labelled objects no record knows (removed), which recorded networks to confine again,
// and per recorded unit how it is adopted (running or not, its fault) and whether it must be started or stopped
// to match what was asked for. reconcile.ts and recovery.ts carry these decisions out.
import type { ContainerState } from '../runtime/container-runtime.ts';
import type { DeploymentRecord } from './deployment.ts';
import { NO_FAULT } from './unit-fault.ts';
import type { UnitFault } from './unit-fault.ts';

/** berth's objects on the runtime (those labelled with the agent's owner; every image, with its names). */
export interface RuntimeInventory {
  containers: readonly ContainerState[];
  networks: readonly { id: string; name: string }[];
  volumes: readonly { name: string }[];
  images: readonly { tags: readonly string[] }[];
}

export interface CleanupPlan {
  /** Recorded units with their container's current state. */
  units: { uuid: string; version: string; unit: string; state: ContainerState }[];
  /** Recorded units whose container no longer exists. */
  missing: { uuid: string; version: string; unit: string }[];
  /** Containers, networks, volumes and image names no record (nor Uninstall's retained data) holds. */
  remove: { containers: string[]; networks: { id: string; name: string }[]; volumes: string[]; imageNames: string[] };
  /** Recorded deployments whose network exists: its confinement is applied again. */
  confine: DeploymentRecord[];
}

export function planCleanup(
  records: readonly DeploymentRecord[],
  inventory: RuntimeInventory,
  options: { retainedVolumes: ReadonlySet<string>; imageNamePrefix: string },
): CleanupPlan {
  const containers = new Map(inventory.containers.map((c) => [c.id, c]));
  const plan: CleanupPlan = { units: [], missing: [], remove: { containers: [], networks: [], volumes: [], imageNames: [] }, confine: [] };
  const known = new Set<string>();
  for (const record of records) {
    for (const unit of record.units) {
      known.add(unit.containerId);
      const state = containers.get(unit.containerId);
      if (state) plan.units.push({ uuid: record.uuid, version: record.version, unit: unit.name, state });
      else plan.missing.push({ uuid: record.uuid, version: record.version, unit: unit.name });
    }
  }
  plan.remove.containers = [...containers.keys()].filter((id) => !known.has(id));
  const networks = new Set(records.map((r) => r.network).filter((n): n is string => n !== undefined));
  plan.remove.networks = inventory.networks.filter((n) => !networks.has(n.name)).map((n) => ({ id: n.id, name: n.name }));
  plan.confine = records.filter((r) => r.network !== undefined && inventory.networks.some((n) => n.name === r.network));
  const volumes = new Set(records.flatMap((r) => r.volumes.map((v) => v.name)));
  plan.remove.volumes = inventory.volumes.map((v) => v.name).filter((name) => !volumes.has(name) && !options.retainedVolumes.has(name));
  // Only berth's own image names: an image someone else named is never touched.
  const named = new Set(records.map((r) => r.imageName));
  plan.remove.imageNames = inventory.images.flatMap((image) => image.tags.filter((name) => name.startsWith(options.imageNamePrefix) && !named.has(name)));
  return plan;
}

/** How a recorded unit is followed again, and what brings it to what was asked for. */
export interface UnitAdoption {
  running: boolean;
  /** When its container started (ms since the epoch), if it runs. */
  startedAt: number | undefined;
  fault: UnitFault;
  /** start: it should run and can; refuse: it should run but its network cannot be confined (its fault says so);
   *  stop: it runs but should not; stop-unconfined: it runs on a network that cannot be confined. */
  action: 'start' | 'refuse' | 'stop' | 'stop-unconfined' | 'keep';
}

export function adoptUnit(container: Pick<ContainerState, 'status' | 'startedAt'> | undefined, wanted: { shouldRun: boolean; confined: boolean }): UnitAdoption {
  if (!container) return { running: false, startedAt: undefined, fault: { code: 'UnStartable', message: 'its container is gone (removed outside berth); reinstall the app' }, action: 'keep' };
  const running = container.status === 'running';
  const adopted = { running, startedAt: running ? Date.parse(container.startedAt) : undefined, fault: NO_FAULT };
  if (!running) return { ...adopted, action: wanted.shouldRun ? (wanted.confined ? 'start' : 'refuse') : 'keep' };
  if (!wanted.shouldRun) return { ...adopted, action: 'stop' };
  return { ...adopted, action: wanted.confined ? 'keep' : 'stop-unconfined' };
}

/** Waits between attempts to reach a runtime that does not answer: 0.5 s doubling, at most 10 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** Math.max(0, attempt));
}
