// The Docker adapter against the real Docker Engine: load a sample image (built offline, without the name its
// archive carries), name it, create a hardened container with a volume and its own confined network, start it,
// watch its events, read its usage and logs, stop it; a crashing release reports its exit code; everything
// labelled is removed afterwards (the network's firewall rules with it), even on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDockerRuntime } from '../../../src/runtime/docker-runtime.ts';
import { createDockerEngine } from '../../../src/runtime/docker-engine.ts';
import { RuntimeError } from '../../../src/runtime/container-runtime.ts';
import type { ContainerRuntime, ContainerSpec, RuntimeEvent } from '../../../src/runtime/container-runtime.ts';
import { buildSampleRelease, findStaticBusybox } from '../../../src/catalog/samples/sample-apps.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ci = process.env['CI'] === 'true';
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const TEST_LABEL = 'io.berth.test';
const LABEL = `${TEST_LABEL}=runtime`;
const RUN = Math.random().toString(36).slice(2, 8);
const NO_EGRESS = { allow: [], deny: [], others: false };

/** Only the test's names go: the image stays if anything else (another test, the host) still holds it. */
async function cleanup(runtime: ContainerRuntime, imageNames: string[]): Promise<void> {
  for (const container of await runtime.listContainers(LABEL)) await runtime.removeContainer(container.id);
  for (const volume of await runtime.listVolumes(LABEL)) await runtime.removeVolume(volume.name);
  for (const network of await runtime.listNetworks(LABEL)) await runtime.removeNetwork(network.id);
  for (const name of imageNames) await runtime.untagImage(name).catch(() => undefined);
}

const berthRules = (): string => ['BERTH-INPUT', 'BERTH-FORWARD'].map((chain) => spawnSync('iptables', ['-w', '-S', chain], { encoding: 'utf8' }).stdout).join('');

function spec(name: string, image: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name,
    image,
    command: ['/bin/sh', '/app/run.sh'],
    env: { INTERVAL_SECONDS: '1' },
    labels: { [TEST_LABEL]: 'runtime', 'io.berth.eu': name },
    memoryKiB: 16384,
    nanoCpus: 200_000_000,
    pidsLimit: 64,
    user: '1000:1000',
    network: { mode: 'none' },
    volumes: [],
    capabilities: [],
    tmpfsKiB: 1024,
    logMaxBytes: 1_000_000,
    ...overrides,
  };
}

async function nextEvent(events: AsyncIterator<RuntimeEvent>, match: (e: RuntimeEvent) => boolean, ms = 10_000): Promise<RuntimeEvent> {
  const deadline = Date.now() + ms;
  for (;;) {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => { reject(new Error('no matching event in time')); }, Math.max(1, deadline - Date.now())));
    const next = await Promise.race([events.next(), timeout]);
    if (next.done) throw new Error('event stream ended');
    if (match(next.value)) return next.value;
  }
}

test('an unreachable Docker Engine is a RuntimeError UNAVAILABLE naming the socket', async () => {
  await assert.rejects(createDockerRuntime('/nonexistent/docker.sock').ping(), (error: unknown) => {
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.code, 'UNAVAILABLE');
    assert.match(error.message, /\/nonexistent\/docker\.sock/);
    return true;
  });
});

test('Docker adapter: load, create hardened, start, events, usage, logs, stop, crash exit code, cleanup by label', { skip: !dockerWorks && !ci ? 'Docker Engine not running' : false }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const runtime = createDockerRuntime();
  const work = await mkdtemp(join(tmpdir(), 'berth-runtime-'));
  const images: string[] = [];
  const events = new AbortController();
  try {
    const busybox = findStaticBusybox();
    const meter = await buildSampleRelease({ catalogSourceDir: join(root, 'catalog'), app: 'energy-monitor', manifestFile: 'app.json', outDir: work, busybox });
    const broken = await buildSampleRelease({ catalogSourceDir: join(root, 'catalog'), app: 'parental-control', manifestFile: 'app-1.2.0.json', outDir: work, busybox });
    const loaded = await runtime.loadImage(createReadStream(meter.imagePath));
    assert.equal(loaded.imageId, meter.imageId, 'the image ID is the one computed offline');
    const meterName = `berth-test/runtime-${RUN}:meter`;
    await runtime.tagImage(loaded.imageId, meterName);
    images.push(meterName);
    assert.ok((await runtime.inspectImage(meterName))!.tags.includes(meterName));
    const brokenName = `berth-test/runtime-${RUN}:broken`;
    await runtime.tagImage((await runtime.loadImage(createReadStream(broken.imagePath))).imageId, brokenName);
    images.push(brokenName);
    await assert.rejects(runtime.loadImage(createReadStream(join(root, 'package.json'))), (error: unknown) => error instanceof RuntimeError && error.code === 'BAD_IMAGE');

    const stream = (await runtime.events(LABEL, events.signal))[Symbol.asyncIterator]();
    await runtime.createVolume('berth-test-runtime-data', { [TEST_LABEL]: 'runtime' });
    const networkId = await runtime.createNetwork(`berth-test-runtime-net-${RUN}`, { [TEST_LABEL]: 'runtime' }, NO_EGRESS);
    assert.match(berthRules(), new RegExp(`berth:berth-test-runtime-net-${RUN}`), 'the network is confined from the start');
    const id = await runtime.createContainer(spec('berth-test-meter', loaded.imageId, { volumes: [{ name: 'berth-test-runtime-data', path: '/data' }], network: { mode: 'network', name: `berth-test-runtime-net-${RUN}` } }));
    const hostConfig = (await createDockerEngine().json<{ HostConfig: Record<string, unknown> }>('GET', `/containers/${id}/json`)).HostConfig;
    assert.equal(hostConfig['ReadonlyRootfs'], true);
    assert.deepEqual(hostConfig['CapDrop'], ['ALL']);
    assert.deepEqual(hostConfig['SecurityOpt'], ['no-new-privileges']);
    assert.equal(hostConfig['Memory'], 16384 * 1024);
    assert.equal(hostConfig['MemorySwap'], 16384 * 1024, 'no swap on top of the memory limit');
    assert.equal(hostConfig['Privileged'], false);
    assert.equal((await createDockerEngine().json<{ Config: { User: string } }>('GET', `/containers/${id}/json`)).Config.User, '1000:1000');
    assert.deepEqual(hostConfig['RestartPolicy'], { Name: 'no', MaximumRetryCount: 0 });

    await runtime.startContainer(id);
    const started = await nextEvent(stream, (e) => e.type === 'container' && e.action === 'start' && e.id === id);
    assert.equal(started.labels['io.berth.eu'], 'berth-test-meter');
    assert.equal((await runtime.inspectContainer(id))!.status, 'running');
    await new Promise((r) => setTimeout(r, 2500));
    const usage = await runtime.usage(id);
    assert.ok(usage.memoryBytes > 0, `memory in use reported (${usage.memoryBytes})`);
    assert.ok(usage.cpuPercent >= 0);
    assert.ok((await runtime.logs(id, 20)).some((line) => /meter: \d+ W/.test(line)), 'the app logs its readings');
    assert.ok(((await runtime.inspectContainer(id, true))!.writableBytes ?? -1) >= 0, 'writable layer size is reported');
    await runtime.stopContainer(id, 1);
    await nextEvent(stream, (e) => e.action === 'die' && e.id === id);
    assert.equal((await runtime.inspectContainer(id))!.status, 'exited');

    const crashId = await runtime.createContainer(spec('berth-test-crash', brokenName, { command: ['/bin/sh', '/app/crash.sh'] }));
    await runtime.startContainer(crashId);
    const died = await nextEvent(stream, (e) => e.action === 'die' && e.id === crashId);
    assert.equal(died.exitCode, 3, 'the exit code arrives with the die event');
    assert.equal((await runtime.listContainers(LABEL)).length, 2);
    assert.equal((await runtime.listNetworks(LABEL))[0]!.id, networkId);
    assert.equal(await runtime.inspectContainer('0123456789ab'), undefined);
  } finally {
    events.abort();
    await cleanup(runtime, images);
    await rm(work, { recursive: true, force: true });
  }
  assert.deepEqual(await runtime.listContainers(LABEL), []);
  assert.deepEqual(await runtime.listVolumes(LABEL), []);
  assert.deepEqual(await runtime.listNetworks(LABEL), []);
  assert.doesNotMatch(berthRules(), new RegExp(`berth-test-runtime-net-${RUN}`), 'its firewall rules went with the network');
});
