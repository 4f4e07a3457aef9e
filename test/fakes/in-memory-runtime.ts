// ContainerRuntime in memory, for tests of the code that drives it (Software Module Management): it behaves as
// docker-runtime.ts does on the real Docker Engine (test/contract/container-runtime-contract.ts holds both to the
// same behaviour), and a test controls what only a real host would decide: a process exits with a code or is
// OOM-killed, the memory and CPU it uses, what it logs, the disk it fills, Docker going away, one call failing.
// Everything happens at once: no process runs, no time passes but the injected clock's.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RuntimeError } from '../../src/runtime/container-runtime.ts';
import type { ContainerRuntime, ContainerSpec, ContainerState, ContainerStatus, ContainerUsage, EgressRules, ImageInfo, RuntimeEvent } from '../../src/runtime/container-runtime.ts';
import { FakeEventHub, labelMatches } from './fake-event-hub.ts';
import { FakeImageLoadError, readImageArchive } from './fake-image-archive.ts';

export type RuntimeOperation = keyof ContainerRuntime;

/** Docker's "never": the StartedAt/FinishedAt of a container that has not started/finished yet. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
const SIGTERM_EXIT = 143;
const SIGKILL_EXIT = 137;
/** What Docker records as ExitCode when a start fails (a port already taken). */
const START_FAILED_EXIT = 128;
const DEFAULT_MEMORY_BYTES = 1024 * 1024;

export interface FakeImage {
  id: string;
  tags: string[];
  volumes: string[];
}

export interface FakeContainer {
  readonly id: string;
  readonly name: string;
  readonly spec: ContainerSpec;
  readonly imageId: string;
  status: ContainerStatus;
  exitCode: number;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  writableBytes: number;
  logs: string[];
  usage: ContainerUsage;
  /** What the process does on `docker stop`: exits with `exitCode` on SIGTERM, or ignores it and is killed. */
  stop: { ignoresTerm: boolean; exitCode: number };
}

export interface FakeVolume {
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Its contents by path inside the volume; copyPath() copies them. */
  files: Map<string, string>;
  /** Overrides the size diskUsage() reports (else the contents' length). */
  bytes: number | undefined;
}

export interface FakeNetwork {
  readonly id: string;
  readonly name: string;
  readonly labels: Record<string, string>;
}

export interface FailureOptions {
  /** The error the call rejects with (default: RuntimeError FAILED). */
  error?: Error;
  /** The call does what it was asked and then fails, as when the answer is lost on the way back. */
  afterEffect?: boolean;
}

export interface InMemoryRuntimeOptions {
  /** The clock of StartedAt, FinishedAt and event times (ms since the epoch). */
  now?: () => number;
  engineVersion?: string;
}

const newId = (): string => randomBytes(32).toString('hex');
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^\w[\w.-]{0,127}$/;

/** `repo` alone means `repo:latest`, as Docker reads an image reference. */
function normalTag(name: string): string {
  return name.lastIndexOf(':') > name.lastIndexOf('/') ? name : `${name}:latest`;
}

export class InMemoryRuntime implements ContainerRuntime {
  readonly #now: () => number;
  readonly #engineVersion: string;
  readonly #events = new FakeEventHub();
  readonly #images = new Map<string, FakeImage>();
  readonly #containers = new Map<string, FakeContainer>();
  readonly #volumes = new Map<string, FakeVolume>();
  readonly #networks = new Map<string, FakeNetwork>();
  /** berth's firewall rules by network name: they outlive a network removed behind berth's back. */
  readonly #firewall = new Map<string, EgressRules>();
  /** Containers whose usage was sampled: the adapter reports 0 % CPU on a container's first sample. */
  readonly #sampled = new Set<string>();
  readonly #failures = new Map<RuntimeOperation, FailureOptions[]>();
  readonly #startHandlers = new Set<(container: FakeContainer) => void>();
  #outage = false;
  /** Every call made, in order, with its arguments (a stop's timeout, a container's spec). */
  readonly calls: { operation: RuntimeOperation; args: unknown[] }[] = [];

  constructor(options: InMemoryRuntimeOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#engineVersion = options.engineVersion ?? '20.10.24-fake';
  }

  // ---- ContainerRuntime ----

  ping(): Promise<void> {
    return this.#call('ping', 'ping', [], () => undefined);
  }

  engineVersion(): Promise<string> {
    return this.#call('engineVersion', 'version', [], () => this.#engineVersion);
  }

  loadImage(archive: Readable): Promise<{ imageId: string }> {
    return this.#call('loadImage', 'load image', [], async () => {
      let loaded;
      try {
        loaded = await readImageArchive(archive);
      } catch (error) {
        if (!(error instanceof FakeImageLoadError)) throw error;
        throw new RuntimeError('BAD_IMAGE', error.beforeEngine ? error.message : `docker load refused the image: ${error.message}`);
      }
      // Loading an image that is already there changes nothing, its names included.
      if (!this.#images.has(loaded.imageId)) this.#images.set(loaded.imageId, { id: loaded.imageId, tags: [], volumes: loaded.volumes });
      return { imageId: loaded.imageId };
    });
  }

  inspectImage(idOrName: string): Promise<ImageInfo | undefined> {
    return this.#call('inspectImage', `inspect image ${idOrName}`, [idOrName], () => {
      const image = this.#findImage(idOrName);
      return image ? { id: image.id, tags: [...image.tags], volumes: [...image.volumes] } : undefined;
    });
  }

  tagImage(imageId: string, name: string): Promise<void> {
    const what = `name image ${imageId} ${name}`;
    return this.#call('tagImage', what, [imageId, name], () => {
      const image = this.#findImage(imageId);
      if (!image) throw new RuntimeError('NOT_FOUND', `${what}: No such image: ${imageId}`);
      const colon = name.lastIndexOf(':');
      if (colon <= 0 || !REPOSITORY.test(name.slice(0, colon)) || !TAG.test(name.slice(colon + 1))) throw new RuntimeError('FAILED', `${what}: invalid reference format`);
      for (const other of this.#images.values()) other.tags = other.tags.filter((tag) => tag !== name);
      image.tags.push(name);
    });
  }

  untagImage(name: string): Promise<void> {
    const what = `remove image name ${name}`;
    return this.#call('untagImage', what, [name], () => {
      const image = this.#findImage(name);
      if (!image) return;
      const byName = image.tags.includes(normalTag(name));
      if (byName && image.tags.length > 1) {
        image.tags = image.tags.filter((tag) => tag !== normalTag(name));
        return;
      }
      if (!byName && image.tags.length > 1) throw new RuntimeError('CONFLICT', `${what}: conflict: unable to delete ${image.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
      const user = [...this.#containers.values()].find((container) => container.imageId === image.id);
      if (user) throw new RuntimeError('CONFLICT', `${what}: conflict: unable to remove repository reference "${name}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image ${image.id.slice(7, 19)}`);
      this.#images.delete(image.id);
    });
  }

  listImages(): Promise<{ id: string; tags: string[] }[]> {
    return this.#call('listImages', 'list images', [], () => [...this.#images.values()].map((image) => ({ id: image.id, tags: [...image.tags] })));
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    const what = `create container ${spec.name}`;
    return this.#call('createContainer', what, [spec], () => {
      if (!NAME.test(spec.name)) throw new RuntimeError('FAILED', `${what}: Invalid container name (${spec.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      const holder = [...this.#containers.values()].find((container) => container.name === spec.name);
      if (holder) throw new RuntimeError('CONFLICT', `${what}: Conflict. The container name "/${spec.name}" is already in use by container "${holder.id}"`);
      const image = this.#findImage(spec.image);
      if (!image) throw new RuntimeError('NOT_FOUND', `${what}: No such image: ${spec.image}`);
      // Docker creates a named volume a container mounts if it does not exist yet (with no labels); the network is
      // only looked for when the container starts.
      for (const volume of spec.volumes) if (!this.#volumes.has(volume.name)) this.#volumes.set(volume.name, { name: volume.name, labels: {}, files: new Map(), bytes: undefined });
      const container: FakeContainer = {
        id: newId(),
        name: spec.name,
        spec: structuredClone(spec),
        imageId: image.id,
        status: 'created',
        exitCode: 0,
        oomKilled: false,
        startedAt: ZERO_TIME,
        finishedAt: ZERO_TIME,
        writableBytes: 0,
        logs: [],
        usage: { memoryBytes: DEFAULT_MEMORY_BYTES, cpuPercent: 0 },
        stop: { ignoresTerm: false, exitCode: SIGTERM_EXIT },
      };
      this.#containers.set(container.id, container);
      this.#emit(container, 'create');
      return container.id;
    });
  }

  startContainer(id: string): Promise<void> {
    const what = `start container ${id}`;
    return this.#call('startContainer', what, [id], () => {
      const container = this.#container(id, what);
      if (container.status === 'running') return;
      const network = container.spec.network;
      if (network.mode === 'network' && !this.#findNetwork(network.name)) throw new RuntimeError('NOT_FOUND', `${what}: network ${network.name} not found`);
      for (const port of this.#ports(container)) {
        const taken = [...this.#containers.values()].some(
          (other) => other.status === 'running' && this.#ports(other).some((p) => p.host === port.host && p.protocol === port.protocol && (p.address === port.address || p.address === '0.0.0.0' || port.address === '0.0.0.0')),
        );
        if (taken) {
          container.exitCode = START_FAILED_EXIT;
          throw new RuntimeError('FAILED', `${what}: driver failed programming external connectivity on endpoint ${container.name}: Bind for ${port.address}:${port.host} failed: port is already allocated`);
        }
      }
      container.status = 'running';
      // As Docker 20.10: a new run clears the exit code but not OOMKilled, which the next exit sets.
      container.exitCode = 0;
      container.startedAt = this.#timestamp();
      this.#emit(container, 'start');
      for (const handler of this.#startHandlers) handler(container);
    });
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const what = `stop container ${id}`;
    return this.#call('stopContainer', what, [id, timeoutSeconds], () => {
      const container = this.#container(id, what);
      if (container.status !== 'running') return;
      this.#emit(container, 'kill', { signal: '15' });
      if (container.stop.ignoresTerm) {
        // The timeout is not waited out: nothing runs, so nothing would change meanwhile.
        this.#emit(container, 'kill', { signal: '9' });
        this.#finish(container, SIGKILL_EXIT, false);
      } else this.#finish(container, container.stop.exitCode, false);
      this.#emit(container, 'stop');
    });
  }

  removeContainer(id: string): Promise<void> {
    const what = `remove container ${id}`;
    return this.#call('removeContainer', what, [id], () => {
      const container = this.#container(id, what);
      if (container.status === 'running') {
        this.#emit(container, 'kill', { signal: '9' });
        this.#finish(container, SIGKILL_EXIT, false);
      }
      this.#containers.delete(container.id);
      this.#sampled.delete(id);
      this.#emit(container, 'destroy');
    });
  }

  inspectContainer(id: string, withSize = false): Promise<ContainerState | undefined> {
    return this.#call('inspectContainer', `inspect container ${id}`, [id, withSize], () => {
      const container = this.#findContainer(id);
      return container ? this.#state(container, withSize) : undefined;
    });
  }

  listContainers(label: string): Promise<ContainerState[]> {
    return this.#call('listContainers', 'list containers', [label], () =>
      // Docker lists the newest first.
      [...this.#containers.values()]
        .filter((container) => labelMatches(container.spec.labels, label))
        .reverse()
        .map((container) => this.#state(container, false)),
    );
  }

  createVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void> {
    const what = `create volume ${name}`;
    return this.#call('createVolume', what, [name, labels], () => {
      if (!NAME.test(name)) throw new RuntimeError('FAILED', `${what}: create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
      // A volume of that name already there stays as it is, its labels included.
      if (!this.#volumes.has(name)) this.#volumes.set(name, { name, labels: { ...labels }, files: new Map(), bytes: undefined });
    });
  }

  removeVolume(name: string): Promise<void> {
    const what = `remove volume ${name}`;
    return this.#call('removeVolume', what, [name], () => {
      if (!this.#volumes.has(name)) return;
      const users = [...this.#containers.values()].filter((container) => container.spec.volumes.some((volume) => volume.name === name));
      if (users.length > 0) throw new RuntimeError('CONFLICT', `${what}: remove ${name}: volume is in use - [${users.map((user) => user.id).join(', ')}]`);
      this.#volumes.delete(name);
    });
  }

  listVolumes(label: string): Promise<{ name: string; labels: Record<string, string> }[]> {
    return this.#call('listVolumes', 'list volumes', [label], () =>
      [...this.#volumes.values()].filter((volume) => labelMatches(volume.labels, label)).map((volume) => ({ name: volume.name, labels: { ...volume.labels } })),
    );
  }

  createNetwork(name: string, labels: Readonly<Record<string, string>>, egress: EgressRules): Promise<string> {
    const what = `create network ${name}`;
    return this.#call('createNetwork', what, [name, labels, egress], () => {
      if ([...this.#networks.values()].some((network) => network.name === name)) throw new RuntimeError('CONFLICT', `${what}: network with name ${name} already exists`);
      const network: FakeNetwork = { id: newId(), name, labels: { ...labels } };
      this.#networks.set(network.id, network);
      this.#firewall.set(name, structuredClone(egress));
      return network.id;
    });
  }

  confineNetwork(idOrName: string, egress: EgressRules): Promise<void> {
    const what = `confine network ${idOrName}`;
    return this.#call('confineNetwork', what, [idOrName, egress], () => {
      const network = this.#findNetwork(idOrName);
      if (!network) throw new RuntimeError('NOT_FOUND', `network ${idOrName} does not exist`);
      this.#firewall.set(network.name, structuredClone(egress));
    });
  }

  removeNetwork(idOrName: string): Promise<void> {
    const what = `remove network ${idOrName}`;
    return this.#call('removeNetwork', what, [idOrName], () => {
      const network = this.#findNetwork(idOrName);
      if (!network) {
        this.#firewall.delete(idOrName);
        return;
      }
      // A stopped container has no endpoint on the network: only a running one keeps it.
      const attached = [...this.#containers.values()].some((container) => container.status === 'running' && container.spec.network.mode === 'network' && this.#findNetwork(container.spec.network.name) === network);
      if (attached) throw new RuntimeError('FAILED', `${what}: error while removing network: network ${network.name} id ${network.id} has active endpoints`);
      this.#networks.delete(network.id);
      this.#firewall.delete(network.name);
    });
  }

  pruneNetworkRules(): Promise<string[]> {
    return this.#call('pruneNetworkRules', 'prune network rules', [], () => {
      const names = new Set([...this.#networks.values()].map((network) => network.name));
      const orphaned = [...this.#firewall.keys()].filter((name) => !names.has(name));
      for (const name of orphaned) this.#firewall.delete(name);
      return orphaned;
    });
  }

  listNetworks(label: string): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    return this.#call('listNetworks', 'list networks', [label], () =>
      [...this.#networks.values()].filter((network) => labelMatches(network.labels, label)).map((network) => ({ id: network.id, name: network.name, labels: { ...network.labels } })),
    );
  }

  usage(id: string): Promise<ContainerUsage> {
    const what = `stats of ${id}`;
    return this.#call('usage', what, [id], () => {
      const container = this.#container(id, what);
      const first = !this.#sampled.has(id);
      this.#sampled.add(id);
      if (container.status !== 'running') return { memoryBytes: 0, cpuPercent: 0 };
      return { memoryBytes: container.usage.memoryBytes, cpuPercent: first ? 0 : container.usage.cpuPercent };
    });
  }

  diskUsage(): Promise<{ containers: Map<string, number>; volumes: Map<string, number> }> {
    return this.#call('diskUsage', 'disk usage', [], () => ({
      containers: new Map([...this.#containers.values()].map((container) => [container.id, container.writableBytes])),
      volumes: new Map([...this.#volumes.values()].map((volume) => [volume.name, volume.bytes ?? [...volume.files.values()].reduce((sum, text) => sum + Buffer.byteLength(text), 0)])),
    }));
  }

  copyPath(fromId: string, fromPath: string, toId: string, toPath: string): Promise<void> {
    const what = `copy ${fromPath} of ${fromId} to ${toPath} of ${toId}`;
    return this.#call('copyPath', what, [fromId, fromPath, toId, toPath], () => {
      const from = this.#container(fromId, what);
      const to = this.#container(toId, what);
      // Only what volumes hold is known here: a path of the image itself cannot be copied.
      const source = this.#volumeAt(from, fromPath);
      if (!source) throw new RuntimeError('NOT_FOUND', `${what}: Could not find the file ${fromPath}/. in container ${fromId}`);
      const target = this.#volumeAt(to, toPath);
      if (!target) throw new RuntimeError('NOT_FOUND', `${what}: Could not find the file ${toPath} in container ${toId}`);
      for (const [path, text] of source.files) target.files.set(path, text);
    });
  }

  logs(id: string, tail: number): Promise<string[]> {
    const what = `logs of ${id}`;
    return this.#call('logs', what, [id, tail], () => {
      const container = this.#container(id, what);
      return tail <= 0 ? [] : container.logs.slice(-tail);
    });
  }

  events(label: string, signal: AbortSignal): Promise<AsyncIterable<RuntimeEvent>> {
    // Like Docker's label filter on /events: containers carry their labels in the event; volume and network events
    // carry none, so a labelled subscription sees only container events.
    return this.#call('events', 'events', [label], () => this.#events.subscribe(label, (event) => (event.type === 'container' ? event.labels : {}), signal));
  }

  // ---- test controls: what the host, the app or the operator would do ----

  /** The container's process exits with `code` (it crashed, or finished). */
  exit(id: string, code: number): void {
    const container = this.#running(id);
    this.#finish(container, code, false);
  }

  /** The kernel kills the container's process for exceeding its memory limit: `oom`, then `die` with 137. */
  oomKill(id: string): void {
    const container = this.#running(id);
    this.#emit(container, 'oom');
    this.#finish(container, SIGKILL_EXIT, true);
  }

  /** Runs `handler` each time a container starts (after its `start` event), e.g. to make it crash at once. */
  onStart(handler: (container: FakeContainer) => void): () => void {
    this.#startHandlers.add(handler);
    return () => this.#startHandlers.delete(handler);
  }

  /** How the container's process takes `docker stop`. By default it exits on SIGTERM with 143. */
  setStopBehaviour(id: string, behaviour: Partial<FakeContainer['stop']>): void {
    const container = this.#existing(id);
    container.stop = { ...container.stop, ...behaviour };
  }

  /** Lines the container's process writes; the oldest go once the log exceeds the spec's logMaxBytes. */
  log(id: string, ...lines: string[]): void {
    const container = this.#existing(id);
    container.logs.push(...lines);
    let bytes = container.logs.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    while (bytes > container.spec.logMaxBytes && container.logs.length > 0) bytes -= Buffer.byteLength(container.logs.shift()!) + 1;
  }

  /** What usage() reports while the container runs (its first sample still reports 0 % CPU, as the adapter's). */
  setUsage(id: string, usage: Partial<ContainerUsage>): void {
    const container = this.#existing(id);
    container.usage = { ...container.usage, ...usage };
  }

  setWritableBytes(id: string, bytes: number): void {
    this.#existing(id).writableBytes = bytes;
  }

  /** Writes a file into a volume (it must exist): the data an app keeps, which copyPath() carries over. */
  writeVolumeFile(name: string, path: string, text: string): void {
    this.#existingVolume(name).files.set(path, text);
  }

  setVolumeBytes(name: string, bytes: number | undefined): void {
    this.#existingVolume(name).bytes = bytes;
  }

  /**
   * Docker goes away: every call fails with UNAVAILABLE and every event stream ends, with the error the adapter
   * gives for a dropped connection. `stopContainers`: as when dockerd itself stops, running containers are stopped
   * (no subscriber hears their `die`).
   */
  startOutage(options: { stopContainers?: boolean } = {}): void {
    this.#outage = true;
    this.#events.failAll(new RuntimeError('FAILED', 'events: aborted'));
    if (!options.stopContainers) return;
    for (const container of this.#containers.values()) {
      if (container.status !== 'running') continue;
      container.status = 'exited';
      container.exitCode = container.stop.ignoresTerm ? SIGKILL_EXIT : container.stop.exitCode;
      container.finishedAt = this.#timestamp();
    }
  }

  endOutage(): void {
    this.#outage = false;
  }

  get inOutage(): boolean {
    return this.#outage;
  }

  /** The next call of `operation` fails (before doing anything, unless `afterEffect`). Calls queue up. */
  failNext(operation: RuntimeOperation, options: FailureOptions = {}): void {
    const queue = this.#failures.get(operation) ?? [];
    queue.push(options);
    this.#failures.set(operation, queue);
  }

  /** The host loses berth's firewall rules (a reboot): the networks stay, unconfined until confineNetwork(). */
  dropFirewallRules(): void {
    this.#firewall.clear();
  }

  /** `docker network rm` by someone else: the network goes, berth's firewall rules for it stay. */
  removeNetworkOutsideBerth(idOrName: string): void {
    const network = this.#findNetwork(idOrName);
    if (network) this.#networks.delete(network.id);
  }

  // ---- inspection ----

  container(idOrName: string): FakeContainer | undefined {
    return this.#findContainer(idOrName);
  }

  get containers(): FakeContainer[] {
    return [...this.#containers.values()];
  }

  get images(): FakeImage[] {
    return [...this.#images.values()];
  }

  get volumes(): FakeVolume[] {
    return [...this.#volumes.values()];
  }

  get networks(): FakeNetwork[] {
    return [...this.#networks.values()];
  }

  /** berth's confinement of each network, by network name, as the firewall holds it. */
  firewallRules(name: string): EgressRules | undefined {
    return this.#firewall.get(name);
  }

  // ---- internals ----

  async #call<T>(operation: RuntimeOperation, what: string, args: unknown[], work: () => T | Promise<T>): Promise<T> {
    this.calls.push({ operation, args });
    // Never answered in the same turn: a caller cannot come to rely on it.
    await Promise.resolve();
    if (this.#outage) throw new RuntimeError('UNAVAILABLE', `${what}: Docker Engine not reachable at in-memory runtime (ENOENT)`);
    const failure = this.#failures.get(operation)?.shift();
    const injected = (): Error => failure?.error ?? new RuntimeError('FAILED', `${what}: injected failure`);
    if (failure && !failure.afterEffect) throw injected();
    const result = await work();
    if (failure) throw injected();
    return result;
  }

  #timestamp(): string {
    return new Date(this.#now()).toISOString();
  }

  #emit(container: FakeContainer, action: string, attributes: Record<string, string> = {}): void {
    // Docker puts the container's labels, its image (as given at create) and name among the event's attributes.
    const labels = { ...container.spec.labels, image: container.spec.image, name: container.name, ...attributes };
    const exitCode = attributes['exitCode'];
    this.#events.emit({ type: 'container', action, id: container.id, labels, time: Math.floor(this.#now() / 1000), ...(exitCode === undefined ? {} : { exitCode: Number(exitCode) }) });
  }

  #finish(container: FakeContainer, exitCode: number, oomKilled: boolean): void {
    container.status = 'exited';
    container.exitCode = exitCode;
    container.oomKilled = oomKilled;
    container.finishedAt = this.#timestamp();
    this.#emit(container, 'die', { exitCode: String(exitCode) });
  }

  #ports(container: FakeContainer): ContainerState['ports'] {
    const network = container.spec.network;
    if (network.mode !== 'network') return [];
    return (network.ports ?? []).map((port) => ({ host: port.host, protocol: port.protocol, address: port.address || '0.0.0.0' }));
  }

  #state(container: FakeContainer, withSize: boolean): ContainerState {
    return {
      id: container.id,
      name: container.name,
      imageId: container.imageId,
      labels: { ...container.spec.labels },
      status: container.status,
      exitCode: container.exitCode,
      oomKilled: container.oomKilled,
      startedAt: container.startedAt,
      finishedAt: container.finishedAt,
      ports: this.#ports(container),
      ...(withSize ? { writableBytes: container.writableBytes } : {}),
    };
  }

  /** By ID, by name, or by a unique prefix of the ID, as Docker finds a container. */
  #findContainer(ref: string): FakeContainer | undefined {
    const exact = this.#containers.get(ref);
    if (exact) return exact;
    const all = [...this.#containers.values()];
    const named = all.find((container) => container.name === ref.replace(/^\//, ''));
    if (named) return named;
    const prefixed = ref === '' ? [] : all.filter((container) => container.id.startsWith(ref));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  #container(ref: string, what: string): FakeContainer {
    const container = this.#findContainer(ref);
    if (!container) throw new RuntimeError('NOT_FOUND', `${what}: No such container: ${ref}`);
    return container;
  }

  #existing(id: string): FakeContainer {
    const container = this.#findContainer(id);
    if (!container) throw new Error(`in-memory runtime: no container ${id}`);
    return container;
  }

  #running(id: string): FakeContainer {
    const container = this.#existing(id);
    if (container.status !== 'running') throw new Error(`in-memory runtime: container ${id} is ${container.status}, not running`);
    return container;
  }

  #existingVolume(name: string): FakeVolume {
    const volume = this.#volumes.get(name);
    if (!volume) throw new Error(`in-memory runtime: no volume ${name}`);
    return volume;
  }

  #volumeAt(container: FakeContainer, path: string): FakeVolume | undefined {
    const mount = container.spec.volumes.find((volume) => volume.path === path.replace(/\/+$/, ''));
    return mount ? this.#volumes.get(mount.name) : undefined;
  }

  /** By ID (`sha256:…`, or a prefix of its hex) or by name (`repo:tag`, `repo` meaning `repo:latest`). */
  #findImage(ref: string): FakeImage | undefined {
    const exact = this.#images.get(ref);
    if (exact) return exact;
    const tag = normalTag(ref);
    const all = [...this.#images.values()];
    const named = all.find((image) => image.tags.includes(tag));
    if (named) return named;
    const hex = ref.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{12,64}$/.test(hex)) return undefined;
    const prefixed = all.filter((image) => image.id.slice(7).startsWith(hex));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  #findNetwork(ref: string): FakeNetwork | undefined {
    const all = [...this.#networks.values()];
    return this.#networks.get(ref) ?? all.find((network) => network.name === ref) ?? all.find((network) => ref.length >= 12 && network.id.startsWith(ref));
  }
}
