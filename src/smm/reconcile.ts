// After a restart (or a Docker outage) berth's records and the runtime are brought back in line, by label: the
// containers, networks and volumes of recorded deployments are adopted as they are (running apps keep running);
// labelled objects no record knows — left by an operation a crash interrupted — are removed, as are berth's image
// names no record holds; recorded units whose container is gone are reported, so their EU can show a fault
// instead of pretending. Recorded networks are confined again (a reboot empties the host's firewall, and the
// ExecEnv's policy may have changed), and firewall rules of networks that are gone are removed. What goes and
// what stays is decided by planCleanup (recovery-plan.ts); this carries it out.
import { RuntimeError } from '../runtime/container-runtime.ts';
import type { ContainerRuntime, ContainerState, EgressRules } from '../runtime/container-runtime.ts';
import { LABEL_OWNER } from '../runtime/labels.ts';
import { imageNamePrefixOf } from './deployment.ts';
import type { DeploymentRecord } from './deployment.ts';
import { planCleanup } from './recovery-plan.ts';

export interface ReconcileResult {
  /** Recorded units with their container's current state. */
  units: { uuid: string; version: string; unit: string; state: ContainerState }[];
  /** Recorded units whose container no longer exists. */
  missing: { uuid: string; version: string; unit: string }[];
  /** Recorded networks that could not be confined: their units must not run. */
  unconfined: { network: string; reason: string }[];
  removed: { containers: string[]; networks: string[]; volumes: string[]; imageNames: string[]; networkRules: string[] };
  /** Leftovers Docker would not remove (a container outside berth uses them): tried again at the next reconcile. */
  notRemoved: { object: string; reason: string }[];
}

export async function reconcile(
  runtime: ContainerRuntime,
  /** The agent's Endpoint ID: only objects labelled with it are considered. */
  owner: string,
  records: readonly DeploymentRecord[],
  options: {
    /** Volumes kept on purpose without a deployment (Uninstall with RetainData). */
    retainedVolumes: ReadonlySet<string>;
    /** What a recorded deployment's network may reach. */
    egressOf: (record: DeploymentRecord) => EgressRules;
  },
): Promise<ReconcileResult> {
  const managed = `${LABEL_OWNER}=${owner}`;
  const inventory = {
    containers: await runtime.listContainers(managed),
    networks: await runtime.listNetworks(managed),
    volumes: await runtime.listVolumes(managed),
    images: await runtime.listImages(),
  };
  const plan = planCleanup(records, inventory, { retainedVolumes: options.retainedVolumes, imageNamePrefix: imageNamePrefixOf(owner) });
  const result: ReconcileResult = { units: plan.units, missing: plan.missing, unconfined: [], removed: { containers: [], networks: [], volumes: [], imageNames: [], networkRules: [] }, notRemoved: [] };
  // One leftover Docker refuses to remove must not keep recovery (and so every installed app) waiting: only a
  // runtime that does not answer fails the reconcile.
  const tryRemoving = async (object: string, remove: () => Promise<void>): Promise<boolean> => {
    try {
      await remove();
      return true;
    } catch (error) {
      if (error instanceof RuntimeError && error.code === 'UNAVAILABLE') throw error;
      result.notRemoved.push({ object, reason: (error as Error).message });
      return false;
    }
  };
  for (const id of plan.remove.containers) {
    if (await tryRemoving(`container ${id}`, () => runtime.removeContainer(id))) result.removed.containers.push(id);
  }
  for (const network of plan.remove.networks) {
    if (await tryRemoving(`network ${network.name}`, () => runtime.removeNetwork(network.id))) result.removed.networks.push(network.name);
  }
  for (const record of plan.confine) {
    try {
      await runtime.confineNetwork(record.network!, options.egressOf(record));
    } catch (error) {
      if (error instanceof RuntimeError && error.code === 'UNAVAILABLE') throw error;
      result.unconfined.push({ network: record.network!, reason: (error as Error).message });
    }
  }
  try {
    result.removed.networkRules = await runtime.pruneNetworkRules();
  } catch (error) {
    // Rules of networks that are gone confine nothing: failing to remove them keeps no app down.
    if (error instanceof RuntimeError && error.code === 'UNAVAILABLE') throw error;
  }
  for (const name of plan.remove.volumes) {
    if (await tryRemoving(`volume ${name}`, () => runtime.removeVolume(name))) result.removed.volumes.push(name);
  }
  for (const name of plan.remove.imageNames) {
    try {
      await runtime.untagImage(name);
      result.removed.imageNames.push(name);
    } catch (error) {
      // A container outside berth uses it: the name stays until it does not.
      if (!(error instanceof RuntimeError && error.code === 'CONFLICT')) throw error;
    }
  }
  return result;
}
