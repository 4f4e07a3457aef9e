// ContainerRuntime on the Docker Engine API. Containers are created hardened by default (DESIGN.md §3): not
// privileged, every capability dropped and only the asked-for ones given back, no-new-privileges, read-only
// root with a tmpfs /tmp, the given non-root user, memory without extra swap, CPU and pids limits, capped
// json-file logs, restart policy `no` (berth owns restarts), ports published on one host address. Networks are
// confined by berth's firewall rules (network-firewall.ts); images are loaded without the names their archive
// carries (image-archive.ts). Docker's errors become RuntimeError with a stable code.
import type { Readable } from 'node:stream';
import { createDockerEngine, demuxLogs, DockerError, jsonLines } from './docker-engine.ts';
import type { DockerEngine } from './docker-engine.ts';
import { RuntimeError } from './container-runtime.ts';
import type { ContainerRuntime, ContainerSpec, ContainerState, ContainerStatus, ContainerUsage, EgressRules, ImageInfo, RuntimeEvent } from './container-runtime.ts';
import { ImageArchiveError, untaggedImageArchive } from './image-archive.ts';
import { createIptablesFirewall, FirewallError } from './network-firewall.ts';
import type { NetworkFirewall } from './network-firewall.ts';

function translate(error: unknown, what: string): RuntimeError {
  if (error instanceof RuntimeError) return error;
  if (error instanceof ImageArchiveError) return new RuntimeError('BAD_IMAGE', error.message, { cause: error });
  if (error instanceof FirewallError) return new RuntimeError('FAILED', `${what}: ${error.message}`, { cause: error });
  if (error instanceof DockerError) {
    const code = error.status === 0 ? 'UNAVAILABLE' : error.status === 404 ? 'NOT_FOUND' : error.status === 409 ? 'CONFLICT' : 'FAILED';
    return new RuntimeError(code, `${what}: ${error.message}`, { cause: error });
  }
  return new RuntimeError('FAILED', `${what}: ${(error as Error).message}`, { cause: error });
}

async function guard<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translate(error, what);
  }
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

export function createDockerRuntime(socketPath?: string, engine: DockerEngine = createDockerEngine(socketPath), firewall: NetworkFirewall = createIptablesFirewall()): ContainerRuntime {
  const lastCpu = new Map<string, { cpu: number; system: number }>();
  const labelFilter = (label: string): string => JSON.stringify({ label: [label] });
  const inspectNetwork = async (idOrName: string): Promise<NetworkJson | undefined> => {
    try {
      return await engine.json<NetworkJson>('GET', `/networks/${encodeURIComponent(idOrName)}`);
    } catch (error) {
      if (error instanceof DockerError && error.status === 404) return undefined;
      throw error;
    }
  };
  const confine = async (idOrName: string, egress: EgressRules): Promise<void> => {
    const network = await inspectNetwork(idOrName);
    if (!network) throw new RuntimeError('NOT_FOUND', `network ${idOrName} does not exist`);
    await firewall.confine(network.Name, bridgeOf(network), egress);
  };

  return {
    // A call each time: the negotiated API version is remembered, so it alone says nothing about Docker now.
    ping: () =>
      guard('ping', async () => {
        const response = await engine.stream('GET', '/_ping');
        response.resume();
      }),

    engineVersion: () => guard('version', async () => (await engine.json<{ Version: string }>('GET', '/version')).Version),

    loadImage: (archive: Readable) =>
      guard('load image', async () => {
        const untagged = untaggedImageArchive(archive);
        // The archive's own refusal says more than the aborted upload it causes.
        let refused: Error | undefined;
        untagged.on('error', (error: Error) => {
          refused = error;
        });
        let imageId = '';
        try {
          const response = await engine.stream('POST', '/images/load', { query: { quiet: 1 }, body: untagged, contentType: 'application/x-tar' });
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
      guard(`inspect image ${idOrName}`, async (): Promise<ImageInfo | undefined> => {
        try {
          const image = await engine.json<{ Id: string; RepoTags: string[] | null; Config: { Volumes: Record<string, unknown> | null } | null }>('GET', `/images/${encodeURIComponent(idOrName)}/json`);
          return { id: image.Id, tags: image.RepoTags ?? [], volumes: Object.keys(image.Config?.Volumes ?? {}) };
        } catch (error) {
          if (error instanceof DockerError && error.status === 404) return undefined;
          throw error;
        }
      }),

    tagImage: (imageId, name) =>
      guard(`name image ${imageId} ${name}`, async () => {
        const colon = name.lastIndexOf(':');
        await engine.json('POST', `/images/${encodeURIComponent(imageId)}/tag`, { query: { repo: name.slice(0, colon), tag: name.slice(colon + 1) } });
      }),

    // Never forced: by name, Docker only untags an image that has other names, and refuses (409) to delete one a
    // container still uses.
    untagImage: (name) =>
      guard(`remove image name ${name}`, async () => {
        try {
          await engine.json('DELETE', `/images/${encodeURIComponent(name)}`);
        } catch (error) {
          if (!(error instanceof DockerError && error.status === 404)) throw error;
        }
      }),

    listImages: () =>
      guard('list images', async () => {
        const images = await engine.json<{ Id: string; RepoTags: string[] | null }[]>('GET', '/images/json', { query: { all: 1 } });
        // Docker shows an unnamed image as `<none>:<none>`.
        return images.map((image) => ({ id: image.Id, tags: (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>') }));
      }),

    createContainer: (spec) =>
      guard(`create container ${spec.name}`, async () => {
        const created = await engine.json<{ Id: string }>('POST', '/containers/create', { query: { name: spec.name }, json: toCreateBody(spec) });
        return created.Id;
      }),

    startContainer: (id) =>
      guard(`start container ${id}`, async () => {
        await engine.json('POST', `/containers/${id}/start`);
      }),

    stopContainer: (id, timeoutSeconds) =>
      guard(`stop container ${id}`, async () => {
        await engine.json('POST', `/containers/${id}/stop`, { query: { t: timeoutSeconds } });
      }),

    removeContainer: (id) =>
      guard(`remove container ${id}`, async () => {
        lastCpu.delete(id);
        await engine.json('DELETE', `/containers/${id}`, { query: { force: 1 } });
      }),

    inspectContainer: (id, withSize = false) =>
      guard(`inspect container ${id}`, async () => {
        try {
          return toState(await engine.json<InspectJson>('GET', `/containers/${id}/json`, { query: { size: withSize || undefined } }));
        } catch (error) {
          if (error instanceof DockerError && error.status === 404) return undefined;
          throw error;
        }
      }),

    listContainers: (label) =>
      guard('list containers', async () => {
        const list = await engine.json<{ Id: string }[]>('GET', '/containers/json', { query: { all: 1, filters: labelFilter(label) } });
        const states = await Promise.all(list.map(async (c) => engine.json<InspectJson>('GET', `/containers/${c.Id}/json`).then(toState, () => undefined)));
        return states.filter((s): s is ContainerState => s !== undefined);
      }),

    createVolume: (name, labels) =>
      guard(`create volume ${name}`, async () => {
        await engine.json('POST', '/volumes/create', { json: { Name: name, Labels: labels } });
      }),

    removeVolume: (name) =>
      guard(`remove volume ${name}`, async () => {
        try {
          await engine.json('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force: 1 } });
        } catch (error) {
          if (!(error instanceof DockerError && error.status === 404)) throw error;
        }
      }),

    listVolumes: (label) =>
      guard('list volumes', async () => {
        const result = await engine.json<{ Volumes: { Name: string; Labels: Record<string, string> | null }[] | null }>('GET', '/volumes', { query: { filters: labelFilter(label) } });
        return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
      }),

    createNetwork: (name, labels, egress) =>
      guard(`create network ${name}`, async () => {
        const created = await engine.json<{ Id: string }>('POST', '/networks/create', { json: { Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: true } });
        // No container is attached yet: the rules are in place before the first packet.
        try {
          await confine(created.Id, egress);
        } catch (error) {
          await engine.json('DELETE', `/networks/${created.Id}`).catch(() => undefined);
          await firewall.release(name).catch(() => undefined);
          throw error;
        }
        return created.Id;
      }),

    confineNetwork: (idOrName, egress) => guard(`confine network ${idOrName}`, () => confine(idOrName, egress)),

    removeNetwork: (idOrName) =>
      guard(`remove network ${idOrName}`, async () => {
        const network = await inspectNetwork(idOrName);
        if (!network) {
          await firewall.release(idOrName);
          return;
        }
        try {
          await engine.json('DELETE', `/networks/${network.Id}`);
        } catch (error) {
          if (!(error instanceof DockerError && error.status === 404)) throw error;
        }
        await firewall.release(network.Name);
      }),

    pruneNetworkRules: () =>
      guard('prune network rules', async () => {
        const networks = await engine.json<{ Name: string }[]>('GET', '/networks');
        return firewall.prune(new Set(networks.map((n) => n.Name)));
      }),

    listNetworks: (label) =>
      guard('list networks', async () => {
        const list = await engine.json<{ Id: string; Name: string; Labels: Record<string, string> | null }[]>('GET', '/networks', { query: { filters: labelFilter(label) } });
        return list.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} }));
      }),

    // one-shot: Docker answers at once instead of waiting a second for a second sample; CPU is computed against
    // the previous sample of the same container (the first one reports 0 %).
    usage: (id) =>
      guard(`stats of ${id}`, async () => {
        const stats = await engine.json<StatsJson>('GET', `/containers/${id}/stats`, { query: { stream: 0, 'one-shot': 1 } });
        const previous = lastCpu.get(id);
        lastCpu.set(id, { cpu: stats.cpu_stats.cpu_usage.total_usage, system: stats.cpu_stats.system_cpu_usage ?? 0 });
        return toUsage(stats, previous ?? { cpu: stats.cpu_stats.cpu_usage.total_usage, system: stats.cpu_stats.system_cpu_usage ?? 0 });
      }),

    diskUsage: () =>
      guard('disk usage', async () => {
        type DfJson = { Containers: { Id: string; SizeRw?: number }[] | null; Volumes: { Name: string; UsageData?: { Size: number } | null }[] | null };
        const df = await engine.json<DfJson>('GET', '/system/df');
        return {
          containers: new Map((df.Containers ?? []).map((c) => [c.Id, Math.max(0, c.SizeRw ?? 0)])),
          // Docker reports -1 for a volume it could not measure.
          volumes: new Map((df.Volumes ?? []).map((v) => [v.Name, Math.max(0, v.UsageData?.Size ?? 0)])),
        };
      }),

    copyPath: (fromId, fromPath, toId, toPath) =>
      guard(`copy ${fromPath} of ${fromId} to ${toPath} of ${toId}`, async () => {
        // `<dir>/.` makes Docker archive the directory's contents, so they land directly in toPath.
        const archive = await engine.stream('GET', `/containers/${fromId}/archive`, { query: { path: `${fromPath}/.` } });
        await engine.json('PUT', `/containers/${toId}/archive`, { query: { path: toPath }, body: archive, contentType: 'application/x-tar' });
      }),

    logs: (id, tail) =>
      guard(`logs of ${id}`, async () => {
        const response = await engine.stream('GET', `/containers/${id}/logs`, { query: { stdout: 1, stderr: 1, tail } });
        const chunks: Buffer[] = [];
        for await (const chunk of response) chunks.push(chunk as Buffer);
        return demuxLogs(Buffer.concat(chunks))
          .map((frame) => frame.text)
          .join('')
          .split('\n')
          .filter((line) => line !== '');
      }),

    async events(label, signal) {
      const response = await guard('events', () => engine.stream('GET', '/events', { query: { filters: labelFilter(label) }, signal }));
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
          throw translate(error, 'events');
        }
      })();
    },
  };
}
