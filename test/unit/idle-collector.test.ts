// The quiet-time collection: the agent collects its heap once it has gone quiet after work, never while it is
// busy, and leaves a quiet agent alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startIdleCollector } from '../../src/idle-collector.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const MiB = 1024 * 1024;

function fakeProcess(): { time: number; lastActivity: number; heap: number; collections: number; reports: { heapBefore: number; heapAfter: number }[] } {
  return { time: 100_000, lastActivity: 0, heap: 10 * MiB, collections: 0, reports: [] };
}

function collectorFor(fake: ReturnType<typeof fakeProcess>): ReturnType<typeof startIdleCollector> {
  return startIdleCollector({
    // A collection frees what has accumulated: the heap shrinks to 7 MiB.
    collect: () => {
      fake.collections += 1;
      fake.heap = 7 * MiB;
    },
    lastActivityAt: () => fake.lastActivity,
    heapUsed: () => fake.heap,
    now: () => fake.time,
    quietMs: 1000,
    minGrowthBytes: MiB,
    checkEveryMs: 3_600_000,
    onCollected: (report) => fake.reports.push(report),
  });
}

test('collects once the agent has been quiet for quietMs, never while messages flow', (t) => {
  const fake = fakeProcess();
  const collector = collectorFor(fake);
  t.after(() => { collector.stop(); });

  fake.lastActivity = fake.time - 200;
  assert.equal(collector.check(), false, 'a message 200 ms ago: busy');
  assert.equal(fake.collections, 0);

  fake.time += 1000;
  assert.equal(collector.check(), true, 'quiet for 1.2 s');
  // Two collections: one alone gives back little (see src/idle-collector.ts).
  assert.equal(fake.collections, 2);
  assert.deepEqual(fake.reports.map((r) => [r.heapBefore / MiB, r.heapAfter / MiB]), [[10, 7]]);
});

test('a quiet agent is left alone until its heap has grown by minGrowthBytes since the last collection', (t) => {
  const fake = fakeProcess();
  const collector = collectorFor(fake);
  t.after(() => { collector.stop(); });

  assert.equal(collector.check(), true, 'the garbage start-up left is collected at the first quiet moment');
  fake.time += 1000;
  fake.heap = 7.5 * MiB;
  assert.equal(collector.check(), false, 'half a MiB of growth is not worth a collection');
  fake.heap = 8.1 * MiB;
  fake.lastActivity = fake.time;
  assert.equal(collector.check(), false, 'grown, but busy');
  fake.time += 1500;
  assert.equal(collector.check(), true, 'grown and quiet again');
  assert.equal(fake.collections, 4);
});

test('the timer runs the checks', async () => {
  const fake = fakeProcess();
  const collector = startIdleCollector({
    collect: () => {
      fake.collections += 1;
      fake.heap = 7 * MiB;
    },
    lastActivityAt: () => 0,
    heapUsed: () => fake.heap,
    checkEveryMs: 5,
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(fake.collections, 2, 'collected on a timer tick, and not again without growth');
  } finally {
    collector.stop();
  }
});

test('the timer does not keep the process alive', () => {
  const script = `import { startIdleCollector } from ${JSON.stringify(pathToFileURL(join(root, 'src', 'idle-collector.ts')).href)};
startIdleCollector({ collect() {}, lastActivityAt: () => 0, heapUsed: () => 0, checkEveryMs: 10 });`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.signal, null, 'the process did not exit on its own');
  assert.equal(child.status, 0, child.stderr);
});
