// The port the Software Module Management code drives: what berth needs from a container runtime, in berth's
// terms. docker-runtime.ts implements it on the Docker Engine API; tests may implement it in memory.
import type { Readable } from 'node:stream';
import { BerthError } from '../errors/berth-error.ts';

export interface ContainerSpec {
  name: string;
  image: string;
  command: readonly string[];
  env: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  /** Hard memory limit; swap is not added on top. */
  memoryKiB: number;
  /** CPU limit in billionths of a CPU (Docker NanoCpus): 50 % of one CPU = 500_000_000. */
  nanoCpus: number;
  pidsLimit: number;
  /** Numeric `uid:gid` the process runs as (never the image's own USER). */
  user: string;
  network: { mode: 'none' } | { mode: 'network'; name: string; ports?: readonly PortBinding[] };
  volumes: readonly { name: string; path: string }[];
  /** Linux capabilities granted back after dropping all. */
  capabilities: readonly string[];
  tmpfsKiB: number;
  /** Per-container log cap, so logs cannot fill the disk. */
  logMaxBytes: number;
}

/** A container port published on one host address. */
export interface PortBinding {
  container: number;
  host: number;
  protocol: 'tcp' | 'udp';
  /** The host address it binds to (never all interfaces unless the ExecEnv's policy says 0.0.0.0). */
  address: string;
}

/**
 * Where a network's containers may open connections beyond their own network, checked in this order: `allow`
 * (IPv4 subnets) is reachable, then `deny` is not, then everything else only if `others`. The host itself (every
 * address of the gateway) and other networks are never reachable, whatever this says.
 */
export interface EgressRules {
  allow: readonly string[];
  deny: readonly string[];
  others: boolean;
}

export interface ImageInfo {
  id: string;
  /** Its names (repository:tag). */
  tags: string[];
  /** Paths the image declares as VOLUME: Docker would give each an anonymous volume nobody counts or removes. */
  volumes: string[];
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  id: string;
  name: string;
  imageId: string;
  labels: Record<string, string>;
  status: ContainerStatus;
  exitCode: number;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  /** Host ports it publishes (whether or not it runs). */
  ports: { host: number; protocol: 'tcp' | 'udp'; address: string }[];
  /** Bytes written to the container's own layer, when asked for. */
  writableBytes?: number;
}

export interface ContainerUsage {
  memoryBytes: number;
  /** Percent of one CPU over the sampling interval. */
  cpuPercent: number;
}

export interface RuntimeEvent {
  type: 'container' | 'image' | 'volume' | 'network';
  action: string;
  id: string;
  labels: Record<string, string>;
  exitCode?: number;
  time: number;
}

export class RuntimeError extends BerthError {
  declare readonly code: 'UNAVAILABLE' | 'NOT_FOUND' | 'CONFLICT' | 'BAD_IMAGE' | 'FAILED';
  constructor(code: RuntimeError['code'], message: string, options: { cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.name = 'RuntimeError';
  }
}

export interface ContainerRuntime {
  ping(): Promise<void>;
  /** The engine's own version (reported as ExecEnv.{i}.Version). */
  engineVersion(): Promise<string>;
  /**
   * Loads a `docker save` archive without the names (RepoTags) it carries: a package cannot rename an image the host
   * uses. The image is referenced by its ID until tagImage() gives it berth's own name.
   */
  loadImage(archive: Readable): Promise<{ imageId: string }>;
  inspectImage(idOrName: string): Promise<ImageInfo | undefined>;
  /** Gives the image a name (`repository:tag`), moving that name if another image had it. */
  tagImage(imageId: string, name: string): Promise<void>;
  /**
   * Takes a name away; the image itself goes with its last name unless a container uses it (then the name stays:
   * RuntimeError CONFLICT). An image that had other names before keeps them and stays. A missing name is no error.
   */
  untagImage(name: string): Promise<void>;
  /** Every image on the host, intermediate ones included, with its names. */
  listImages(): Promise<{ id: string; tags: string[] }[]>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  inspectContainer(id: string, withSize?: boolean): Promise<ContainerState | undefined>;
  listContainers(label: string): Promise<ContainerState[]>;
  createVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  listVolumes(label: string): Promise<{ name: string; labels: Record<string, string> }[]>;
  /**
   * A network for one app, confined from the start: its containers reach each other, what `egress` allows, and never
   * the host (any of its addresses) nor another network. Fails rather than leave a network unconfined.
   */
  createNetwork(name: string, labels: Readonly<Record<string, string>>, egress: EgressRules): Promise<string>;
  /** (Re)applies a network's confinement: after a reboot (the host's firewall rules are gone) or a policy change. */
  confineNetwork(idOrName: string, egress: EgressRules): Promise<void>;
  /** Removes the network and its confinement rules. */
  removeNetwork(idOrName: string): Promise<void>;
  /** Removes the confinement rules of networks that no longer exist; returns their names. */
  pruneNetworkRules(): Promise<string[]>;
  listNetworks(label: string): Promise<{ id: string; name: string; labels: Record<string, string> }[]>;
  usage(id: string): Promise<ContainerUsage>;
  /** Disk in use, in bytes: each container's writable layer (by id) and each volume (by name). */
  diskUsage(): Promise<{ containers: Map<string, number>; volumes: Map<string, number> }>;
  /**
   * Copies the contents of directory `fromPath` in container `fromId` into `toPath` in container `toId`. Both may be
   * stopped (created, not started); used to carry an app's data volumes over to the volumes of a new version.
   */
  copyPath(fromId: string, fromPath: string, toId: string, toPath: string): Promise<void>;
  logs(id: string, tail: number): Promise<string[]>;
  /** Resolves once the subscription is live, so nothing that happens after it is missed. */
  events(label: string, signal: AbortSignal): Promise<AsyncIterable<RuntimeEvent>>;
}
