// What Software Module Management relies on from a ContainerRuntime, as tests any implementation must pass: the
// Docker adapter on the real Docker Engine (test/integration/runtime/docker-runtime.contract.test.ts) and the
// in-memory runtime (test/unit/runtime/in-memory-runtime.contract.test.ts). When the two disagree the real engine
// is right and the fake is fixed. A "subject" gives the suite a runtime plus what only a test can do to it: make a
// container's process exit or run out of memory, put a file in a container, take the runtime away.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { RuntimeError } from '../../src/runtime/container-runtime.ts';
import type { ContainerRuntime, ContainerSpec, RuntimeEvent } from '../../src/runtime/container-runtime.ts';
import { LABEL_EU, LABEL_OWNER } from '../../src/runtime/labels.ts';
import { writeProbeImage } from '../helpers/probe-image.ts';
import type { ProbeImage } from '../helpers/probe-image.ts';

export interface ContractSubject {
  runtime: ContainerRuntime;
  /** Every object the suite creates carries `io.berth.owner=<owner>`; the subject removes them all on close. */
  owner: string;
  /** A name for a test image, one the subject removes on close. */
  imageName(tag: string): string;
  /** The command of the suite's containers: logs `started`, then runs until stopped or told to exit. */
  command: readonly string[];
  /** The same, but ignoring SIGTERM: `docker stop` has to kill it. */
  stubbornCommand: readonly string[];
  /** The running container's process exits with `code`. */
  exit(id: string, code: number): Promise<void>;
  /** The running container's process allocates memory beyond its limit. */
  exhaustMemory(id: string): Promise<void>;
  /** Writes a file at `path` (in a volume) of a container, running or not. */
  writeFile(id: string, path: string, text: string): Promise<void>;
  /** The file at `path` (in a volume) of a container, running or not; undefined if missing. */
  readFile(id: string, path: string): Promise<string | undefined>;
  /** Removes a network the way `docker network rm` does, behind berth's back. */
  removeNetworkOutsideBerth(name: string): Promise<void>;
  /** The runtime goes away (every call of `outage.runtime` fails) and comes back. */
  outage: { runtime: ContainerRuntime; begin(): Promise<void>; end(): Promise<void> };
  /** Removes everything the test created, even after a failure. */
  close(): Promise<void>;
}

export interface ContractTarget {
  name: string;
  skip: string | false;
  open(): Promise<ContractSubject>;
}

// The name the test archive carries: loading must not give it (a package could take the host's own image names).
const ARCHIVE_NAME = 'berth-test/contract-archive-name:1';
const NO_EGRESS = { allow: [], deny: [], others: false };
// Generous for a real engine on a busy machine; the fake answers at once.
const EVENT_TIMEOUT_MS = 15_000;

/** Events of one subscription, kept in order, so a test can wait for one and check what came before. */
class EventLog {
  readonly seen: RuntimeEvent[] = [];
  readonly #taken = new Set<RuntimeEvent>();
  readonly #abort = new AbortController();
  #waiters: (() => void)[] = [];
  ended: { error: unknown } | undefined;

  static async open(runtime: ContainerRuntime, label: string): Promise<EventLog> {
    const log = new EventLog();
    const stream = await runtime.events(label, log.#abort.signal);
    void (async () => {
      try {
        for await (const event of stream) {
          log.seen.push(event);
          log.#wake();
        }
        log.ended = { error: undefined };
      } catch (error) {
        log.ended = { error };
      }
      log.#wake();
    })();
    return log;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async #until<T>(found: () => T | undefined, what: string): Promise<T> {
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (this.ended) throw new Error(`the event stream ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${EVENT_TIMEOUT_MS} ms; seen: ${this.seen.map((e) => `${e.action} ${e.id.slice(0, 12)}`).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first such event not returned before. */
  async next(action: string, id: string): Promise<RuntimeEvent> {
    const event = await this.#until(() => this.seen.find((e) => !this.#taken.has(e) && e.type === 'container' && e.action === action && e.id === id), `${action} of ${id.slice(0, 12)}`);
    this.#taken.add(event);
    return event;
  }

  /** The container's actions seen so far, in order, leaving out what a test driver causes (exec_*). */
  actionsOf(id: string): string[] {
    return this.seen.filter((e) => e.id === id && !e.action.startsWith('exec_')).map((e) => e.action);
  }

  async end(): Promise<{ error: unknown }> {
    return this.#until(() => this.ended, 'ended');
  }

  close(): void {
    this.#abort.abort();
  }
}

async function tarOf(members: Record<string, Buffer>): Promise<Buffer> {
  const archive = pack();
  for (const [name, data] of Object.entries(members)) archive.entry({ name, mtime: new Date(0) }, data);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A well-formed `docker save` archive whose config names a layer digest the layer does not have. */
async function writeMismatchedImage(path: string): Promise<void> {
  const layer = await tarOf({ marker: Buffer.from('mismatch') });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [], Layers: ['layer/layer.tar'] }]));
  await writeFile(path, await tarOf({ 'layer/layer.tar': layer, [configName]: config, 'manifest.json': manifest }));
}

function isRuntimeError(code: RuntimeError['code']): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof RuntimeError, `a RuntimeError, not ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

const isZeroTime = (time: string): boolean => time.startsWith('0001-01-01');

export function registerContainerRuntimeContract(target: ContractTarget): void {
  describe(`ContainerRuntime contract: ${target.name}`, { skip: target.skip }, () => {
    let work = '';
    let probe: ProbeImage;
    let other: ProbeImage;
    let withVolume: ProbeImage;
    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'berth-contract-'));
      probe = await writeProbeImage(join(work, 'probe.tar'), { marker: 'contract', repoTags: [ARCHIVE_NAME] });
      other = await writeProbeImage(join(work, 'other.tar'), { marker: 'contract-other' });
      withVolume = await writeProbeImage(join(work, 'volume.tar'), { marker: 'contract-volume', volumes: ['/data', '/cache'] });
      await writeMismatchedImage(join(work, 'mismatch.tar'));
    });
    after(async () => {
      if (work) await rm(work, { recursive: true, force: true });
    });

    /** Runs `body` with a fresh subject, closed (everything removed) whatever happens. */
    const withSubject = (body: (s: ContractSubject) => Promise<void>) => async () => {
      const subject = await target.open();
      try {
        await body(subject);
      } finally {
        await subject.close();
      }
    };
    const load = async (s: ContractSubject, image: ProbeImage, tag: string): Promise<string> => {
      const { imageId } = await s.runtime.loadImage(createReadStream(image.path));
      // Named at once, so the subject's cleanup finds it.
      await s.runtime.tagImage(imageId, s.imageName(tag));
      return imageId;
    };
    const spec = (s: ContractSubject, name: string, image: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: `${s.owner}-${name}`,
      image,
      command: s.command,
      env: {},
      labels: { [LABEL_OWNER]: s.owner, [LABEL_EU]: name },
      memoryKiB: 16384,
      nanoCpus: 200_000_000,
      pidsLimit: 64,
      user: '1000:1000',
      network: { mode: 'none' },
      volumes: [],
      capabilities: [],
      tmpfsKiB: 1024,
      logMaxBytes: 100_000,
      ...overrides,
    });
    const running = async (s: ContractSubject, events: EventLog, name: string, image: string, overrides: Partial<ContainerSpec> = {}): Promise<string> => {
      const id = await s.runtime.createContainer(spec(s, name, image, overrides));
      await s.runtime.startContainer(id);
      await events.next('start', id);
      return id;
    };
    const owned = (s: ContractSubject): string => `${LABEL_OWNER}=${s.owner}`;

    test('ping and engineVersion answer', withSubject(async (s) => {
      await s.runtime.ping();
      assert.match(await s.runtime.engineVersion(), /^\d+\.\d+/);
    }));

    test('a loaded image has the ID of its config and none of the names its archive carries', withSubject(async (s) => {
      const { imageId } = await s.runtime.loadImage(createReadStream(probe.path));
      assert.equal(imageId, probe.imageId);
      await s.runtime.tagImage(imageId, s.imageName('probe'));
      assert.deepEqual((await s.runtime.inspectImage(imageId))?.tags, [s.imageName('probe')], `not ${ARCHIVE_NAME}, which the archive asked for`);
      assert.equal(await s.runtime.inspectImage(ARCHIVE_NAME), undefined);
      assert.equal((await s.runtime.loadImage(createReadStream(probe.path))).imageId, imageId, 'loading it again is the same image');
      assert.deepEqual((await s.runtime.inspectImage(imageId))?.tags, [s.imageName('probe')], 'and keeps its names');
      const listed = (await s.runtime.listImages()).find((image) => image.id === imageId);
      assert.deepEqual(listed, { id: imageId, tags: [s.imageName('probe')] });
      const volumes = await load(s, withVolume, 'volumes');
      assert.deepEqual((await s.runtime.inspectImage(volumes))?.volumes.sort(), ['/cache', '/data'], 'the VOLUMEs it declares');
      assert.equal(await s.runtime.inspectImage(`sha256:${'e'.repeat(64)}`), undefined);
      assert.equal(await s.runtime.inspectImage(s.imageName('never-given')), undefined);
    }));

    test('names: found by name, moved from image to image, the image goes with its last name', withSubject(async (s) => {
      const first = await load(s, probe, 'first');
      const second = await load(s, other, 'second');
      assert.equal((await s.runtime.inspectImage(s.imageName('first')))?.id, first);
      await s.runtime.tagImage(second, s.imageName('first'));
      assert.equal((await s.runtime.inspectImage(s.imageName('first')))?.id, second, 'the name moved');
      assert.deepEqual((await s.runtime.inspectImage(first))?.tags, [], 'the image it left stays, unnamed');
      assert.deepEqual((await s.runtime.inspectImage(second))?.tags.sort(), [s.imageName('first'), s.imageName('second')].sort());
      await s.runtime.untagImage(s.imageName('second'));
      assert.deepEqual((await s.runtime.inspectImage(second))?.tags, [s.imageName('first')], 'one of two names goes, the image stays');
      await s.runtime.untagImage(s.imageName('first'));
      assert.equal(await s.runtime.inspectImage(second), undefined, 'the image went with its last name');
      await s.runtime.untagImage(s.imageName('first'));
      await assert.rejects(s.runtime.tagImage(`sha256:${'0'.repeat(64)}`, s.imageName('ghost')), isRuntimeError('NOT_FOUND'));
      await s.runtime.tagImage(first, s.imageName('first'));
    }));

    test('an archive Docker cannot load is BAD_IMAGE', withSubject(async (s) => {
      await assert.rejects(s.runtime.loadImage(createReadStream(new URL(import.meta.url))), isRuntimeError('BAD_IMAGE'));
      await assert.rejects(s.runtime.loadImage(createReadStream(join(work, 'mismatch.tar'))), isRuntimeError('BAD_IMAGE'));
      await s.runtime.ping();
    }));

    test('an image a container uses keeps its last name: CONFLICT', withSubject(async (s) => {
      const imageId = await load(s, probe, 'used');
      const id = await s.runtime.createContainer(spec(s, 'user', imageId));
      await assert.rejects(s.runtime.untagImage(s.imageName('used')), isRuntimeError('CONFLICT'));
      assert.deepEqual((await s.runtime.inspectImage(imageId))?.tags, [s.imageName('used')]);
      await s.runtime.removeContainer(id);
      await s.runtime.untagImage(s.imageName('used'));
      assert.equal(await s.runtime.inspectImage(imageId), undefined);
    }));

    test('create: a created container with its name, labels, image and ports; listed by label', withSubject(async (s) => {
      const imageId = await load(s, probe, 'create');
      const network = `${s.owner}-create-net`;
      await s.runtime.createNetwork(network, { [LABEL_OWNER]: s.owner }, NO_EGRESS);
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const id = await s.runtime.createContainer(spec(s, 'app', s.imageName('create'), { network: { mode: 'network', name: network, ports: [{ container: 8080, host: port, protocol: 'udp', address: '127.0.0.1' }] } }));
      assert.match(id, /^[0-9a-f]{64}$/);
      const state = await s.runtime.inspectContainer(id);
      assert.deepEqual(state, {
        id,
        name: `${s.owner}-app`,
        imageId,
        labels: { [LABEL_OWNER]: s.owner, [LABEL_EU]: 'app' },
        status: 'created',
        exitCode: 0,
        oomKilled: false,
        startedAt: state?.startedAt,
        finishedAt: state?.finishedAt,
        ports: [{ host: port, protocol: 'udp', address: '127.0.0.1' }],
      });
      assert.ok(isZeroTime(state.startedAt) && isZeroTime(state.finishedAt), 'never started, never finished');
      const bystander = await s.runtime.createContainer(spec(s, 'bystander', imageId, { labels: { [LABEL_OWNER]: s.owner, 'io.berth.test-other': 'x' } }));
      assert.deepEqual((await s.runtime.listContainers(owned(s))).map((c) => c.id).sort(), [id, bystander].sort());
      assert.deepEqual((await s.runtime.listContainers(LABEL_EU)).filter((c) => c.labels[LABEL_OWNER] === s.owner).map((c) => c.id), [id], 'a label alone matches whatever its value');
      assert.deepEqual(await s.runtime.listContainers(`${LABEL_OWNER}=${s.owner}-nobody`), []);
      assert.equal(await s.runtime.inspectContainer(`${'0'.repeat(63)}1`), undefined);
    }));

    test('create refuses a taken name (CONFLICT), a missing image (NOT_FOUND), a name Docker cannot take', withSubject(async (s) => {
      const imageId = await load(s, probe, 'refuse');
      await s.runtime.createContainer(spec(s, 'taken', imageId));
      await assert.rejects(s.runtime.createContainer(spec(s, 'taken', imageId)), isRuntimeError('CONFLICT'));
      await assert.rejects(s.runtime.createContainer(spec(s, 'ghost', `sha256:${'1'.repeat(64)}`)), isRuntimeError('NOT_FOUND'));
      await assert.rejects(s.runtime.createContainer({ ...spec(s, 'x', imageId), name: 'not a name!' }), isRuntimeError('FAILED'));
      assert.equal((await s.runtime.listContainers(owned(s))).length, 1);
    }));

    test('start, stop, start again, remove: states, times and events in order', withSubject(async (s) => {
      const imageId = await load(s, probe, 'life');
      const events = await EventLog.open(s.runtime, owned(s));
      try {
        const id = await s.runtime.createContainer(spec(s, 'life', imageId));
        await events.next('create', id);
        await s.runtime.stopContainer(id, 1);
        await s.runtime.startContainer(id);
        const started = await events.next('start', id);
        assert.equal(started.labels[LABEL_EU], 'life', 'the event carries the container labels');
        assert.equal(started.labels['name'], `${s.owner}-life`);
        assert.ok(Math.abs(started.time - Date.now() / 1000) < 60, 'event time is in seconds since the epoch');
        await s.runtime.startContainer(id);
        const up = await s.runtime.inspectContainer(id);
        assert.equal(up?.status, 'running');
        assert.equal(up?.exitCode, 0);
        assert.ok(!isZeroTime(up.startedAt) && isZeroTime(up.finishedAt));
        await s.runtime.stopContainer(id, 5);
        const died = await events.next('die', id);
        await events.next('stop', id);
        assert.equal(died.exitCode, 143, 'it exits on SIGTERM');
        const down = await s.runtime.inspectContainer(id);
        assert.equal(down?.status, 'exited');
        assert.equal(down?.exitCode, 143);
        assert.ok(Date.parse(down.finishedAt) >= Date.parse(down.startedAt));
        await s.runtime.stopContainer(id, 1);
        await s.runtime.startContainer(id);
        const again = await s.runtime.inspectContainer(id);
        assert.equal(again?.status, 'running');
        assert.equal(again?.exitCode, 0, 'a new run has no exit code yet');
        assert.equal(again?.finishedAt, down?.finishedAt, 'FinishedAt is the last run’s until this one ends');
        assert.ok(Date.parse(again.startedAt) >= Date.parse(down.startedAt));
        await s.runtime.removeContainer(id);
        const killed = await events.next('die', id);
        assert.equal(killed.exitCode, 137, 'a running container is killed');
        await events.next('destroy', id);
        const actions = events.actionsOf(id);
        assert.deepEqual(actions.filter((a) => ['create', 'start', 'die', 'stop', 'destroy'].includes(a)), ['create', 'start', 'die', 'stop', 'start', 'die', 'destroy']);
        assert.equal(await s.runtime.inspectContainer(id), undefined);
        for (const call of [() => s.runtime.startContainer(id), () => s.runtime.stopContainer(id, 1), () => s.runtime.removeContainer(id), () => s.runtime.usage(id), () => s.runtime.logs(id, 10)]) {
          await assert.rejects(call(), isRuntimeError('NOT_FOUND'));
        }
      } finally {
        events.close();
      }
    }));

    test('a process that exits: die with its code, then exited with that code and FinishedAt', withSubject(async (s) => {
      const imageId = await load(s, probe, 'exit');
      const events = await EventLog.open(s.runtime, owned(s));
      try {
        const id = await running(s, events, 'crash', imageId);
        await s.exit(id, 3);
        const died = await events.next('die', id);
        assert.equal(died.exitCode, 3);
        assert.equal(died.labels[LABEL_OWNER], s.owner);
        const state = await s.runtime.inspectContainer(id);
        assert.equal(state?.status, 'exited');
        assert.equal(state?.exitCode, 3);
        assert.equal(state?.oomKilled, false);
        assert.ok(Date.parse(state.finishedAt) >= Date.parse(state.startedAt));
        assert.ok(!events.actionsOf(id).includes('stop'), 'nobody stopped it');
        await s.runtime.stopContainer(id, 1);
      } finally {
        events.close();
      }
    }));

    test('a process over its memory limit is OOM-killed: oom, die 137, OOMKilled', withSubject(async (s) => {
      const imageId = await load(s, probe, 'oom');
      const events = await EventLog.open(s.runtime, owned(s));
      try {
        const id = await running(s, events, 'hungry', imageId, { memoryKiB: 8192 });
        await s.exhaustMemory(id);
        const died = await events.next('die', id);
        assert.equal(died.exitCode, 137);
        assert.ok(events.actionsOf(id).indexOf('oom') >= 0 && events.actionsOf(id).indexOf('oom') < events.actionsOf(id).indexOf('die'), 'oom comes before die');
        const state = await s.runtime.inspectContainer(id);
        assert.equal(state?.oomKilled, true);
        assert.equal(state?.exitCode, 137);
        // Docker keeps OOMKilled through the next start; the next exit sets it again.
        await s.runtime.startContainer(id);
        await events.next('start', id);
        await s.runtime.stopContainer(id, 1);
        await events.next('die', id);
        assert.equal((await s.runtime.inspectContainer(id))?.oomKilled, false, 'a stop is no OOM kill');
      } finally {
        events.close();
      }
    }));

    test('a process that ignores SIGTERM is killed when the stop timeout runs out: 137', withSubject(async (s) => {
      const imageId = await load(s, probe, 'stubborn');
      const events = await EventLog.open(s.runtime, owned(s));
      try {
        const id = await running(s, events, 'stubborn', imageId, { command: s.stubbornCommand });
        await s.runtime.stopContainer(id, 1);
        assert.equal((await events.next('die', id)).exitCode, 137);
        await events.next('stop', id);
        assert.equal((await s.runtime.inspectContainer(id))?.exitCode, 137);
      } finally {
        events.close();
      }
    }));

    test('events: only what happens after subscribing, only containers with the label; abort ends the stream quietly', withSubject(async (s) => {
      const imageId = await load(s, probe, 'events');
      const before = await s.runtime.createContainer(spec(s, 'before', imageId));
      const events = await EventLog.open(s.runtime, owned(s));
      const others = await EventLog.open(s.runtime, `${LABEL_OWNER}=${s.owner}-other`);
      let stranger: string | undefined;
      try {
        stranger = await s.runtime.createContainer(spec(s, 'stranger', imageId, { labels: { [LABEL_OWNER]: `${s.owner}-other` } }));
        const id = await running(s, events, 'watched', imageId);
        await s.runtime.startContainer(before);
        await events.next('start', before);
        await others.next('create', stranger);
        assert.ok(!events.seen.some((e) => e.id === stranger), 'not another owner’s container');
        assert.ok(!events.seen.some((e) => e.id === before && e.action === 'create'), 'nothing from before the subscription');
        assert.ok(!others.seen.some((e) => e.id === id));
        await s.runtime.createVolume(`${s.owner}-events-vol`, { [LABEL_OWNER]: s.owner });
        events.close();
        assert.deepEqual(await events.end(), { error: undefined });
        await s.runtime.stopContainer(id, 1);
        await s.runtime.stopContainer(before, 1);
        assert.ok(events.seen.every((e) => e.type === 'container'), 'a labelled subscription hears containers only');
      } finally {
        events.close();
        others.close();
        // Not the subject's owner: its cleanup would not find it.
        if (stranger) await s.runtime.removeContainer(stranger);
      }
    }));

    test('usage: memory of a running container, 0 % CPU on its first sample, nothing once stopped', withSubject(async (s) => {
      const imageId = await load(s, probe, 'usage');
      const events = await EventLog.open(s.runtime, owned(s));
      try {
        const id = await running(s, events, 'busy', imageId);
        const first = await s.runtime.usage(id);
        assert.ok(first.memoryBytes > 0, `memory in use (${first.memoryBytes})`);
        assert.equal(first.cpuPercent, 0, 'no earlier sample to measure against');
        const second = await s.runtime.usage(id);
        assert.ok(second.cpuPercent >= 0 && Number.isFinite(second.cpuPercent));
        await s.runtime.stopContainer(id, 1);
        assert.deepEqual(await s.runtime.usage(id), { memoryBytes: 0, cpuPercent: 0 });
      } finally {
        events.close();
      }
    }));

    test('logs: the last lines a container wrote; disk: its writable layer and its volumes', withSubject(async (s) => {
      const imageId = await load(s, probe, 'logs');
      const events = await EventLog.open(s.runtime, owned(s));
      try {
        const volume = `${s.owner}-logs-vol`;
        await s.runtime.createVolume(volume, { [LABEL_OWNER]: s.owner });
        const id = await running(s, events, 'talker', imageId, { volumes: [{ name: volume, path: '/data' }] });
        const deadline = Date.now() + EVENT_TIMEOUT_MS;
        while (!(await s.runtime.logs(id, 10)).includes('started')) {
          assert.ok(Date.now() < deadline, 'the app’s output arrives in its log');
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(await s.runtime.logs(id, 10), ['started']);
        assert.equal((await s.runtime.inspectContainer(id))?.writableBytes, undefined, 'only when asked for');
        const sized = await s.runtime.inspectContainer(id, true);
        assert.ok(Number.isInteger(sized?.writableBytes) && sized!.writableBytes! >= 0);
        const disk = await s.runtime.diskUsage();
        assert.ok(disk.containers.has(id));
        assert.ok(disk.volumes.has(volume));
        await s.runtime.stopContainer(id, 1);
      } finally {
        events.close();
      }
    }));

    test('volumes: created with labels (once), listed by label, kept while a container has them, auto-created by a mount', withSubject(async (s) => {
      const imageId = await load(s, probe, 'volumes');
      const data = `${s.owner}-data`;
      await s.runtime.createVolume(data, { [LABEL_OWNER]: s.owner, 'io.berth.volume': 'data' });
      await s.runtime.createVolume(data, { [LABEL_OWNER]: s.owner, 'io.berth.volume': 'changed' });
      assert.deepEqual(await s.runtime.listVolumes(owned(s)), [{ name: data, labels: { [LABEL_OWNER]: s.owner, 'io.berth.volume': 'data' } }], 'creating it again changes nothing');
      const implicit = `${s.owner}-implicit`;
      const id = await s.runtime.createContainer(spec(s, 'mounter', imageId, { volumes: [{ name: data, path: '/data' }, { name: implicit, path: '/cache' }] }));
      assert.ok((await s.runtime.diskUsage()).volumes.has(implicit), 'a mounted volume that did not exist is created, without labels');
      assert.deepEqual((await s.runtime.listVolumes(owned(s))).map((v) => v.name), [data]);
      await assert.rejects(s.runtime.removeVolume(data), isRuntimeError('CONFLICT'));
      await s.runtime.removeContainer(id);
      await s.runtime.removeVolume(data);
      await s.runtime.removeVolume(implicit);
      await s.runtime.removeVolume(data);
      assert.deepEqual(await s.runtime.listVolumes(owned(s)), []);
    }));

    test('copyPath carries a volume’s contents to another container’s volume, both stopped', withSubject(async (s) => {
      const imageId = await load(s, probe, 'copy');
      const from = `${s.owner}-old-data`;
      const to = `${s.owner}-new-data`;
      await s.runtime.createVolume(from, { [LABEL_OWNER]: s.owner });
      await s.runtime.createVolume(to, { [LABEL_OWNER]: s.owner });
      const oldId = await s.runtime.createContainer(spec(s, 'old', imageId, { volumes: [{ name: from, path: '/data' }] }));
      const newId = await s.runtime.createContainer(spec(s, 'new', imageId, { volumes: [{ name: to, path: '/var/app' }] }));
      await s.writeFile(oldId, '/data/settings.json', '{"kept":true}');
      await s.runtime.copyPath(oldId, '/data', newId, '/var/app');
      assert.equal(await s.readFile(newId, '/var/app/settings.json'), '{"kept":true}');
      assert.equal(await s.readFile(oldId, '/data/settings.json'), '{"kept":true}', 'the old volume stays as it was');
      await assert.rejects(s.runtime.copyPath(oldId, '/nonexistent', newId, '/var/app'), isRuntimeError('NOT_FOUND'));
      await assert.rejects(s.runtime.copyPath(`${'0'.repeat(63)}2`, '/data', newId, '/var/app'), isRuntimeError('NOT_FOUND'));
    }));

    test('networks: created confined, listed by label, unique by name, kept while a container runs on it', withSubject(async (s) => {
      const imageId = await load(s, probe, 'net');
      const events = await EventLog.open(s.runtime, owned(s));
      try {
        const name = `${s.owner}-net`;
        const networkId = await s.runtime.createNetwork(name, { [LABEL_OWNER]: s.owner, 'io.berth.du': 'x' }, NO_EGRESS);
        assert.deepEqual(await s.runtime.listNetworks(owned(s)), [{ id: networkId, name, labels: { [LABEL_OWNER]: s.owner, 'io.berth.du': 'x' } }]);
        await assert.rejects(s.runtime.createNetwork(name, { [LABEL_OWNER]: s.owner }, NO_EGRESS), isRuntimeError('CONFLICT'));
        await s.runtime.confineNetwork(name, { allow: ['192.0.2.0/24'], deny: [], others: false });
        await s.runtime.confineNetwork(networkId, NO_EGRESS);
        await assert.rejects(s.runtime.confineNetwork(`${s.owner}-no-net`, NO_EGRESS), isRuntimeError('NOT_FOUND'));
        assert.ok(!(await s.runtime.pruneNetworkRules()).includes(name), 'the rules of a network that exists stay');
        const id = await running(s, events, 'on-net', imageId, { network: { mode: 'network', name } });
        await assert.rejects(s.runtime.removeNetwork(name), isRuntimeError('FAILED'));
        await s.runtime.stopContainer(id, 1);
        await s.runtime.removeNetwork(name);
        assert.deepEqual(await s.runtime.listNetworks(owned(s)), []);
        await assert.rejects(s.runtime.startContainer(id), isRuntimeError('NOT_FOUND'), 'its network is gone');
        await s.runtime.removeNetwork(name);
        const orphan = `${s.owner}-orphan`;
        await s.runtime.createNetwork(orphan, { [LABEL_OWNER]: s.owner }, NO_EGRESS);
        await s.removeNetworkOutsideBerth(orphan);
        assert.ok((await s.runtime.pruneNetworkRules()).includes(orphan), 'the rules of a network removed behind berth’s back are pruned');
      } finally {
        events.close();
      }
    }));

    test('a host port already published by a running container: the second start fails, the container stays created', withSubject(async (s) => {
      const imageId = await load(s, probe, 'ports');
      const events = await EventLog.open(s.runtime, owned(s));
      try {
        const name = `${s.owner}-ports-net`;
        await s.runtime.createNetwork(name, { [LABEL_OWNER]: s.owner }, NO_EGRESS);
        const port = 20_000 + Math.floor(Math.random() * 20_000);
        const network = { mode: 'network' as const, name, ports: [{ container: 80, host: port, protocol: 'tcp' as const, address: '127.0.0.1' }] };
        const first = await running(s, events, 'first', imageId, { network });
        const second = await s.runtime.createContainer(spec(s, 'second', imageId, { network }));
        await assert.rejects(s.runtime.startContainer(second), isRuntimeError('FAILED'));
        assert.equal((await s.runtime.inspectContainer(second))?.status, 'created');
        await s.runtime.stopContainer(first, 1);
        await s.runtime.startContainer(second);
        await events.next('start', second);
        await s.runtime.stopContainer(second, 1);
      } finally {
        events.close();
      }
    }));

    test('an outage: every call is UNAVAILABLE, the event stream ends; after it, calls work and nothing was lost', withSubject(async (s) => {
      const runtime = s.outage.runtime;
      const imageId = await load(s, probe, 'outage');
      const id = await s.runtime.createContainer(spec(s, 'survivor', imageId));
      const events = await EventLog.open(runtime, owned(s));
      try {
        await runtime.ping();
        await s.outage.begin();
        const ended = await events.end();
        assert.ok(ended.error === undefined || ended.error instanceof RuntimeError, `the stream ends, or fails with a RuntimeError (${String(ended.error)})`);
        await assert.rejects(runtime.ping(), isRuntimeError('UNAVAILABLE'));
        await assert.rejects(runtime.engineVersion(), isRuntimeError('UNAVAILABLE'));
        await assert.rejects(runtime.listContainers(owned(s)), isRuntimeError('UNAVAILABLE'));
        await assert.rejects(runtime.startContainer(id), isRuntimeError('UNAVAILABLE'));
        await assert.rejects(runtime.inspectContainer(id), isRuntimeError('UNAVAILABLE'), 'not "no such container"');
        await assert.rejects(runtime.events(owned(s), new AbortController().signal), isRuntimeError('UNAVAILABLE'));
        await s.outage.end();
        await runtime.ping();
        assert.equal((await runtime.inspectContainer(id))?.status, 'created', 'the call made during the outage did nothing');
        assert.deepEqual((await runtime.listContainers(owned(s))).map((c) => c.id), [id]);
        const again = await EventLog.open(runtime, owned(s));
        try {
          await runtime.startContainer(id);
          await again.next('start', id);
          await runtime.stopContainer(id, 1);
        } finally {
          again.close();
        }
      } finally {
        events.close();
        await s.outage.end();
      }
    }));
  });
}
