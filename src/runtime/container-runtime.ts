// The port the Software Module Management code drives: what berth needs from a container runtime, in berth's
// terms. docker-runtime.ts implements it on the Docker Engine API; tests may implement it in memory.
import type { Readable } from 'node:stream';

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
  network: { mode: 'none' } | { mode: 'network'; name: string; ports?: readonly { container: number; host: number; protocol: 'tcp' | 'udp' }[] };
  volumes: readonly { name: string; path: string }[];
  /** Linux capabilities granted back after dropping all. */
  capabilities: readonly string[];
  tmpfsKiB: number;
  /** Per-container log cap, so logs cannot fill the disk. */
  logMaxBytes: number;
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

export class RuntimeError extends Error {
  readonly code: 'UNAVAILABLE' | 'NOT_FOUND' | 'CONFLICT' | 'BAD_IMAGE' | 'FAILED';
  constructor(code: RuntimeError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
    this.code = code;
  }
}

export interface ContainerRuntime {
  ping(): Promise<void>;
  /** The engine's own version (reported as ExecEnv.{i}.Version). */
  engineVersion(): Promise<string>;
  loadImage(archive: Readable): Promise<{ imageId: string; tags: string[] }>;
  removeImage(imageId: string): Promise<void>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  inspectContainer(id: string, withSize?: boolean): Promise<ContainerState | undefined>;
  listContainers(label: string): Promise<ContainerState[]>;
  createVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  listVolumes(label: string): Promise<{ name: string; labels: Record<string, string> }[]>;
  createNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<string>;
  removeNetwork(idOrName: string): Promise<void>;
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
