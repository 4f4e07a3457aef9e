// The serial lane: one task at a time, each Controller in arrival order, Controllers taking turns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLane } from '../../../src/engine/lane.ts';

test('tasks never overlap, and a burst from one Controller does not hold back another', async () => {
  const lane = createLane();
  const order: string[] = [];
  let running = 0;
  const task = (name: string) => async () => {
    running += 1;
    assert.equal(running, 1, 'one task at a time');
    await new Promise((r) => setTimeout(r, 1));
    order.push(name);
    running -= 1;
  };
  const all = [];
  for (let i = 1; i <= 5; i++) all.push(lane.run('flood', task(`flood-${i}`)));
  all.push(lane.run('quiet', task('quiet-1')));
  assert.equal(lane.pending('flood'), 5);
  assert.equal(lane.pending('quiet'), 1);
  await Promise.all(all);
  // The quiet Controller waited for one flood request, not for five.
  assert.deepEqual(order, ['flood-1', 'quiet-1', 'flood-2', 'flood-3', 'flood-4', 'flood-5']);
  assert.equal(lane.pending('flood'), 0);
});

test('a failing task rejects only its own promise; idle() waits for everything queued', async () => {
  const lane = createLane();
  const failed = lane.run('a', () => { throw new Error('boom'); });
  const later = lane.run('a', () => 42);
  await assert.rejects(failed, /boom/);
  assert.equal(await later, 42);
  let done = false;
  void lane.run('b', async () => {
    await new Promise((r) => setTimeout(r, 5));
    done = true;
  });
  await lane.idle();
  assert.ok(done);
  await lane.idle(); // idle when nothing is queued
});
