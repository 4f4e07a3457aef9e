// ContainerRuntime on the Docker Engine API, through dockerode (connected by docker-engine.ts). Containers are
// created hardened by default (DESIGN.md §3): not privileged, every capability dropped and only the asked-for ones
// given back, no-new-privileges, read-only root with a tmpfs /tmp, the given non-root user, memory without extra
// swap, CPU and pids limits, capped json-file logs, restart policy `no` (berth owns restarts), ports published on
// one host address. Networks are confined by berth's firewall rules (network-firewall.ts); images are loaded
// without the names their archive carries (image-archive.ts). Docker's errors become RuntimeError with a stable
// code.
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { connectDocker, demuxLogs, dockerError, jsonLines } from './docker-engine.ts';
import type { DockerClient } from './docker-engine.ts';
import { RuntimeError } from './container-runtime.ts';
import type { ContainerRuntime, ContainerSpec, ContainerState, ContainerStatus, ContainerUsage, EgressRules, ImageInfo, RuntimeEvent } from './container-runtime.ts';
import { ImageArchiveError, untaggedImageArchive } from './image-archive.ts';
import { createIptablesFirewall, FirewallError } from './network-firewall.ts';
import type { NetworkFirewall } from './network-firewall.ts';

function translate(error: unknown, what: string, socketPath: string): RuntimeError {
  if (error instanceof RuntimeError) return error;
  if (error instanceof ImageArchiveError) return new RuntimeError('BAD_IMAGE', error.message, { cause: error });
  if (error instanceof FirewallError) return new RuntimeError('FAILED', `${what}: ${error.message}`, { cause: error });
  const docker = dockerError(error, socketPath);
  if (docker) {
    const code = docker.status === 0 ? 'UNAVAILABLE' : docker.status === 404 ? 'NOT_FOUND' : docker.status === 409 ? 'CONFLICT' : 'FAILED';
    return new RuntimeError(code, `${what}: ${docker.message}`, { cause: docker });
  }
  return new RuntimeError('FAILED', `${what}: ${(error as Error).message}`, { cause: error });
}

/** The Docker create body for a spec: pure, so the hardening is unit-testable. */
export function toCreateBody(spec: ContainerSpec): Record<string, unknown> {
  const ports = spec.network.mode === 'network' ? (spec.network.ports ?? []) : [];
  return {
    Image: spec.image,
    Cmd: [...spec.command],
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...spec.labels },
    ExposedPorts: Object.fromEntries(ports.map((p) => [`${p.container}/${p.protocol}`, {}])),
    NetworkDisabled: spec.network.mode === 'none',
    User: spec.user,
    HostConfig: {
      Memory: spec.memoryKiB * 1024,
      MemorySwap: spec.memoryKiB * 1024,
      NanoCpus: spec.nanoCpus,
      PidsLimit: spec.pidsLimit,
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [...spec.capabilities],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,noexec,nosuid,size=${spec.tmpfsKiB}k` },
      Mounts: spec.volumes.map((v) => ({ Type: 'volume', Source: v.name, Target: v.path })),
      NetworkMode: spec.network.mode === 'none' ? 'none' : spec.network.name,
      PortBindings: Object.fromEntries(ports.map((p) => [`${p.container}/${p.protocol}`, [{ HostIp: p.address, HostPort: String(p.host) }]])),
      RestartPolicy: { Name: 'no' },
      // A tiny init as PID 1 (docker-init) passes SIGTERM on and reaps zombies: an app's own process is never PID 1,
      // which ignores signals it has no handler for, so a stop would always wait out ShutdownDelay and then kill.
      Init: true,
      LogConfig: { Type: 'json-file', Config: { 'max-size': String(spec.logMaxBytes), 'max-file': '1' } },
    },
  };
}

/**
 * dockerode's options for a create call, with the query and the JSON body apart: given one object, docker-modem
 * sends it as both, which would put the whole body (the units' environment too) in the URL, where dockerd's debug
 * log and proxies see it.
 */
function createOptions(query: Record<string, string>, body: object): object {
  return { _query: query, _body: body };
}

interface InspectJson {
  Id: string;
  Name: string;
  Image: string;
  SizeRw?: number;
  Config: { Labels: Record<string, string> | null };
  State: { Status: ContainerStatus; ExitCode: number; OOMKilled: boolean; StartedAt: string; FinishedAt: string };
  HostConfig?: { PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null };
}

function publishedPorts(json: InspectJson): ContainerState['ports'] {
  const ports: ContainerState['ports'] = [];
  for (const [key, bindings] of Object.entries(json.HostConfig?.PortBindings ?? {})) {
    const protocol = key.endsWith('/udp') ? 'udp' : 'tcp';
    for (const binding of bindings ?? []) {
      const host = Number(binding.HostPort);
      if (Number.isInteger(host) && host > 0) ports.push({ host, protocol, address: binding.HostIp || '0.0.0.0' });
    }
  }
  return ports;
}

function toState(json: InspectJson): ContainerState {
  return {
    id: json.Id,
    name: json.Name.replace(/^\//, ''),
    imageId: json.Image,
    labels: json.Config.Labels ?? {},
    status: json.State.Status,
    exitCode: json.State.ExitCode,
    oomKilled: json.State.OOMKilled,
    startedAt: json.State.StartedAt,
    finishedAt: json.State.FinishedAt,
    ports: publishedPorts(json),
    ...(json.SizeRw === undefined ? {} : { writableBytes: json.SizeRw }),
  };
}

interface StatsJson {
  memory_stats: { usage?: number; stats?: { cache?: number; inactive_file?: number; total_inactive_file?: number } };
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
}

/**
 * Memory as `docker stats` shows it (page cache that can be reclaimed is not counted); CPU in % of one CPU, over
 * the interval since `previous` (a one-shot sample has no precpu of its own).
 */
export function toUsage(stats: StatsJson, previous?: { cpu: number; system: number }): ContainerUsage {
  if (previous) {
    stats = { ...stats, precpu_stats: { cpu_usage: { total_usage: previous.cpu }, system_cpu_usage: previous.system } };
  }
  const raw = stats.memory_stats.usage ?? 0;
  const reclaimable = stats.memory_stats.stats?.inactive_file ?? stats.memory_stats.stats?.total_inactive_file ?? stats.memory_stats.stats?.cache ?? 0;
  const cpuDelta = stats.cpu_stats.cpu_usage.total_usage - stats.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats.system_cpu_usage ?? 0);
  const cpus = stats.cpu_stats.online_cpus ?? 1;
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  return { memoryBytes: Math.max(0, raw - reclaimable), cpuPercent };
}

interface NetworkJson {
  Id: string;
  Name: string;
  Driver: string;
  Options: Record<string, string> | null;
}

/** The host interface of a bridge network: the name it was given, or Docker's own `br-<12 hex digits of its id>`. */
function bridgeOf(network: NetworkJson): string {
  if (network.Driver !== 'bridge') throw new RuntimeError('FAILED', `network ${network.Name} is not a bridge network (${network.Driver}): berth cannot confine it`);
  return network.Options?.['com.docker.network.bridge.name'] ?? `br-${network.Id.slice(0, 12)}`;
}

export function createDockerRuntime(socketPath?: string, client: DockerClient = connectDocker(socketPath), firewall: NetworkFirewall = createIptablesFirewall()): ContainerRuntime {
  const statusOf = (error: unknown): number | undefined => dockerError(error, client.socketPath)?.status;
  const isNotFound = (error: unknown): boolean => statusOf(error) === 404;
  /** Runs `work` with dockerode; every failure becomes a RuntimeError saying what was being done. */
  const guard = async <T>(what: string, work: (docker: Docker) => Promise<T>): Promise<T> => {
    try {
      return await work(await client.docker());
    } catch (error) {
      throw translate(error, what, client.socketPath);
    }
  };
  const lastCpu = new Map<string, { cpu: number; system: number }>();
  const labelFilter = (label: string): string => JSON.stringify({ label: [label] });
  const inspectNetwork = async (docker: Docker, idOrName: string): Promise<NetworkJson | undefined> => {
    try {
      return (await docker.getNetwork(idOrName).inspect()) as NetworkJson;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const confine = async (docker: Docker, idOrName: string, egress: EgressRules): Promise<void> => {
    const network = await inspectNetwork(docker, idOrName);
    if (!network) throw new RuntimeError('NOT_FOUND', `network ${idOrName} does not exist`);
    await firewall.confine(network.Name, bridgeOf(network), egress);
  };

  return {
    // A call each time: the negotiated API version is remembered, so it alone says nothing about Docker now.
    ping: () =>
      guard('ping', async (docker) => {
        await docker.ping();
      }),

    engineVersion: () => guard('version', async (docker) => (await docker.version()).Version),

    loadImage: (archive: Readable) =>
      guard('load image', async (docker) => {
        const untagged = untaggedImageArchive(archive);
        // The archive's own refusal says more than the aborted upload it causes.
        let refused: Error | undefined;
        // docker-modem pipes the body without watching it: a refused archive must abort the request, or Docker
        // would wait for the rest of a body that never comes.
        const upload = new AbortController();
        untagged.on('error', (error: Error) => {
          refused = error;
          upload.abort(error);
        });
        let imageId = '';
        try {
          const response = await docker.loadImage(untagged, { quiet: true, abortSignal: upload.signal });
          for await (const line of jsonLines<{ stream?: string; error?: string }>(response)) {
            if (line.error) throw new RuntimeError('BAD_IMAGE', `docker load refused the image: ${line.error}`);
            const id = /Loaded image ID: (sha256:[0-9a-f]{64})/.exec(line.stream ?? '');
            if (id) imageId = id[1]!;
          }
        } catch (error) {
          throw refused ?? error;
        }
        if (refused) throw refused;
        if (!imageId) throw new RuntimeError('BAD_IMAGE', 'docker load reported no image');
        return { imageId };
      }),

    inspectImage: (idOrName) =>
      guard(`inspect image ${idOrName}`, async (docker): Promise<ImageInfo | undefined> => {
        try {
          const image = await docker.getImage(idOrName).inspect();
          return { id: image.Id, tags: image.RepoTags ?? [], volumes: Object.keys(image.Config?.Volumes ?? {}) };
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      }),

    tagImage: (imageId, name) =>
      guard(`name image ${imageId} ${name}`, async (docker) => {
        const colon = name.lastIndexOf(':');
        await docker.getImage(imageId).tag({ repo: name.slice(0, colon), tag: name.slice(colon + 1) });
      }),

    // Never forced: by name, Docker only untags an image that has other names, and refuses (409) to delete one a
    // container still uses.
    untagImage: (name) =>
      guard(`remove image name ${name}`, async (docker) => {
        try {
          await docker.getImage(name).remove();
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }),

    listImages: () =>
      guard('list images', async (docker) => {
        const images = await docker.listImages({ all: true });
        // Docker shows an unnamed image as `<none>:<none>`.
        return images.map((image) => ({ id: image.Id, tags: (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>') }));
      }),

    createContainer: (spec) =>
      guard(`create container ${spec.name}`, async (docker) => {
        const created = await docker.createContainer(createOptions({ name: spec.name }, toCreateBody(spec)));
        return created.id;
      }),

    startContainer: (id) =>
      guard(`start container ${id}`, async (docker) => {
        try {
          await docker.getContainer(id).start();
        } catch (error) {
          // 304: already running, which is what was asked (docker-modem makes every status it was not told of an error).
          if (statusOf(error) !== 304) throw error;
        }
      }),

    stopContainer: (id, timeoutSeconds) =>
      guard(`stop container ${id}`, async (docker) => {
        try {
          await docker.getContainer(id).stop({ t: timeoutSeconds });
        } catch (error) {
          // 304: already stopped.
          if (statusOf(error) !== 304) throw error;
        }
      }),

    removeContainer: (id) =>
      guard(`remove container ${id}`, async (docker) => {
        lastCpu.delete(id);
        await docker.getContainer(id).remove({ force: true });
      }),

    inspectContainer: (id, withSize = false) =>
      guard(`inspect container ${id}`, async (docker) => {
        try {
          return toState((await docker.getContainer(id).inspect((withSize ? { size: true } : {}) as Docker.ContainerInspectOptions)) as unknown as InspectJson);
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      }),

    listContainers: (label) =>
      guard('list containers', async (docker) => {
        const list = await docker.listContainers({ all: true, filters: labelFilter(label) });
        const states = await Promise.all(list.map(async (c) => docker.getContainer(c.Id).inspect().then((json) => toState(json as unknown as InspectJson), () => undefined)));
        return states.filter((s): s is ContainerState => s !== undefined);
      }),

    createVolume: (name, labels) =>
      guard(`create volume ${name}`, async (docker) => {
        await docker.createVolume(createOptions({}, { Name: name, Labels: labels }) as Docker.VolumeCreateOptions);
      }),

    removeVolume: (name) =>
      guard(`remove volume ${name}`, async (docker) => {
        try {
          await docker.getVolume(name).remove({ force: true });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }),

    listVolumes: (label) =>
      guard('list volumes', async (docker) => {
        const result = await docker.listVolumes({ filters: labelFilter(label) });
        return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
      }),

    createNetwork: (name, labels, egress) =>
      guard(`create network ${name}`, async (docker) => {
        const created = await docker.createNetwork(createOptions({}, { Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: true }) as Docker.NetworkCreateOptions);
        // No container is attached yet: the rules are in place before the first packet.
        try {
          await confine(docker, created.id, egress);
        } catch (error) {
          await created.remove().catch(() => undefined);
          await firewall.release(name).catch(() => undefined);
          throw error;
        }
        return created.id;
      }),

    confineNetwork: (idOrName, egress) => guard(`confine network ${idOrName}`, (docker) => confine(docker, idOrName, egress)),

    removeNetwork: (idOrName) =>
      guard(`remove network ${idOrName}`, async (docker) => {
        const network = await inspectNetwork(docker, idOrName);
        if (!network) {
          await firewall.release(idOrName);
          return;
        }
        try {
          await docker.getNetwork(network.Id).remove();
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        await firewall.release(network.Name);
      }),

    pruneNetworkRules: () =>
      guard('prune network rules', async (docker) => {
        const networks = await docker.listNetworks();
        return firewall.prune(new Set(networks.map((n) => n.Name)));
      }),

    listNetworks: (label) =>
      guard('list networks', async (docker) => {
        const list = await docker.listNetworks({ filters: labelFilter(label) });
        return list.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} }));
      }),

    // one-shot: Docker answers at once instead of waiting a second for a second sample; CPU is computed against
    // the previous sample of the same container (the first one reports 0 %).
    usage: (id) =>
      guard(`stats of ${id}`, async (docker) => {
        const stats = (await docker.getContainer(id).stats({ stream: false, 'one-shot': true } as { stream: false })) as unknown as StatsJson;
        const previous = lastCpu.get(id);
        lastCpu.set(id, { cpu: stats.cpu_stats.cpu_usage.total_usage, system: stats.cpu_stats.system_cpu_usage ?? 0 });
        return toUsage(stats, previous ?? { cpu: stats.cpu_stats.cpu_usage.total_usage, system: stats.cpu_stats.system_cpu_usage ?? 0 });
      }),

    diskUsage: () =>
      guard('disk usage', async (docker) => {
        type DfJson = { Containers: { Id: string; SizeRw?: number }[] | null; Volumes: { Name: string; UsageData?: { Size: number } | null }[] | null };
        const df = (await docker.df()) as DfJson;
        return {
          containers: new Map((df.Containers ?? []).map((c) => [c.Id, Math.max(0, c.SizeRw ?? 0)])),
          // Docker reports -1 for a volume it could not measure.
          volumes: new Map((df.Volumes ?? []).map((v) => [v.Name, Math.max(0, v.UsageData?.Size ?? 0)])),
        };
      }),

    copyPath: (fromId, fromPath, toId, toPath) =>
      guard(`copy ${fromPath} of ${fromId} to ${toPath} of ${toId}`, async (docker) => {
        // `<dir>/.` makes Docker archive the directory's contents, so they land directly in toPath.
        const archive = await docker.getContainer(fromId).getArchive({ path: `${fromPath}/.` });
        await docker.getContainer(toId).putArchive(archive, { path: toPath });
      }),

    logs: (id, tail) =>
      guard(`logs of ${id}`, async (docker) => {
        const bytes = await docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false });
        return demuxLogs(bytes)
          .map((frame) => frame.text)
          .join('')
          .split('\n')
          .filter((line) => line !== '');
      }),

    async events(label, signal) {
      const response = await guard('events', (docker) => docker.getEvents({ filters: labelFilter(label), abortSignal: signal }));
      type EventJson = { Type: RuntimeEvent['type']; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; time: number };
      return (async function* (): AsyncGenerator<RuntimeEvent> {
        try {
          for await (const event of jsonLines<EventJson>(response)) {
            const exitCode = event.Actor.Attributes['exitCode'];
            yield {
              type: event.Type,
              action: event.Action,
              id: event.Actor.ID,
              labels: event.Actor.Attributes,
              time: event.time,
              ...(exitCode === undefined ? {} : { exitCode: Number(exitCode) }),
            };
          }
        } catch (error) {
          if (signal.aborted) return;
          throw translate(error, 'events', client.socketPath);
        }
      })();
    },
  };
}
