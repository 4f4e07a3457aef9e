// The real Software Module Management service (smm-service.ts, as app.ts builds it) on the in-memory container
// runtime, a manual clock, a state store in a temp folder and a catalog of real packages (fake-package-catalog.ts):
// installs, updates, rollbacks, crashes and back-offs in milliseconds. An "agent" is one service on that state and
// runtime; crash() kills it as kill -9 would (its runtime calls and saves never finish, its timers are gone) and
// start() boots the next one on what was saved. A test can fail, or crash the agent after, any one runtime call.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerRuntime } from '../../src/runtime/container-runtime.ts';
import { LABEL_OWNER, LABEL_VERSION } from '../../src/runtime/labels.ts';
import { createSilentLogger } from '../../src/log.ts';
import { imageNamePrefixOf } from '../../src/smm/deployment.ts';
import { DEFAULT_EXEC_ENV_ISOLATION } from '../../src/smm/exec-env-policy.ts';
import { createSmmService } from '../../src/smm/smm-service.ts';
import type { DuOperationReport, ExecEnvInfo, SmmOptions, SmmService } from '../../src/smm/smm-service.ts';
import { emptySmmState } from '../../src/smm/smm-state.ts';
import type { DeploymentEntry, SmmState } from '../../src/smm/smm-state.ts';
import type { AutoRestartPolicy } from '../../src/smm/restart-backoff.ts';
import { createJsonStateStore } from '../../src/store/state-store.ts';
import { createWorkArea } from '../../src/store/work-area.ts';
import { InMemoryRuntime } from '../fakes/in-memory-runtime.ts';
import type { RuntimeOperation } from '../fakes/in-memory-runtime.ts';
import { CRASH_AT_START } from './fake-package-catalog.ts';
import type { FakePackageCatalog } from './fake-package-catalog.ts';
import { ManualClock, settle } from './manual-clock.ts';

export const OWNER = 'os::fake-gateway';
export const EXEC_ENV = 'apps';

export const FAKE_SMM_OPTIONS: SmmOptions = {
  allowDowngrade: false,
  probationMs: 3000,
  installProbationMs: 2000,
  startTimeoutMs: 10_000,
  allowedCapabilities: [],
  // Sampling is driven by the tests (sampleNow), never by the clock moving on.
  sampleIntervalMs: 3_600_000,
};

/** What happens to one runtime call of the agent, counted from its first call (0). */
export type CallPlan = { at: number; kind: 'fail' | 'fail-after-effect' | 'crash-after' };

export interface FakeAgent {
  readonly smm: SmmService;
  /** DUStateChange! as the Controller would hear it, in order. */
  readonly reports: DuOperationReport[];
  /** The runtime operations this agent called, in order. */
  readonly calls: RuntimeOperation[];
  dead: boolean;
  /** Called before each of its runtime calls reaches the runtime (e.g. to make Docker go away at a given step). */
  beforeCall: ((operation: RuntimeOperation) => void) | undefined;
  /** Resolves when the agent is killed. */
  readonly died: Promise<void>;
  plan: CallPlan | undefined;
}

/** A DU row and its EU rows, as a Controller reads them. */
export interface DuRow {
  name: string;
  version: string;
  status: string;
  instance: number;
  units: { name: string; instance: number; status: string; fault: string; message: string }[];
}

// Every operation of the port, so that one added to it cannot bypass the gate (the compiler asks for it here).
const OPERATIONS: Record<RuntimeOperation, true> = {
  ping: true, engineVersion: true, loadImage: true, inspectImage: true, tagImage: true, untagImage: true, listImages: true, createContainer: true,
  startContainer: true, stopContainer: true, removeContainer: true, inspectContainer: true, listContainers: true, createVolume: true, removeVolume: true,
  listVolumes: true, createNetwork: true, confineNetwork: true, removeNetwork: true, pruneNetworkRules: true, listNetworks: true, usage: true,
  diskUsage: true, copyPath: true, logs: true, events: true,
};

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

export class SmmFakeFixture {
  readonly runtime: InMemoryRuntime;
  readonly clock: ManualClock;
  readonly catalog: FakePackageCatalog;
  readonly dir: string;
  execEnv: ExecEnvInfo = { name: EXEC_ENV, enabled: true, allocatedMemoryKiB: 262_144, allocatedCpuPercent: 100, allocatedDiskKiB: 2_097_152, currentRunLevel: -1 };
  #agent: FakeAgent | undefined;
  readonly #store;
  readonly #saves = new Set<Promise<unknown>>();
  readonly #deaths = new WeakMap<FakeAgent, () => void>();
  readonly #options: SmmOptions;

  private constructor(dir: string, catalog: FakePackageCatalog, options: SmmOptions) {
    this.dir = dir;
    this.catalog = catalog;
    this.#options = options;
    this.clock = new ManualClock();
    this.runtime = new InMemoryRuntime({ now: () => this.clock.now() });
    this.clock.activity = () => this.runtime.calls.length + this.clock.fired;
    this.#store = createJsonStateStore<{ smm: SmmState }>(join(dir, 'data'));
    // What the test apps do when started, from their command (the fake runs no process).
    this.runtime.onStart((container) => {
      if (container.spec.command.includes(CRASH_AT_START)) {
        for (const volume of container.spec.volumes) this.runtime.writeVolumeFile(volume.name, 'state.txt', `written by ${container.name} before it crashed`);
        this.runtime.exit(container.id, 3);
      }
    });
  }

  /** A fixture with its own runtime, clock and state, on a catalog the test file built once. */
  static async open(catalog: FakePackageCatalog, options: Partial<SmmOptions> = {}): Promise<SmmFakeFixture> {
    // The state store syncs every write to disk; on tmpfs that costs nothing, and these tests save a lot.
    const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'berth-smm-fake-'));
    const fixture = new SmmFakeFixture(dir, catalog, { ...FAKE_SMM_OPTIONS, ...options });
    await fixture.start();
    return fixture;
  }

  /** Runs `body` on a new fixture and closes it afterwards, also when the body fails. */
  static async use(catalog: FakePackageCatalog, body: (fx: SmmFakeFixture) => Promise<void>, options: Partial<SmmOptions> = {}): Promise<void> {
    const fx = await SmmFakeFixture.open(catalog, options);
    try {
      await body(fx);
    } finally {
      await fx.close();
    }
  }

  get agent(): FakeAgent {
    if (!this.#agent) throw new Error('no agent started');
    return this.#agent;
  }

  get smm(): SmmService {
    return this.agent.smm;
  }

  /** Boots a new agent on the saved state and the same runtime (the previous one must be dead or closed). */
  async start(): Promise<FakeAgent> {
    await Promise.allSettled([...this.#saves]);
    const saved = await this.#store.load();
    const state = saved?.smm ?? emptySmmState();
    const work = createWorkArea(join(this.dir, 'data', 'work'));
    await work.clear();
    let died = (): void => undefined;
    const agent = { reports: [], calls: [], dead: false, plan: undefined, beforeCall: undefined, died: new Promise<void>((resolve) => (died = resolve)) } as unknown as FakeAgent & { smm: SmmService };
    this.#deaths.set(agent, died);
    const smm = createSmmService(
      {
        runtime: this.#gated(agent),
        catalog: this.catalog,
        work,
        owner: OWNER,
        cpuCount: 2,
        execEnv: (name) => (name === this.execEnv.name ? this.execEnv : undefined),
        isolation: () => DEFAULT_EXEC_ENV_ISOLATION,
        persist: (current) => {
          if (agent.dead) return never();
          const saving = this.#store.save({ smm: current });
          this.#saves.add(saving);
          void saving.finally(() => this.#saves.delete(saving)).catch(() => undefined);
          return saving;
        },
        options: this.#options,
        logger: createSilentLogger(),
        clock: this.clock.for(agent),
      },
      state,
    );
    (agent as { smm: SmmService }).smm = smm;
    smm.onReport((report) => {
      if (!agent.dead) agent.reports.push(report);
    });
    this.#agent = agent;
    await this.run(smm.boot());
    return agent;
  }

  /** The agent is killed: nothing it started reaches the runtime or the disk any more. */
  crash(agent: FakeAgent = this.agent): void {
    if (agent.dead) return;
    agent.dead = true;
    this.#deaths.get(agent)?.();
    this.clock.cancelAll(agent);
    agent.smm.close();
  }

  /** Stops the agent as the process would on SIGTERM (no crash), so a new one can start. */
  async stop(): Promise<void> {
    await this.run(this.smm.idle());
    this.crash();
  }

  /** Waits for `promise`, moving the clock on only when nothing else is happening (probation, back-off). */
  async run<T>(promise: Promise<T>): Promise<T> {
    let done = false;
    promise.then(() => (done = true), () => (done = true));
    const realDeadline = Date.now() + 15_000;
    while (!done) {
      await settle(this.clock.activity);
      if (done) break;
      const next = this.clock.nextDue();
      if (next !== undefined && next - this.clock.now() <= 1000) await this.clock.advanceTo(next);
      else await new Promise((resolve) => setTimeout(resolve, 1));
      if (Date.now() > realDeadline) throw new Error(`still waiting after 15 s of real time (clock at +${this.clock.now() - Date.UTC(2030, 0, 1)} ms)`);
    }
    return promise;
  }

  settle(): Promise<void> {
    return settle(this.clock.activity);
  }

  async install(url: string, extra: { autoRestart?: AutoRestartPolicy; uuid?: string } = {}): Promise<DuOperationReport> {
    return this.run(this.smm.install({ url, execEnv: EXEC_ENV, ...extra }));
  }

  async update(name: string, url: string, retainData = false): Promise<DuOperationReport> {
    return this.run(this.smm.update(this.entry(name), { url, retainData }));
  }

  async uninstall(name: string, retainData = false): Promise<DuOperationReport> {
    return this.run(this.smm.uninstall(this.entry(name), { retainData }));
  }

  entry(name: string): DeploymentEntry {
    const entry = this.smm.deployments().find((e) => e.record.name === name);
    if (!entry) throw new Error(`no DU ${name}`);
    return entry;
  }

  /** The container of a unit of an installed DU. */
  containerOf(name: string, unit: string): string {
    const id = this.entry(name).record.units.find((u) => u.name === unit)?.containerId;
    if (!id) throw new Error(`no unit ${unit} in ${name}`);
    return id;
  }

  /** The DU and EU rows as the SMM service shows them. */
  rows(): DuRow[] {
    return this.smm.deployments().map((entry) => ({
      name: entry.record.name,
      version: entry.record.version,
      status: this.smm.duStatus(entry),
      instance: entry.instance,
      units: entry.units.map((unit) => {
        const view = this.smm.unitView(entry, unit);
        return { name: unit.name, instance: unit.instance, status: view.status, fault: view.fault.code, message: view.fault.message };
      }),
    }));
  }

  /**
   * Where berth's records and the runtime disagree: a recorded object missing or of another version, a unit that
   * should run and does not (or the reverse), an operation still in flight, and anything labelled with this
   * agent or named by it that no record holds. An image loaded but not yet named when a crash came is left for
   * `docker image prune` (README, Recovery): such images are listed apart, in `unnamedImages`.
   */
  problems(): string[] {
    const state = this.smm.state;
    const out: string[] = [];
    if (state.inFlight.length > 0) out.push(`in flight: ${state.inFlight.map((op) => op.kind).join(', ')}`);
    const containers = new Set<string>();
    const volumes = new Set<string>(state.retainedVolumes);
    const networks = new Set<string>();
    const imageNames = new Set<string>();
    for (const entry of state.deployments) {
      const { record } = entry;
      const image = this.runtime.images.find((i) => i.id === record.imageId);
      if (!image) out.push(`${record.name}: image ${record.imageId} is gone`);
      else if (record.imageName && !image.tags.includes(record.imageName)) out.push(`${record.name}: image has lost its name ${record.imageName}`);
      if (record.imageName) imageNames.add(record.imageName);
      if (record.network) {
        networks.add(record.network);
        if (!this.runtime.networks.some((n) => n.name === record.network)) out.push(`${record.name}: network ${record.network} is gone`);
      }
      for (const volume of record.volumes) {
        volumes.add(volume.name);
        if (!this.runtime.volumes.some((v) => v.name === volume.name)) out.push(`${record.name}: volume ${volume.name} is gone`);
      }
      for (const unit of record.units) {
        containers.add(unit.containerId);
        const container = this.runtime.container(unit.containerId);
        const settings = entry.units.find((u) => u.name === unit.name);
        if (!container) {
          out.push(`${record.name}/${unit.name}: container is gone`);
          continue;
        }
        if (container.spec.labels[LABEL_VERSION] !== record.version) out.push(`${record.name}/${unit.name}: container is version ${container.spec.labels[LABEL_VERSION]}, the record ${record.version}`);
        const shouldRun = settings?.requested === 'Active' && this.execEnv.enabled;
        const status = settings ? this.smm.unitView(entry, settings).status : 'none';
        if (shouldRun && (container.status !== 'running' || status !== 'Active')) out.push(`${record.name}/${unit.name}: should run, container ${container.status}, EU ${status}`);
        if (!shouldRun && container.status === 'running') out.push(`${record.name}/${unit.name}: runs though it should not`);
      }
      if (entry.units.length !== record.units.length) out.push(`${record.name}: ${entry.units.length} EU rows for ${record.units.length} units`);
    }
    const mine = (labels: Readonly<Record<string, string>>): boolean => labels[LABEL_OWNER] === OWNER;
    for (const c of this.runtime.containers) if (mine(c.spec.labels) && !containers.has(c.id)) out.push(`orphan container ${c.name} (${c.status})`);
    for (const v of this.runtime.volumes) if ((mine(v.labels) || v.name.startsWith('berth-')) && !volumes.has(v.name)) out.push(`orphan volume ${v.name}`);
    for (const n of this.runtime.networks) if (mine(n.labels) && !networks.has(n.name)) out.push(`orphan network ${n.name}`);
    for (const image of this.runtime.images) {
      for (const tag of image.tags) if (tag.startsWith(imageNamePrefixOf(OWNER)) && !imageNames.has(tag)) out.push(`orphan image name ${tag}`);
    }
    return out;
  }

  /** Images without any name that no record uses (what a crash between loading and naming leaves). */
  unnamedImages(): string[] {
    const used = new Set(this.smm.state.deployments.map((e) => e.record.imageId));
    return this.runtime.images.filter((image) => image.tags.length === 0 && !used.has(image.id)).map((image) => image.id);
  }

  async close(): Promise<void> {
    if (this.#agent && !this.#agent.dead) this.crash();
    await Promise.allSettled([...this.#saves]);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The runtime as this agent sees it: each call counted, failed or turned into the agent's death as planned. */
  #gated(agent: FakeAgent): ContainerRuntime {
    const runtime = this.runtime;
    const gate = <K extends RuntimeOperation>(operation: K) =>
      ((...args: unknown[]) => {
        if (agent.dead) return never();
        const index = agent.calls.length;
        agent.calls.push(operation);
        agent.beforeCall?.(operation);
        const plan = agent.plan?.at === index ? agent.plan : undefined;
        if (plan && plan.kind !== 'crash-after') runtime.failNext(operation, { afterEffect: plan.kind === 'fail-after-effect' });
        const call = (runtime[operation] as (...a: unknown[]) => Promise<unknown>).apply(runtime, args);
        if (plan?.kind !== 'crash-after') return call;
        // The call takes effect; the agent dies before it hears the answer.
        return call.then(
          () => {
            this.crash(agent);
            return never();
          },
          () => {
            this.crash(agent);
            return never();
          },
        );
      }) as ContainerRuntime[K];
    return Object.fromEntries(Object.keys(OPERATIONS).map((operation) => [operation, gate(operation as RuntimeOperation)])) as unknown as ContainerRuntime;
  }
}
