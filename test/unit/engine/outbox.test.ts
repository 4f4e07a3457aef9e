// The outbox never keeps a Record it can never deliver: too large is dropped at once, a Record whose publish keeps
// failing is given up after MAX_SEND_ATTEMPTS connections, and the rest waits (bounded) for the next connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOutbox, MAX_SEND_ATTEMPTS, MAX_QUEUED_RECORDS } from '../../../src/engine/outbox.ts';
import { RecordTooLargeError } from '../../../src/mtp/mtp.ts';
import type { Mtp, MtpStatus } from '../../../src/mtp/mtp.ts';
import { createSilentLogger } from '../../../src/log.ts';

function fakeMtp(fail: (bytes: Uint8Array) => Error | undefined) {
  const sent: number[] = [];
  let status: MtpStatus = 'Connected';
  const mtp: Mtp & { status: MtpStatus } = {
    get status() {
      return status;
    },
    set status(next) {
      status = next;
    },
    maxRecordBytes: 100,
    start() {},
    async stop() {},
    send(_topic, bytes) {
      const error = fail(bytes);
      if (error) return Promise.reject(error);
      sent.push(bytes.length);
      return Promise.resolve();
    },
  };
  return { mtp, sent };
}

const settle = () => new Promise((r) => setImmediate(r));

test('a Record larger than the MTP carries is dropped at once, never queued for the next connection', async () => {
  let attempts = 0;
  const { mtp, sent } = fakeMtp((bytes) => {
    attempts += 1;
    return bytes.length > 100 ? new RecordTooLargeError(bytes.length, 100) : undefined;
  });
  const outbox = createOutbox(() => mtp, createSilentLogger());
  outbox.send('t', new Uint8Array(500), 'response');
  await settle();
  for (let i = 0; i < 5; i++) {
    outbox.flush(); // as after each reconnect
    await settle();
  }
  assert.equal(attempts, 1);
  outbox.send('t', new Uint8Array(10), 'response');
  await settle();
  assert.deepEqual(sent, [10], 'the agent goes on sending the rest');
});

test('a Record whose publish fails is retried on the next connections, then given up', async () => {
  let attempts = 0;
  const { mtp } = fakeMtp(() => {
    attempts += 1;
    return new Error('connection closed');
  });
  const outbox = createOutbox(() => mtp, createSilentLogger());
  outbox.send('t', new Uint8Array(10), 'notify');
  await settle();
  for (let i = 0; i < 10; i++) {
    outbox.flush();
    await settle();
  }
  assert.equal(attempts, MAX_SEND_ATTEMPTS);
});

test('while the MTP is down Records wait, at most MAX_QUEUED_RECORDS of them, and go out in order on reconnect', async () => {
  const { mtp, sent } = fakeMtp(() => undefined);
  mtp.status = 'Connecting';
  const outbox = createOutbox(() => mtp, createSilentLogger());
  for (let i = 0; i < MAX_QUEUED_RECORDS + 5; i++) outbox.send('t', new Uint8Array(i % 90), 'notify');
  mtp.status = 'Connected';
  outbox.flush();
  await settle();
  assert.equal(sent.length, MAX_QUEUED_RECORDS);
  assert.equal(sent[0], 5 % 90, 'the oldest were dropped');
});
