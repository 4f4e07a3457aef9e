// The in-memory runtime's own test controls, which the contract suite cannot hold against Docker: the injected
// clock, failures of one call (before or after it took effect), scripted starts, an outage that stops containers,
// lost firewall rules, usage figures and the log cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeError } from '../../../src/runtime/container-runtime.ts';
import type { ContainerSpec, RuntimeEvent } from '../../../src/runtime/container-runtime.ts';
import { InMemoryRuntime } from '../../fakes/in-memory-runtime.ts';
import { writeProbeImage } from '../../helpers/probe-image.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NO_EGRESS = { allow: [], deny: [], others: false };

async function withImage(body: (runtime: InMemoryRuntime, imageId: string, clock: { ms: number }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-fake-'));
  try {
    const probe = await writeProbeImage(join(dir, 'probe.tar'));
    const clock = { ms: Date.UTC(2030, 0, 1) };
    const runtime = new InMemoryRuntime({ now: () => clock.ms });
    await runtime.loadImage(createReadStream(probe.path));
    await body(runtime, probe.imageId, clock);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const spec = (name: string, image: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name, image, command: [], env: {}, labels: { 'io.berth.owner': 'me' }, memoryKiB: 8192, nanoCpus: 1e8, pidsLimit: 8,
  user: '1000:1000', network: { mode: 'none' }, volumes: [], capabilities: [], tmpfsKiB: 64, logMaxBytes: 20, ...overrides,
});

test('times come from the injected clock; event times are its seconds', () => withImage(async (runtime, imageId, clock) => {
  const abort = new AbortController();
  const events = (await runtime.events('io.berth.owner=me', abort.signal))[Symbol.asyncIterator]();
  const id = await runtime.createContainer(spec('app-a', imageId));
  await runtime.startContainer(id);
  clock.ms += 90_000;
  runtime.exit(id, 2);
  const state = await runtime.inspectContainer(id);
  assert.equal(state?.startedAt, '2030-01-01T00:00:00.000Z');
  assert.equal(state?.finishedAt, '2030-01-01T00:01:30.000Z');
  const seen: RuntimeEvent[] = [];
  for (let i = 0; i < 3; i++) seen.push((await events.next()).value as RuntimeEvent);
  assert.deepEqual(seen.map((e) => [e.action, e.time]), [['create', Date.UTC(2030, 0, 1) / 1000], ['start', Date.UTC(2030, 0, 1) / 1000], ['die', Date.UTC(2030, 0, 1) / 1000 + 90]]);
  abort.abort();
}));

test('events arrive after the call that caused them has returned, never inside it', () => withImage(async (runtime, imageId) => {
  const abort = new AbortController();
  const seen: string[] = [];
  const stream = await runtime.events('io.berth.owner', abort.signal);
  void (async () => { for await (const event of stream) seen.push(event.action); })();
  const id = await runtime.createContainer(spec('app-a', imageId));
  await runtime.startContainer(id);
  assert.deepEqual(seen, []);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['create', 'start']);
  abort.abort();
}));

test('failNext: the next call fails without effect, or after it with afterEffect; then calls work again', () => withImage(async (runtime, imageId) => {
  runtime.failNext('createContainer');
  await assert.rejects(runtime.createContainer(spec('app-a', imageId)), (e: unknown) => e instanceof RuntimeError && e.code === 'FAILED' && /injected/.test(e.message));
  assert.equal(runtime.containers.length, 0);
  runtime.failNext('createContainer', { afterEffect: true, error: new RuntimeError('UNAVAILABLE', 'lost answer') });
  await assert.rejects(runtime.createContainer(spec('app-a', imageId)), { message: 'lost answer' });
  assert.equal(runtime.containers.length, 1, 'created, though the caller never learnt its ID');
  await assert.rejects(runtime.createContainer(spec('app-a', imageId)), (e: unknown) => e instanceof RuntimeError && e.code === 'CONFLICT');
  assert.deepEqual(runtime.calls.map((c) => c.operation), ['loadImage', 'createContainer', 'createContainer', 'createContainer']);
}));

test('onStart scripts a crash; stop behaviour and usage are set per container', () => withImage(async (runtime, imageId) => {
  runtime.onStart((container) => {
    if (container.name === 'crasher') runtime.exit(container.id, 1);
  });
  const crasher = await runtime.createContainer(spec('crasher', imageId));
  await runtime.startContainer(crasher);
  assert.equal((await runtime.inspectContainer(crasher))?.exitCode, 1);
  const app = await runtime.createContainer(spec('app', imageId));
  await runtime.startContainer(app);
  runtime.setUsage(app, { memoryBytes: 5_000_000, cpuPercent: 42 });
  assert.deepEqual(await runtime.usage(app), { memoryBytes: 5_000_000, cpuPercent: 0 }, 'first sample');
  assert.deepEqual(await runtime.usage(app), { memoryBytes: 5_000_000, cpuPercent: 42 });
  runtime.setStopBehaviour(app, { exitCode: 0 });
  await runtime.stopContainer(app, 7);
  assert.equal((await runtime.inspectContainer(app))?.exitCode, 0);
  assert.deepEqual(runtime.calls.find((c) => c.operation === 'stopContainer')?.args, [app, 7]);
}));

test('logs keep the newest lines within logMaxBytes', () => withImage(async (runtime, imageId) => {
  const id = await runtime.createContainer(spec('app-a', imageId));
  runtime.log(id, 'one', 'two', 'three', 'four', 'five', 'six');
  assert.deepEqual(await runtime.logs(id, 100), ['three', 'four', 'five', 'six']);
  assert.deepEqual(await runtime.logs(id, 2), ['five', 'six']);
}));

test('an outage that stops dockerd leaves running containers exited, unheard; it ends when told', () => withImage(async (runtime, imageId) => {
  const id = await runtime.createContainer(spec('app-a', imageId));
  await runtime.startContainer(id);
  runtime.startOutage({ stopContainers: true });
  await assert.rejects(runtime.inspectContainer(id), (e: unknown) => e instanceof RuntimeError && e.code === 'UNAVAILABLE');
  runtime.endOutage();
  const state = await runtime.inspectContainer(id);
  assert.equal(state?.status, 'exited');
  assert.equal(state?.exitCode, 143);
}));

test('firewall rules: set by createNetwork/confineNetwork, lost on a reboot, pruned once their network is gone', () => withImage(async (runtime) => {
  await runtime.createNetwork('n1', {}, NO_EGRESS);
  await runtime.confineNetwork('n1', { allow: ['10.0.0.0/8'], deny: [], others: false });
  assert.deepEqual(runtime.firewallRules('n1'), { allow: ['10.0.0.0/8'], deny: [], others: false });
  runtime.dropFirewallRules();
  assert.equal(runtime.firewallRules('n1'), undefined);
  await runtime.confineNetwork('n1', NO_EGRESS);
  runtime.removeNetworkOutsideBerth('n1');
  assert.deepEqual(await runtime.pruneNetworkRules(), ['n1']);
  assert.deepEqual(await runtime.pruneNetworkRules(), []);
}));
