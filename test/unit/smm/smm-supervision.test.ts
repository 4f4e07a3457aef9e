// What happens to an installed app's units on their own, driven by the manual clock: a unit that keeps crashing is
// restarted after the AutoRestart back-off's delays and given up after MaximumRetryCount, a long enough run
// (ResetPeriod) resets the count, an OOM kill and a unit over its disk allocation are reported with their fault,
// and a stop berth was asked for is no crash.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakePackageCatalog } from '../../helpers/fake-package-catalog.ts';
import { SmmFakeFixture } from '../../helpers/smm-fake-fixture.ts';
import type { AutoRestartPolicy } from '../../../src/smm/restart-backoff.ts';
import type { UnitView } from '../../../src/smm/unit-supervisor.ts';

let dir: string;
let catalog: FakePackageCatalog;
let app: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-smm-catalog-'));
  catalog = new FakePackageCatalog(dir);
  app = await catalog.add({ name: 'meter', version: '1.0.0', units: [{ name: 'main', diskKiB: 1024, volumes: [{ name: 'data', path: '/data' }] }] });
});
after(() => rm(dir, { recursive: true, force: true }));

const POLICY: AutoRestartPolicy = { enable: true, retryMinimumWaitInterval: 5, retryMaximumWaitInterval: 60, retryIntervalMultiplier: 2000, maximumRetryCount: 3, resetPeriod: 300 };

async function withApp(body: (fx: SmmFakeFixture, unit: { id: string; view: () => UnitView; starts: () => number }) => Promise<void>, autoRestart?: AutoRestartPolicy): Promise<void> {
  await SmmFakeFixture.use(catalog, async (fx) => {
    const report = await fx.install(app, autoRestart ? { autoRestart } : {});
    assert.equal(report.currentState, 'Installed');
    const entry = fx.entry('meter');
    const id = fx.containerOf('meter', 'main');
    await body(fx, {
      id,
      view: () => fx.smm.unitView(entry, entry.units[0]!),
      starts: () => fx.runtime.calls.filter((c) => c.operation === 'startContainer' && c.args[0] === id).length,
    });
  });
}

test('AutoRestart: a crashing unit is restarted after the back-off delays, then given up after MaximumRetryCount', () => withApp(async (fx, unit) => {
  const delays: number[] = [];
  fx.runtime.exit(unit.id, 1);
  await fx.settle();
  let view = unit.view();
  assert.deepEqual([view.status, view.fault.code, view.fault.message, view.retryCount], ['Idle', 'FailureWhileActive', 'exited with code 1', 0], 'it ran past probation: a failure while active');
  for (let retry = 0; retry < 3; retry++) {
    view = unit.view();
    assert.ok(view.nextRestart, `NextRestart announced before retry ${retry}`);
    // NextRestart is a whole millisecond; the timer may be due a fraction of one later.
    const delay = view.nextRestart.getTime() - fx.clock.now() + 1;
    delays.push(delay);
    const starts = unit.starts();
    await fx.clock.advance(delay - 1);
    assert.deepEqual([unit.view().status, unit.starts()], ['Idle', starts], `not restarted before its time (retry ${retry})`);
    await fx.clock.advance(1);
    view = unit.view();
    assert.deepEqual([view.status, view.retryCount, unit.starts(), fx.runtime.container(unit.id)!.status], ['Active', retry + 1, starts + 1, 'running']);
    assert.ok(Math.abs(view.lastRestarted!.getTime() - fx.clock.now()) <= 1, 'LastRestarted is when it was restarted');
    // Dies at once: an AutoStart unit that did not come up.
    fx.runtime.exit(unit.id, 2);
    await fx.settle();
    assert.equal(unit.view().fault.code, 'FailureOnAutoStart');
    assert.match(unit.view().fault.message, /^exited with code 2/);
  }
  // Retry n waits in [5·2^n, 5·2^(n+1)] s (RetryMinimumWaitInterval 5, multiplier 2000).
  for (const [n, delay] of delays.entries()) assert.ok(delay >= 5000 * 2 ** n && delay <= 5000 * 2 ** (n + 1) + 1, `retry ${n} after ${delay} ms`);
  view = unit.view();
  assert.deepEqual([view.status, view.retryCount, view.nextRestart], ['Idle', 3, undefined]);
  assert.equal(view.fault.message, 'exited with code 2; gave up after 3 restarts (MaximumRetryCount)');
  const starts = unit.starts();
  await fx.clock.advance(3_600_000);
  assert.deepEqual([unit.view().status, unit.starts()], ['Idle', starts], 'given up: an hour later still down');
  assert.deepEqual(fx.rows()[0]!.units.map((u) => [u.status, u.fault]), [['Idle', 'FailureOnAutoStart']]);
}, POLICY));

test('AutoRestart: a run of ResetPeriod resets the retry count; the wait starts again from the minimum', () => withApp(async (fx, unit) => {
  for (let crash = 0; crash < 2; crash++) {
    fx.runtime.exit(unit.id, 1);
    await fx.settle();
    await fx.clock.advanceTo(unit.view().nextRestart!.getTime() + 1);
  }
  assert.deepEqual([unit.view().status, unit.view().retryCount], ['Active', 2]);
  await fx.clock.advance(299_000);
  fx.runtime.exit(unit.id, 1);
  await fx.settle();
  const short = unit.view().nextRestart!.getTime() - fx.clock.now();
  assert.ok(short >= 20_000, `299 s up is short of ResetPeriod: the third wait (${short} ms) keeps growing`);
  await fx.clock.advanceTo(unit.view().nextRestart!.getTime() + 1);
  assert.equal(unit.view().retryCount, 3);
  await fx.clock.advance(300_000);
  fx.runtime.exit(unit.id, 1);
  await fx.settle();
  const view = unit.view();
  const delay = view.nextRestart!.getTime() - fx.clock.now();
  assert.equal(view.retryCount, 0, 'reset by 300 s up, though MaximumRetryCount was reached');
  assert.ok(delay >= 5000 && delay <= 10_000, `the first wait again (${delay} ms)`);
}, POLICY));

test('OOM kill: FailureWhileActive saying out of memory, then restarted per the default AutoRestart', () => withApp(async (fx, unit) => {
  await fx.clock.advance(60_000);
  fx.runtime.oomKill(unit.id);
  await fx.settle();
  const view = unit.view();
  assert.deepEqual([view.status, view.fault.code, view.fault.message], ['Idle', 'FailureWhileActive', 'killed: out of memory (exceeded its memory allocation), exit code 137']);
  const delay = view.nextRestart!.getTime() - fx.clock.now();
  assert.ok(delay >= 5000 && delay <= 10_000, `default policy: 5 s doubling (${delay} ms)`);
  await fx.clock.advance(delay + 1);
  assert.equal(unit.view().status, 'Active');
}));

test('a stop berth was asked for is not a crash: Idle without fault, not restarted', () => withApp(async (fx, unit) => {
  const entry = fx.entry('meter');
  fx.smm.setRequestedState(entry, entry.units[0]!, 'Idle');
  await fx.settle();
  const starts = unit.starts();
  await fx.clock.advance(3_600_000);
  const view = unit.view();
  assert.deepEqual([view.status, view.fault.code, view.retryCount, unit.starts(), fx.runtime.container(unit.id)!.status], ['Idle', 'NoFault', 0, starts, 'exited']);
}, POLICY));

test('disk allocation: the writable layer and the data volume over it stop the unit with the documented fault; it stays down', () => withApp(async (fx, unit) => {
  const entry = fx.entry('meter');
  fx.runtime.setWritableBytes(unit.id, 512 * 1024);
  fx.runtime.setVolumeBytes(entry.record.volumes[0]!.name, 512 * 1024);
  await fx.run(fx.smm.sampleNow());
  assert.deepEqual([unit.view().status, fx.smm.unitUsage(entry, entry.units[0]!)?.diskKiB], ['Active', 1024], 'exactly at its allocation (1024 KiB): runs on');
  fx.runtime.setVolumeBytes(entry.record.volumes[0]!.name, 600 * 1024);
  await fx.run(fx.smm.sampleNow());
  const view = unit.view();
  assert.deepEqual([view.status, view.fault.code, view.fault.message], ['Idle', 'FailureWhileActive', 'stopped: uses 1112 KiB of disk, its allocation is 1024 KiB']);
  assert.equal(fx.runtime.container(unit.id)!.status, 'exited');
  const starts = unit.starts();
  await fx.clock.advance(3_600_000);
  assert.deepEqual([unit.view().status, unit.starts()], ['Idle', starts], 'not restarted by AutoRestart');
  await fx.stop();
  await fx.start();
  assert.deepEqual(fx.rows()[0]!.units.map((u) => u.status), ['Idle'], 'nor by the next start of the agent');
  assert.equal(fx.runtime.container(unit.id)!.status, 'exited');
}));
