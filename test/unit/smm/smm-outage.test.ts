// Docker going away, on the fake: while the agent is idle (dockerd restarting, its containers stopped or kept) and
// in the middle of an install. berth keeps trying to reconnect with its back-off; once Docker answers it reconciles,
// adopts the installed apps' containers as they are (starting those Docker stopped) and removes what the
// interrupted install left. A leftover that cannot be removed does not keep the installed apps unsupervised.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakePackageCatalog } from '../../helpers/fake-package-catalog.ts';
import type { FakeAppRelease } from '../../helpers/fake-package-catalog.ts';
import { SmmFakeFixture } from '../../helpers/smm-fake-fixture.ts';

const hello = (version: string): FakeAppRelease => ({
  name: 'hello',
  version,
  units: [{ name: 'web', network: { mode: 'isolated' }, volumes: [{ name: 'data', path: '/data' }] }, { name: 'worker' }],
});

let dir: string;
let catalog: FakePackageCatalog;
let v1: string;
let other: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-smm-catalog-'));
  catalog = new FakePackageCatalog(dir);
  v1 = await catalog.add(hello('1.0.0'));
  other = await catalog.add({ name: 'meter', version: '2.0.0', units: [{ name: 'main', volumes: [{ name: 'log', path: '/log' }] }] });
});
after(() => rm(dir, { recursive: true, force: true }));

const withFixture = (body: (fx: SmmFakeFixture) => Promise<void>): Promise<void> => SmmFakeFixture.use(catalog, body);

const statuses = (fx: SmmFakeFixture): string[][] => fx.rows().map((row) => row.units.map((u) => `${u.name} ${u.status}`));

for (const stopContainers of [true, false]) {
  test(`outage while idle (${stopContainers ? 'dockerd stopped its containers' : 'containers kept running'}): reconnects with back-off, adopts the same containers`, () => withFixture(async (fx) => {
    await fx.install(v1);
    const ids = fx.runtime.containers.map((c) => c.id).sort();
    fx.runtime.startOutage({ stopContainers });
    await fx.clock.advance(30_000);
    assert.equal(fx.runtime.inOutage, true);
    const attempts = fx.runtime.calls.filter((c) => c.operation === 'events').length;
    fx.runtime.endOutage();
    const before = fx.runtime.calls.length;
    // Reconnect attempts wait 0.5 s doubling up to 10 s: within 10 s it is back.
    await fx.clock.advance(10_000);
    const since = fx.runtime.calls.slice(before).map((c) => c.operation);
    assert.ok(attempts >= 4, `kept trying while Docker was away (${attempts} subscriptions)`);
    assert.ok(since.includes('events') && since.includes('listContainers'), `reconciled: ${since.join(' ')}`);
    assert.deepEqual(statuses(fx), [['web Active', 'worker Active']]);
    assert.deepEqual(fx.runtime.containers.map((c) => c.id).sort(), ids, 'the same containers, adopted');
    assert.deepEqual(fx.runtime.containers.map((c) => c.status), ['running', 'running']);
    assert.equal(since.filter((op) => op === 'startContainer').length, stopContainers ? 2 : 0, 'started again only if Docker stopped them');
    assert.equal(since.filter((op) => op === 'createContainer').length, 0);
    assert.deepEqual(fx.problems(), []);
    // Supervised again: a crash now is restarted.
    fx.runtime.exit(ids[0]!, 1);
    await fx.settle();
    assert.ok(fx.rows()[0]!.units.some((u) => u.status === 'Idle' && u.fault === 'FailureWhileActive'));
    await fx.clock.advance(11_000);
    assert.deepEqual(statuses(fx), [['web Active', 'worker Active']]);
  }));
}

test('outage during an install: Failed with the reason; once Docker is back what it made is removed, the installed app runs on', () => withFixture(async (fx) => {
  await fx.install(other);
  fx.agent.beforeCall = (operation) => {
    if (operation === 'createContainer') fx.runtime.startOutage();
  };
  const report = await fx.install(v1);
  fx.agent.beforeCall = undefined;
  assert.deepEqual([report.currentState, report.fault?.code, report.duInstance], ['Failed', 7003, undefined]);
  assert.match(report.fault!.message, /Docker Engine not reachable/);
  assert.deepEqual(fx.rows().map((r) => r.name), ['meter']);
  assert.ok(fx.runtime.volumes.some((v) => v.name === 'berth-apps-hello-data-1.0.0'), 'its cleanup could not reach Docker either');
  fx.runtime.endOutage();
  await fx.clock.advance(10_000);
  assert.deepEqual(fx.problems(), [], "reconciling removed the install's volume, network and image name");
  assert.deepEqual(fx.unnamedImages(), []);
  assert.deepEqual(statuses(fx), [['main Active']]);
}));

test('an agent starting while Docker is away: installed apps are adopted once it answers, the interrupted install reported', () => withFixture(async (fx) => {
  await fx.install(other);
  fx.agent.plan = { at: fx.agent.calls.length + 3, kind: 'crash-after' };
  void fx.smm.install({ url: v1, execEnv: 'apps' });
  await fx.run(fx.agent.died);
  fx.runtime.startOutage({ stopContainers: true });
  const next = await fx.start();
  assert.equal(next.reports.length, 1, 'reported at once, Docker or not');
  assert.deepEqual([next.reports[0]!.currentState, next.reports[0]!.fault?.code], ['Failed', 7002]);
  assert.deepEqual(statuses(fx), [['main Idle']]);
  fx.runtime.endOutage();
  await fx.clock.advance(10_000);
  assert.deepEqual(statuses(fx), [['main Active']]);
  assert.deepEqual(fx.problems(), []);
}));

test('a leftover Docker will not remove does not keep the installed apps unsupervised', () => withFixture(async (fx) => {
  await fx.install(other);
  // An interrupted install's volume, which a container outside berth has come to use.
  fx.agent.plan = { at: fx.agent.calls.length + 8, kind: 'crash-after' };
  void fx.smm.install({ url: v1, execEnv: 'apps' });
  await fx.run(fx.agent.died);
  const leftover = fx.runtime.volumes.find((v) => v.name.includes('hello'));
  assert.ok(leftover, fx.agent.calls.join(' '));
  const image = fx.runtime.images[0]!.id;
  await fx.runtime.createContainer({
    name: 'someone-elses', image, command: [], env: {}, labels: {}, memoryKiB: 8192, nanoCpus: 1e8, pidsLimit: 8, user: '1000:1000',
    network: { mode: 'none' }, volumes: [{ name: leftover.name, path: '/x' }], capabilities: [], tmpfsKiB: 64, logMaxBytes: 1024,
  });
  fx.runtime.exit(fx.containerOf('meter', 'main'), 1);
  await fx.start();
  assert.deepEqual(statuses(fx), [['main Active']], 'adopted and started again');
  assert.deepEqual(fx.problems(), [`orphan volume ${leftover.name}`]);
}));
