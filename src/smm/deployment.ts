// Carrying a verified package out on the container runtime, and taking it away again: the image, the app's own
// network when it wants one, its data volumes and one hardened container per execution unit, all labelled so
// berth finds its own things after a crash. Creation is all-or-nothing: on any failure whatever this call
// created is removed again, so no half-installed app is left behind.
import type { Readable } from 'node:stream';
import type { ContainerRuntime, ContainerSpec } from '../runtime/container-runtime.ts';
import { LABEL_DU, LABEL_EU, LABEL_EXECENV, LABEL_MANAGED, LABEL_OWNER, LABEL_VERSION, LABEL_VOLUME } from '../runtime/labels.ts';
import type { PackageManifest } from '../catalog/package/manifest.ts';

export interface ExecEnvPolicy {
  name: string;
  /** The agent's Endpoint ID, labelled on everything it creates. */
  owner: string;
  /** Capabilities apps in this ExecEnv may be given back (none by default). */
  allowedCapabilities: readonly string[];
}

export interface UnitRecord {
  name: string;
  containerId: string;
  containerName: string;
  autoStart: boolean;
  runLevel: number;
  memoryKiB: number;
  cpuPercent: number;
  diskKiB: number;
}

export interface DeploymentRecord {
  uuid: string;
  name: string;
  vendor: string;
  version: string;
  execEnv: string;
  imageId: string;
  network: string | undefined;
  /** `logical` is the manifest's volume name; `unit`/`path` where (first) mounted, to copy data on Update. */
  volumes: { name: string; logical: string; retain: boolean; unit: string; path: string }[];
  units: UnitRecord[];
}

export class DeploymentError extends Error {
  readonly kind: 'POLICY' | 'RUNTIME';
  constructor(kind: DeploymentError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeploymentError';
    this.kind = kind;
  }
}

// Docker object names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. The version is part of container and volume names so that an
// update's new containers and volumes exist next to the old ones: the old version's data stays untouched until
// the new version has proven itself, so a rollback brings back the data as it was.
const safe = (text: string): string => text.replace(/[^a-zA-Z0-9_.-]/g, '_');
export const containerNameOf = (env: string, app: string, unit: string, version: string): string => `berth-${safe(env)}-${safe(app)}-${safe(unit)}-${safe(version)}`;
export const volumeNameOf = (env: string, app: string, volume: string, version: string): string => `berth-${safe(env)}-${safe(app)}-${safe(volume)}-${safe(version)}`;
export const networkNameOf = (env: string, app: string): string => `berth-${safe(env)}-${safe(app)}`;

const TMPFS_KIB = 8 * 1024;
const PIDS_LIMIT = 256;
const LOG_MAX_BYTES = 1024 * 1024;

/** The container of one execution unit: hardened, limited to what the publisher signed. */
export function toContainerSpec(
  manifest: PackageManifest,
  unit: PackageManifest['executionUnits'][number],
  env: string,
  imageId: string,
  network: string | undefined,
  labels: Record<string, string>,
  volumeNames: ReadonlyMap<string, string>,
): ContainerSpec {
  const ports = unit.network.mode === 'published' ? (unit.network.ports ?? []) : [];
  return {
    name: containerNameOf(env, manifest.name, unit.name, manifest.version),
    image: imageId,
    command: unit.command,
    env: unit.env,
    labels: { ...labels, [LABEL_EU]: unit.name },
    memoryKiB: unit.resources.memoryKiB,
    // cpuPercent is percent of one CPU: 100 % = 1e9 NanoCpus.
    nanoCpus: unit.resources.cpuPercent * 10_000_000,
    pidsLimit: PIDS_LIMIT,
    network: unit.network.mode === 'none' || network === undefined ? { mode: 'none' } : { mode: 'network', name: network, ports },
    volumes: unit.volumes.map((v) => ({ name: volumeNames.get(v.name) ?? volumeNameOf(env, manifest.name, v.name, manifest.version), path: v.path })),
    capabilities: unit.capabilities,
    tmpfsKiB: TMPFS_KIB,
    logMaxBytes: LOG_MAX_BYTES,
  };
}

async function imageInUse(runtime: ContainerRuntime, imageId: string): Promise<boolean> {
  return (await runtime.listContainers(`${LABEL_MANAGED}=true`)).some((container) => container.imageId === imageId);
}

/** Where an Update takes the app's data from: the running version's record. */
export interface CarryData {
  from: DeploymentRecord;
  /** Also carry volumes the manifest does not mark `retain` (Update's RetainData=true). */
  includeUnretained: boolean;
}

/**
 * Creates the deployment of `manifest` (image from `openImage`) in ExecEnv `policy.name`. Containers are created,
 * not started. On a fresh install, data volumes kept by an earlier Uninstall(RetainData=true) of the same DU are
 * adopted; for an Update (`forUpdate`) every volume is new, to be filled by carryData() once the old version stopped.
 */
export async function createDeployment(
  runtime: ContainerRuntime,
  options: { uuid: string; manifest: PackageManifest; openImage: () => Readable; policy: ExecEnvPolicy; forUpdate?: boolean; onImageLoaded?: (imageId: string) => Promise<void> },
): Promise<DeploymentRecord> {
  const { manifest, policy, uuid } = options;
  for (const unit of manifest.executionUnits) {
    const refused = unit.capabilities.filter((cap) => !policy.allowedCapabilities.includes(cap));
    if (refused.length > 0) {
      throw new DeploymentError('POLICY', `execution unit ${unit.name} asks for capabilities ExecEnv ${policy.name} does not allow: ${refused.join(', ')}`);
    }
  }
  const labels = { [LABEL_MANAGED]: 'true', [LABEL_OWNER]: policy.owner, [LABEL_DU]: uuid, [LABEL_VERSION]: manifest.version, [LABEL_EXECENV]: policy.name };
  const created = { image: undefined as string | undefined, network: undefined as string | undefined, volumes: [] as string[], containers: [] as string[] };
  try {
    const { imageId } = await runtime.loadImage(options.openImage());
    // An image another deployment already uses is shared, never removed on our account.
    if (!(await imageInUse(runtime, imageId))) created.image = imageId;
    await options.onImageLoaded?.(imageId);
    const wantsNetwork = manifest.executionUnits.some((unit) => unit.network.mode !== 'none');
    let network: string | undefined;
    if (wantsNetwork) {
      network = networkNameOf(policy.name, manifest.name);
      const existing = await runtime.listNetworks(`${LABEL_DU}=${uuid}`);
      if (!existing.some((n) => n.name === network)) {
        await runtime.createNetwork(network, labels);
        created.network = network;
      }
    }
    // Data kept by an earlier Uninstall(RetainData=true): found by label, whatever version created it.
    const retained = new Map<string, string>();
    if (!options.forUpdate) {
      for (const volume of await runtime.listVolumes(`${LABEL_DU}=${uuid}`)) {
        const logical = volume.labels[LABEL_VOLUME];
        if (logical !== undefined && volume.labels[LABEL_EXECENV] === policy.name) retained.set(logical, volume.name);
      }
    }
    const volumeNames = new Map<string, string>();
    const volumes: DeploymentRecord['volumes'] = [];
    for (const unit of manifest.executionUnits) {
      for (const volume of unit.volumes) {
        if (volumeNames.has(volume.name)) continue;
        const name = retained.get(volume.name) ?? volumeNameOf(policy.name, manifest.name, volume.name, manifest.version);
        volumeNames.set(volume.name, name);
        volumes.push({ name, logical: volume.name, retain: volume.retain, unit: unit.name, path: volume.path });
        if (retained.has(volume.name)) continue;
        await runtime.createVolume(name, { ...labels, [LABEL_VOLUME]: volume.name });
        created.volumes.push(name);
      }
    }
    const units: UnitRecord[] = [];
    for (const unit of manifest.executionUnits) {
      const spec = toContainerSpec(manifest, unit, policy.name, imageId, network, labels, volumeNames);
      const containerId = await runtime.createContainer(spec);
      created.containers.push(containerId);
      units.push({
        name: unit.name,
        containerId,
        containerName: spec.name,
        autoStart: unit.autoStart,
        runLevel: unit.runLevel,
        memoryKiB: unit.resources.memoryKiB,
        cpuPercent: unit.resources.cpuPercent,
        diskKiB: unit.resources.diskKiB,
      });
    }
    return { uuid, name: manifest.name, vendor: manifest.vendor, version: manifest.version, execEnv: policy.name, imageId, network, volumes, units };
  } catch (error) {
    // Undo in reverse order; each step is best effort so one failure does not keep the rest behind.
    for (const id of created.containers.reverse()) await runtime.removeContainer(id).catch(() => undefined);
    if (created.network) await runtime.removeNetwork(created.network).catch(() => undefined);
    for (const name of created.volumes) await runtime.removeVolume(name).catch(() => undefined);
    if (created.image && !(await imageInUse(runtime, created.image).catch(() => true))) await runtime.removeImage(created.image).catch(() => undefined);
    if (error instanceof DeploymentError) throw error;
    throw new DeploymentError('RUNTIME', `installing ${manifest.name} ${manifest.version} failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Copies each data volume of the old version the new one also has (by manifest name) into the new volume. Run with
 * the old version stopped, so the copy is consistent; the old volumes stay as they were, for a rollback.
 */
export async function carryData(runtime: ContainerRuntime, carry: CarryData, to: DeploymentRecord): Promise<void> {
  const containerOf = (record: DeploymentRecord, unit: string): string | undefined => record.units.find((u) => u.name === unit)?.containerId;
  for (const target of to.volumes) {
    const source = carry.from.volumes.find((v) => v.logical === target.logical);
    if (!source || !(source.retain || carry.includeUnretained)) continue;
    const fromId = containerOf(carry.from, source.unit);
    const toId = containerOf(to, target.unit);
    if (fromId && toId) await runtime.copyPath(fromId, source.path, toId, target.path);
  }
}

/**
 * Removes a deployment: its containers, its volumes (those marked retain stay when `retainData`), its network
 * unless `keepNetwork` (the version an Update replaces: the new one uses the same network), and its image unless
 * another deployment still uses it.
 */
export async function removeDeployment(runtime: ContainerRuntime, record: DeploymentRecord, options: { retainData: boolean; keepNetwork?: boolean }): Promise<void> {
  const ignoreMissing = (error: unknown): void => {
    if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
  };
  for (const unit of record.units) await runtime.removeContainer(unit.containerId).catch(ignoreMissing);
  if (record.network && !options.keepNetwork) await runtime.removeNetwork(record.network);
  for (const volume of record.volumes) {
    if (options.retainData && volume.retain) continue;
    await runtime.removeVolume(volume.name);
  }
  if (!(await imageInUse(runtime, record.imageId))) await runtime.removeImage(record.imageId).catch(ignoreMissing);
}
