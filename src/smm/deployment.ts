// Carrying a verified package out on the container runtime, and taking it away again: the image (under berth's
// own name), the app's own confined network when it wants one, its data volumes and one hardened container per
// execution unit, all labelled so berth finds its own things after a crash. Nothing is created for an app that
// breaks its ExecEnv's policy (exec-env-policy.ts). Creation is all-or-nothing: on any failure whatever this
// call created is removed again, so no half-installed app is left behind — and nothing that was there before.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BerthError } from '../errors/berth-error.ts';
import { ErrorCode } from '../usp/errors.ts';
import { RuntimeError } from '../runtime/container-runtime.ts';
import type { ContainerRuntime, ContainerSpec, EgressRules } from '../runtime/container-runtime.ts';
import { LABEL_DU, LABEL_EU, LABEL_EXECENV, LABEL_MANAGED, LABEL_OWNER, LABEL_VERSION, LABEL_VOLUME } from '../runtime/labels.ts';
import type { PackageManifest } from '../catalog/package/manifest.ts';
import { egressAsked, egressRules, portConflicts, policyViolations } from './exec-env-policy.ts';
import type { EgressKind, ExecEnvIsolation, ExecEnvNetworkPolicy, PublishedPort } from './exec-env-policy.ts';

export interface ExecEnvPolicy extends ExecEnvIsolation {
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
  /**
   * berth's own name for the image, which keeps it on the host while the deployment lives. Absent when the image
   * was on the host before without a name (berth never removes it), and in records of an older berth.
   */
  imageName?: string | undefined;
  network: string | undefined;
  /** What the app's network may reach beyond itself (granted at install; absent in older records: nothing). */
  egress?: EgressKind[] | undefined;
  /** `logical` is the manifest's volume name; `unit`/`path` where (first) mounted, to copy data on Update. */
  volumes: { name: string; logical: string; retain: boolean; unit: string; path: string }[];
  units: UnitRecord[];
}

/**
 * POLICY: the app does not fit the ExecEnv's policy; IMAGE: its image cannot be loaded as it is; TAKEN: a host port it
 * wants is another app's; RUNTIME: the runtime failed (no USP code: the agent's own failure, 7003, logged with its stack).
 */
export type DeploymentErrorCode = 'POLICY' | 'IMAGE' | 'TAKEN' | 'RUNTIME';

const USP_ERROR_CODE_OF: Readonly<Record<DeploymentErrorCode, number | undefined>> = {
  POLICY: ErrorCode.DuToExecEnvMismatch,
  IMAGE: ErrorCode.DuToExecEnvMismatch,
  TAKEN: ErrorCode.SystemResourcesExceeded,
  RUNTIME: undefined,
};

export class DeploymentError extends BerthError {
  declare readonly code: DeploymentErrorCode;
  constructor(code: DeploymentErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { uspErrorCode: USP_ERROR_CODE_OF[code], cause: options.cause });
    this.name = 'DeploymentError';
  }
}

// Docker object names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. The version is part of container and volume names so that an
// update's new containers and volumes exist next to the old ones: the old version's data stays untouched until
// the new version has proven itself, so a rollback brings back the data as it was.
const safe = (text: string): string => text.replace(/[^a-zA-Z0-9_.-]/g, '_');
export const containerNameOf = (env: string, app: string, unit: string, version: string): string => `berth-${safe(env)}-${safe(app)}-${safe(unit)}-${safe(version)}`;
export const volumeNameOf = (env: string, app: string, volume: string, version: string): string => `berth-${safe(env)}-${safe(app)}-${safe(volume)}-${safe(version)}`;
export const networkNameOf = (env: string, app: string): string => `berth-${safe(env)}-${safe(app)}`;

// Image names: `berth/<agent>/<execenv>/<app>:<version>-<hash>`, lower-case as Docker wants them; the hash keeps
// apart deployments whose names would otherwise meet (ExecEnvs `Apps` and `apps`, versions `1.0.0+a` and `1.0.0_a`).
const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
/** Every image name this agent gives starts with this. */
export const imageNamePrefixOf = (owner: string): string => `berth/${slug(owner)}/`;
export function imageNameOf(owner: string, env: string, app: string, uuid: string, version: string): string {
  const hash = createHash('sha256').update(`${env}\n${uuid}\n${version}`).digest('hex').slice(0, 8);
  return `${imageNamePrefixOf(owner)}${slug(env)}/${slug(app)}:${version.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100)}-${hash}`;
}

/** The firewall's view of a deployment's egress, as far as the ExecEnv allows it today. */
export function egressRulesOf(record: Pick<DeploymentRecord, 'egress'>, network: Pick<ExecEnvNetworkPolicy, 'egress' | 'lanSubnets'>): EgressRules {
  return egressRules(record.egress ?? [], network);
}

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
  publishAddress: string,
): ContainerSpec {
  const ports = unit.network.mode === 'published' ? (unit.network.ports ?? []).map((p) => ({ ...p, address: publishAddress })) : [];
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
    user: unit.user,
    network: unit.network.mode === 'none' || network === undefined ? { mode: 'none' } : { mode: 'network', name: network, ports },
    volumes: unit.volumes.map((v) => ({ name: volumeNames.get(v.name) ?? volumeNameOf(env, manifest.name, v.name, manifest.version), path: v.path })),
    capabilities: unit.capabilities,
    tmpfsKiB: TMPFS_KIB,
    logMaxBytes: LOG_MAX_BYTES,
  };
}

/** Host ports berth's containers publish, but those of the deployment an Update replaces (same DU and ExecEnv). */
async function portsTaken(runtime: ContainerRuntime, uuid: string, execEnv: string): Promise<PublishedPort[]> {
  const taken: PublishedPort[] = [];
  for (const container of await runtime.listContainers(`${LABEL_MANAGED}=true`)) {
    const env = container.labels[LABEL_EXECENV];
    if (container.labels[LABEL_DU] === uuid && env === execEnv) continue;
    // Another tenant's app is not named to this one's Controller.
    const holder = env === execEnv ? `container ${container.name}` : 'an app in another ExecEnv';
    for (const port of container.ports) taken.push({ host: port.host, protocol: port.protocol, holder });
  }
  return taken;
}

/**
 * Paths the image declares as VOLUME that a unit does not mount: Docker would give each an anonymous volume,
 * counted against nothing and never removed. /tmp is berth's tmpfs in every unit.
 */
function unmountedImageVolumes(units: PackageManifest['executionUnits'], imageVolumes: readonly string[]): string[] {
  const problems: string[] = [];
  for (const path of imageVolumes.map((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p))) {
    if (path === '/tmp') continue;
    const missing = units.filter((unit) => !unit.volumes.some((v) => v.path === path)).map((unit) => unit.name);
    if (missing.length > 0) {
      problems.push(`the image declares VOLUME ${path}, which execution unit ${missing.join(', ')} does not mount: list it in the unit's volumes (a data volume counted against its disk and removed with the app)`);
    }
  }
  return problems;
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
  options: { uuid: string; manifest: PackageManifest; openImage: () => Readable; policy: ExecEnvPolicy; forUpdate?: boolean },
): Promise<DeploymentRecord> {
  const { manifest, policy, uuid } = options;
  const refused = policyViolations(manifest.executionUnits, policy);
  if (refused.length > 0) throw new DeploymentError('POLICY', refused.join('; '));
  const taken = await portsTaken(runtime, uuid, policy.name).catch((error: unknown) => {
    throw asDeploymentError(manifest, error);
  });
  const clashes = portConflicts(manifest.executionUnits, taken);
  if (clashes.length > 0) throw new DeploymentError('TAKEN', clashes.join('; '));
  const labels = { [LABEL_MANAGED]: 'true', [LABEL_OWNER]: policy.owner, [LABEL_DU]: uuid, [LABEL_VERSION]: manifest.version, [LABEL_EXECENV]: policy.name };
  const created = { imageName: undefined as string | undefined, network: undefined as string | undefined, volumes: [] as string[], containers: [] as string[] };
  try {
    const namesBefore = new Map((await runtime.listImages()).map((image) => [image.id, image.tags.length]));
    const { imageId } = await runtime.loadImage(options.openImage());
    // A name is what keeps an image on the host. One that was there before without a name (a build's layer, an
    // image kept by ID) is used as it is: berth never names it, so nothing berth does can remove it.
    let imageName: string | undefined;
    if (namesBefore.get(imageId) !== 0) {
      imageName = imageNameOf(policy.owner, policy.name, manifest.name, uuid, manifest.version);
      await runtime.tagImage(imageId, imageName);
      created.imageName = imageName;
    }
    const undeclared = unmountedImageVolumes(manifest.executionUnits, (await runtime.inspectImage(imageId))?.volumes ?? []);
    if (undeclared.length > 0) throw new DeploymentError('POLICY', undeclared.join('; '));
    const wantsNetwork = manifest.executionUnits.some((unit) => unit.network.mode !== 'none');
    const egress = egressAsked(manifest.executionUnits);
    let network: string | undefined;
    if (wantsNetwork) {
      network = networkNameOf(policy.name, manifest.name);
      const rules = egressRulesOf({ egress }, policy.network);
      const existing = await runtime.listNetworks(`${LABEL_DU}=${uuid}`);
      if (existing.some((n) => n.name === network)) {
        // An Update shares the app's network; its egress is the new version's from now on (a rollback puts the old back).
        await runtime.confineNetwork(network, rules);
      } else {
        await runtime.createNetwork(network, labels, rules);
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
      const spec = toContainerSpec(manifest, unit, policy.name, imageId, network, labels, volumeNames, policy.network.publishAddress);
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
    return { uuid, name: manifest.name, vendor: manifest.vendor, version: manifest.version, execEnv: policy.name, imageId, imageName, network, egress, volumes, units };
  } catch (error) {
    // Undo in reverse order; each step is best effort so one failure does not keep the rest behind.
    for (const id of created.containers.reverse()) await runtime.removeContainer(id).catch(() => undefined);
    if (created.network) await runtime.removeNetwork(created.network).catch(() => undefined);
    for (const name of created.volumes) await runtime.removeVolume(name).catch(() => undefined);
    // Only berth's name goes: an image with other names, or used by a container, stays.
    if (created.imageName) await runtime.untagImage(created.imageName).catch(() => undefined);
    throw asDeploymentError(manifest, error);
  }
}

function asDeploymentError(manifest: PackageManifest, error: unknown): DeploymentError {
  if (error instanceof DeploymentError) return error;
  if (error instanceof RuntimeError && error.code === 'BAD_IMAGE') return new DeploymentError('IMAGE', `the image of ${manifest.name} ${manifest.version} cannot be loaded: ${error.message}`, { cause: error });
  return new DeploymentError('RUNTIME', `installing ${manifest.name} ${manifest.version} failed: ${(error as Error).message}`, { cause: error });
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
 * unless `keepNetwork` (the version an Update replaces: the new one uses the same network), and berth's name for
 * its image — the image goes with it unless it has other names (another deployment's, the host's) or a container
 * still uses it.
 */
export async function removeDeployment(runtime: ContainerRuntime, record: DeploymentRecord, options: { retainData: boolean; keepNetwork?: boolean }): Promise<void> {
  const ignoreMissing = (error: unknown): void => {
    if (!(error instanceof RuntimeError && error.code === 'NOT_FOUND')) throw error;
  };
  for (const unit of record.units) await runtime.removeContainer(unit.containerId).catch(ignoreMissing);
  if (record.network && !options.keepNetwork) await runtime.removeNetwork(record.network);
  for (const volume of record.volumes) {
    if (options.retainData && volume.retain) continue;
    await runtime.removeVolume(volume.name);
  }
  // CONFLICT: a container outside berth uses the image; the name stays, and the next reconcile tries again.
  if (record.imageName) {
    await runtime.untagImage(record.imageName).catch((error: unknown) => {
      if (!(error instanceof RuntimeError && error.code === 'CONFLICT')) throw error;
    });
  }
}
