// After a restart (or a Docker outage) berth's records and the runtime are brought back in line, by label: the
// containers, networks and volumes of recorded deployments are adopted as they are (running apps keep running);
// labelled objects no record knows — left by an operation a crash interrupted — are removed; recorded units
// whose container is gone are reported, so their EU can show a fault instead of pretending.
import type { ContainerRuntime, ContainerState } from '../runtime/container-runtime.ts';
import { LABEL_OWNER } from '../runtime/labels.ts';
import type { DeploymentRecord } from './deployment.ts';

export interface ReconcileResult {
  /** Recorded units with their container's current state. */
  units: { uuid: string; version: string; unit: string; state: ContainerState }[];
  /** Recorded units whose container no longer exists. */
  missing: { uuid: string; version: string; unit: string }[];
  removed: { containers: string[]; networks: string[]; volumes: string[] };
}

export async function reconcile(
  runtime: ContainerRuntime,
  /** The agent's Endpoint ID: only objects labelled with it are considered. */
  owner: string,
  records: readonly DeploymentRecord[],
  options: { /** Volumes kept on purpose without a deployment (Uninstall with RetainData). */ retainedVolumes: ReadonlySet<string> },
): Promise<ReconcileResult> {
  const managed = `${LABEL_OWNER}=${owner}`;
  const containers = new Map((await runtime.listContainers(managed)).map((c) => [c.id, c]));
  const result: ReconcileResult = { units: [], missing: [], removed: { containers: [], networks: [], volumes: [] } };
  const known = new Set<string>();
  for (const record of records) {
    for (const unit of record.units) {
      known.add(unit.containerId);
      const state = containers.get(unit.containerId);
      if (state) result.units.push({ uuid: record.uuid, version: record.version, unit: unit.name, state });
      else result.missing.push({ uuid: record.uuid, version: record.version, unit: unit.name });
    }
  }
  for (const [id] of containers) {
    if (known.has(id)) continue;
    await runtime.removeContainer(id);
    result.removed.containers.push(id);
  }
  const networks = new Set(records.map((r) => r.network).filter((n): n is string => n !== undefined));
  for (const network of await runtime.listNetworks(managed)) {
    if (networks.has(network.name)) continue;
    await runtime.removeNetwork(network.id);
    result.removed.networks.push(network.name);
  }
  const volumes = new Set(records.flatMap((r) => r.volumes.map((v) => v.name)));
  for (const volume of await runtime.listVolumes(managed)) {
    if (volumes.has(volume.name) || options.retainedVolumes.has(volume.name)) continue;
    await runtime.removeVolume(volume.name);
    result.removed.volumes.push(volume.name);
  }
  return result;
}
