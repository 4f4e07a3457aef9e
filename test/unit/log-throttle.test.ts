// A peer that makes the agent refuse Records by the thousand costs a few log lines a minute: what the agent writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.ts';
import { MAX_DISTINCT_MESSAGES, MAX_LINES_PER_MESSAGE, THROTTLE_WINDOW_MS } from '../../src/log-throttle.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

test('the same warning is written MAX_LINES_PER_MESSAGE times a minute; the next minute says how many were left out', async () => {
  let now = 1_000_000;
  const { lines, stream } = capture();
  const logger = createLogger('info', stream, () => now).child({ component: 'engine' });
  for (let i = 0; i < 500; i++) logger.warn({ from: `proto::peer-${i}` }, 'dropped a message from an Endpoint that is not an enabled Controller of this agent');
  logger.warn('another warning');
  for (let i = 0; i < 50; i++) logger.info('the agent\'s own line');
  await new Promise((resolve) => setImmediate(resolve));
  const dropped = lines.filter((line) => line['msg'] === 'dropped a message from an Endpoint that is not an enabled Controller of this agent');
  assert.equal(dropped.length, MAX_LINES_PER_MESSAGE);
  assert.equal(lines.filter((line) => line['msg'] === 'another warning').length, 1, 'other messages have their own count');
  assert.equal(lines.filter((line) => line['msg'] === 'the agent\'s own line').length, 50, 'info is not throttled');

  now += THROTTLE_WINDOW_MS;
  logger.warn({ from: 'proto::peer-x' }, 'dropped a message from an Endpoint that is not an enabled Controller of this agent');
  await new Promise((resolve) => setImmediate(resolve));
  const next = lines.at(-1)!;
  assert.equal(next['suppressedLikeThis'], 500 - MAX_LINES_PER_MESSAGE);
  assert.equal(next['from'], 'proto::peer-x');
  assert.equal(next['component'], 'engine');
});

test('an error logged as the first argument keeps its stack when the line reports what was left out', async () => {
  let now = 0;
  const { lines, stream } = capture();
  const logger = createLogger('info', stream, () => now);
  for (let i = 0; i <= MAX_LINES_PER_MESSAGE; i++) logger.error(new Error(`boom ${i}`), 'unexpected error');
  now += THROTTLE_WINDOW_MS;
  logger.error(new Error('boom again'), 'unexpected error');
  await new Promise((resolve) => setImmediate(resolve));
  const last = lines.at(-1)!;
  assert.equal(last['suppressedLikeThis'], 1);
  assert.match(JSON.stringify(last['err']), /boom again/);
  assert.match(JSON.stringify(last['err']), /stack/);
});

test('messages beyond MAX_DISTINCT_MESSAGES share one count, so the table stays bounded', async () => {
  const { lines, stream } = capture();
  const logger = createLogger('info', stream, () => 0);
  for (let i = 0; i < MAX_DISTINCT_MESSAGES + 100; i++) logger.warn(`refused: reason ${i}`);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(lines.length, MAX_DISTINCT_MESSAGES + MAX_LINES_PER_MESSAGE);
});
