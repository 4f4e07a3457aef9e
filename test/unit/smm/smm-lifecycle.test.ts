// InstallDU, Update (probation passed, a crash on probation rolled back, an image that will not load) and
// Uninstall, run by the real SMM service on the in-memory runtime: what the Controller hears (DUStateChange! with
// its fault code), what the DU and EU rows show, and what is left on the "host" afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRASH_AT_START, FakePackageCatalog } from '../../helpers/fake-package-catalog.ts';
import type { FakeAppRelease } from '../../helpers/fake-package-catalog.ts';
import { SmmFakeFixture } from '../../helpers/smm-fake-fixture.ts';

const DATA = { name: 'data', path: '/data' };
const CACHE = { name: 'cache', path: '/cache', retain: false };
const hello = (version: string, web: string[] = ['/bin/app']): FakeAppRelease => ({
  name: 'hello',
  version,
  units: [
    { name: 'web', command: web, network: { mode: 'isolated' }, volumes: [DATA, CACHE] },
    { name: 'worker', autoStart: true },
  ],
});

let dir: string;
let catalog: FakePackageCatalog;
const url: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-smm-catalog-'));
  catalog = new FakePackageCatalog(dir);
  url['1.0.0'] = await catalog.add(hello('1.0.0'));
  url['1.1.0'] = await catalog.add(hello('1.1.0'));
  url['1.2.0'] = await catalog.add(hello('1.2.0', ['/bin/app', CRASH_AT_START]));
  url['1.3.0'] = await catalog.add({ ...hello('1.3.0'), brokenImage: true });
});
after(() => rm(dir, { recursive: true, force: true }));

const withFixture = (body: (fx: SmmFakeFixture) => Promise<void>): Promise<void> => SmmFakeFixture.use(catalog, body);

const names = (items: readonly { name: string }[]): string[] => items.map((item) => item.name).sort();

test('install: Installed with no fault, the DU and both EUs rows, units Active, everything labelled on the runtime', () => withFixture(async (fx) => {
  const report = await fx.install(url['1.0.0']!);
  assert.deepEqual([report.operation, report.currentState, report.version, report.fault], ['Install', 'Installed', '1.0.0', undefined]);
  assert.equal(report.duInstance, 1);
  assert.deepEqual(report.euInstances, [1, 2]);
  assert.deepEqual(fx.rows(), [{
    name: 'hello', version: '1.0.0', status: 'Installed', instance: 1,
    units: [
      { name: 'web', instance: 1, status: 'Active', fault: 'NoFault', message: '' },
      { name: 'worker', instance: 2, status: 'Active', fault: 'NoFault', message: '' },
    ],
  }]);
  assert.deepEqual(fx.runtime.containers.map((c) => [c.name, c.status]).sort(), [['berth-apps-hello-web-1.0.0', 'running'], ['berth-apps-hello-worker-1.0.0', 'running']]);
  assert.deepEqual(names(fx.runtime.volumes), ['berth-apps-hello-cache-1.0.0', 'berth-apps-hello-data-1.0.0']);
  assert.deepEqual(names(fx.runtime.networks), ['berth-apps-hello']);
  assert.equal(fx.runtime.images.length, 1);
  assert.match(fx.runtime.images[0]!.tags.join(), /^berth\/os-fake-gateway\/apps\/hello:1\.0\.0-[0-9a-f]{8}$/, "berth's own name, not the archive's hello:1.0.0");
  assert.deepEqual(fx.problems(), []);
  assert.deepEqual(fx.smm.allocatedIn('apps'), { memoryKiB: 16384, cpuPercent: 10, diskKiB: 8192 + Math.ceil(fx.entry('hello').unpackedBytes / 1024) });

  const again = await fx.install(url['1.0.0']!);
  assert.deepEqual([again.currentState, again.fault?.code], ['Failed', 7226], 'the same version twice');
  const unknown = await fx.install(url['1.0.0']!.replace('1.0.0', '9.9.9'));
  assert.deepEqual([unknown.currentState, unknown.fault?.code], ['Failed', 7036]);
  assert.equal(fx.rows().length, 1);
  assert.deepEqual(fx.problems(), []);
}));

test('install of an app that crashes on probation: Failed 7002 with the exit code, no row, nothing left', () => withFixture(async (fx) => {
  const report = await fx.install(url['1.2.0']!);
  assert.deepEqual([report.currentState, report.fault?.code, report.duInstance], ['Failed', 7002, undefined]);
  assert.match(report.fault!.message, /the app's unit web failed: exited with code 3/);
  assert.deepEqual(fx.rows(), []);
  assert.deepEqual([fx.runtime.containers.length, fx.runtime.volumes.length, fx.runtime.networks.length, fx.runtime.images.length], [0, 0, 0, 0]);
}));

test('update with a passing probation: same DU and EU rows at the new version, data carried over, the old version gone', () => withFixture(async (fx) => {
  await fx.install(url['1.0.0']!);
  fx.runtime.writeVolumeFile('berth-apps-hello-data-1.0.0', 'state.txt', 'blocked: kept.example');
  fx.runtime.writeVolumeFile('berth-apps-hello-cache-1.0.0', 'cache.txt', 'not retained');
  const network = fx.runtime.networks[0]!.id;

  const report = await fx.update('hello', url['1.1.0']!);
  assert.deepEqual([report.operation, report.currentState, report.version, report.fault, report.duInstance, report.euInstances], ['Update', 'Installed', '1.1.0', undefined, 1, [1, 2]]);
  assert.deepEqual(fx.rows().map((r) => [r.version, r.status, r.units.map((u) => [u.instance, u.status])]), [['1.1.0', 'Installed', [[1, 'Active'], [2, 'Active']]]]);
  assert.deepEqual(fx.runtime.containers.map((c) => [c.name, c.status]).sort(), [['berth-apps-hello-web-1.1.0', 'running'], ['berth-apps-hello-worker-1.1.0', 'running']]);
  const volumes = Object.fromEntries(fx.runtime.volumes.map((v) => [v.name, Object.fromEntries(v.files)]));
  assert.deepEqual(volumes, { 'berth-apps-hello-data-1.1.0': { 'state.txt': 'blocked: kept.example' }, 'berth-apps-hello-cache-1.1.0': {} }, 'retained data copied; the rest only with RetainData');
  assert.deepEqual(fx.runtime.networks.map((n) => n.id), [network], 'the app keeps its network');
  assert.equal(fx.runtime.images.length, 1, 'the old image went with its name');
  assert.match(fx.runtime.images[0]!.tags.join(), /hello:1\.1\.0-/);
  assert.deepEqual(fx.problems(), []);

  const downgrade = await fx.update('hello', url['1.0.0']!);
  assert.deepEqual([downgrade.currentState, downgrade.version, downgrade.fault?.code], ['Installed', '1.1.0', 7229]);
  assert.match(downgrade.fault!.message, /older than the installed 1\.1\.0/);
  assert.deepEqual(fx.problems(), []);
}));

test('update whose new version crashes on probation: rolled back, the old version runs on its untouched data, fault 7002', () => withFixture(async (fx) => {
  await fx.install(url['1.0.0']!);
  fx.runtime.writeVolumeFile('berth-apps-hello-data-1.0.0', 'state.txt', 'as 1.0.0 left it');
  const oldContainers = fx.runtime.containers.map((c) => c.id).sort();
  const oldImage = fx.runtime.images[0]!.id;

  const report = await fx.update('hello', url['1.2.0']!);
  assert.deepEqual([report.currentState, report.version, report.fault?.code, report.duInstance, report.euInstances], ['Installed', '1.0.0', 7002, 1, [1, 2]]);
  assert.match(report.fault!.message, /the new version's unit web failed: exited with code 3/);
  assert.deepEqual(fx.rows().map((r) => [r.version, r.status, r.units.map((u) => [u.name, u.status, u.fault])]), [['1.0.0', 'Installed', [['web', 'Active', 'NoFault'], ['worker', 'Active', 'NoFault']]]]);
  assert.deepEqual(fx.runtime.containers.map((c) => c.id).sort(), oldContainers, 'the old containers, started again');
  assert.deepEqual(fx.runtime.containers.map((c) => c.status), ['running', 'running']);
  assert.deepEqual(fx.runtime.volumes.map((v) => [v.name, Object.fromEntries(v.files)]).sort(), [['berth-apps-hello-cache-1.0.0', {}], ['berth-apps-hello-data-1.0.0', { 'state.txt': 'as 1.0.0 left it' }]], 'what 1.2.0 wrote went with its own volume');
  assert.deepEqual(fx.runtime.images.map((i) => i.id), [oldImage]);
  assert.deepEqual(fx.problems(), []);
}));

test('update whose image will not load: 7225, the running version never stopped, nothing of the new one left', () => withFixture(async (fx) => {
  await fx.install(url['1.0.0']!);
  const before = fx.runtime.calls.length;
  const report = await fx.update('hello', url['1.3.0']!);
  assert.deepEqual([report.currentState, report.version, report.fault?.code], ['Installed', '1.0.0', 7225]);
  assert.match(report.fault!.message, /the image of hello 1\.3\.0 cannot be loaded/);
  const during = fx.runtime.calls.slice(before).map((c) => c.operation);
  assert.ok(!during.includes('stopContainer') && !during.includes('startContainer'), `the old units were left running: ${during.join(' ')}`);
  assert.deepEqual(fx.rows().map((r) => [r.version, r.units.map((u) => u.status)]), [['1.0.0', ['Active', 'Active']]]);
  assert.equal(fx.runtime.images.length, 1);
  assert.deepEqual(fx.problems(), []);
}));

test('uninstall removes containers, volumes, network and image; with RetainData the retained volume stays and a reinstall adopts it', () => withFixture(async (fx) => {
  await fx.install(url['1.0.0']!);
  const report = await fx.uninstall('hello');
  assert.deepEqual([report.operation, report.currentState, report.version, report.fault, report.duInstance, report.euInstances], ['Uninstall', 'Uninstalled', '1.0.0', undefined, 1, [1, 2]]);
  assert.deepEqual(fx.rows(), []);
  assert.deepEqual([fx.runtime.containers.length, fx.runtime.volumes.length, fx.runtime.networks.length, fx.runtime.images.length], [0, 0, 0, 0]);
  assert.equal(fx.runtime.firewallRules('berth-apps-hello'), undefined, 'the network took its firewall rules with it');

  await fx.install(url['1.0.0']!);
  fx.runtime.writeVolumeFile('berth-apps-hello-data-1.0.0', 'state.txt', 'keep me');
  const kept = await fx.uninstall('hello', true);
  assert.equal(kept.currentState, 'Uninstalled');
  assert.deepEqual(names(fx.runtime.volumes), ['berth-apps-hello-data-1.0.0'], 'the volume marked retain stays, the other goes');
  assert.deepEqual([fx.runtime.containers.length, fx.runtime.networks.length, fx.runtime.images.length], [0, 0, 0]);
  assert.deepEqual(fx.problems(), []);

  const back = await fx.install(url['1.1.0']!);
  assert.deepEqual([back.currentState, back.duInstance], ['Installed', 3], 'a new DU row');
  assert.deepEqual(fx.entry('hello').record.volumes.map((v) => v.name).sort(), ['berth-apps-hello-cache-1.1.0', 'berth-apps-hello-data-1.0.0'], 'the retained data adopted');
  assert.equal(fx.runtime.volumes.find((v) => v.name === 'berth-apps-hello-data-1.0.0')!.files.get('state.txt'), 'keep me');
  assert.deepEqual(fx.smm.state.retainedVolumes, []);
  assert.deepEqual(fx.problems(), []);
}));
