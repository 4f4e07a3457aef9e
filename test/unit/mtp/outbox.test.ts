// The outbox never keeps a Record it can never deliver: too large is dropped at once, a Record whose send keeps
// failing is given up after MAX_SEND_ATTEMPTS tries, and the rest waits (bounded) for the next connection. A
// Controller's Records go on the first of its channels that is up and fall back to the next when a send fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOutbox, MAX_SEND_ATTEMPTS, MAX_QUEUED_RECORDS } from '../../../src/mtp/outbox.ts';
import type { Channel } from '../../../src/mtp/outbox.ts';
import { RecordTooLargeError } from '../../../src/mtp/mtp.ts';
import { createSilentLogger } from '../../../src/log.ts';

function fakeChannel(key: string, fail: (bytes: Uint8Array) => Error | undefined) {
  const sent: number[] = [];
  let up = true;
  const channel: Channel & { isUp: boolean } = {
    key,
    get isUp() {
      return up;
    },
    set isUp(next) {
      up = next;
    },
    up: () => up,
    send(bytes) {
      const error = fail(bytes);
      if (error) return Promise.reject(error);
      sent.push(bytes.length);
      return Promise.resolve();
    },
  };
  return { channel, sent };
}

const settle = () => new Promise((r) => setImmediate(r));

test('a Record larger than the MTP carries is dropped at once, never queued for the next connection', async () => {
  let attempts = 0;
  const { channel, sent } = fakeChannel('c', (bytes) => {
    attempts += 1;
    return bytes.length > 100 ? new RecordTooLargeError(bytes.length, 100) : undefined;
  });
  const outbox = createOutbox(createSilentLogger());
  outbox.toChannel(channel, new Uint8Array(500), 'response');
  await settle();
  for (let i = 0; i < 5; i++) {
    outbox.flush(); // as after each reconnect
    await settle();
  }
  assert.equal(attempts, 1);
  outbox.toChannel(channel, new Uint8Array(10), 'response');
  await settle();
  assert.deepEqual(sent, [10], 'the agent goes on sending the rest');
});

test('a Record whose publish fails is retried on the next connections, then given up', async () => {
  let attempts = 0;
  const { channel } = fakeChannel('c', () => {
    attempts += 1;
    return new Error('connection closed');
  });
  const outbox = createOutbox(createSilentLogger());
  outbox.toChannel(channel, new Uint8Array(10), 'notify');
  await settle();
  for (let i = 0; i < 10; i++) {
    outbox.flush();
    await settle();
  }
  assert.equal(attempts, MAX_SEND_ATTEMPTS);
});

test('while the channel is down Records wait, at most MAX_QUEUED_RECORDS of them, and go out in order on reconnect', async () => {
  const { channel, sent } = fakeChannel('c', () => undefined);
  channel.isUp = false;
  const outbox = createOutbox(createSilentLogger());
  for (let i = 0; i < MAX_QUEUED_RECORDS + 5; i++) outbox.toChannel(channel, new Uint8Array(i % 90), 'notify');
  channel.isUp = true;
  outbox.flush();
  await settle();
  assert.equal(sent.length, MAX_QUEUED_RECORDS);
  assert.equal(sent[0], 5 % 90, 'the oldest were dropped');
});

test("a Controller's Record goes on its first channel that is up, and falls back to the next when a send fails", async () => {
  const first = fakeChannel('first', () => new Error('connection closed'));
  const second = fakeChannel('second', () => undefined);
  const outbox = createOutbox(createSilentLogger());
  outbox.toAnyOf('ctrl', () => [first.channel, second.channel], new Uint8Array(7), 'notify');
  await settle();
  assert.deepEqual(second.sent, [7], 'the failed send went on over the second channel');
  first.channel.isUp = false;
  outbox.toAnyOf('ctrl', () => [first.channel, second.channel], new Uint8Array(8), 'notify');
  await settle();
  assert.deepEqual(second.sent, [7, 8], 'a channel that is down is skipped');
});

test("while all of a Controller's channels are down its Records wait, and go on whichever comes up first", async () => {
  const first = fakeChannel('first', () => undefined);
  const second = fakeChannel('second', () => undefined);
  first.channel.isUp = false;
  second.channel.isUp = false;
  const outbox = createOutbox(createSilentLogger());
  outbox.toAnyOf('ctrl', () => [first.channel, second.channel], new Uint8Array(3), 'notify');
  await settle();
  assert.equal(outbox.queued, 1);
  second.channel.isUp = true;
  outbox.flush();
  await settle();
  assert.deepEqual(second.sent, [3]);
  assert.equal(outbox.queued, 0);
});
