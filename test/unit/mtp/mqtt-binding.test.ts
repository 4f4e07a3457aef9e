// Pure parts of the MQTT binding: the reconnect back-off window and the 3.1.1 reply-to topic suffix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryWindow, replyToFromTopic, topicWithReplyTo } from '../../../src/mtp/mqtt.ts';

test('retry window follows R-MQTT.10: [T·(M/1000)^(n−1), T·(M/1000)^n], n capped at 10, bounded by the max interval', () => {
  const defaults = { connectRetryTime: 5, multiplier: 2000, maxInterval: 30720 };
  const cases: [number, number, number][] = [
    [1, 5, 10],
    [2, 10, 20],
    [3, 20, 40],
    [10, 2560, 5120],
    [11, 2560, 5120],
    [50, 2560, 5120],
  ];
  for (const [n, min, max] of cases) assert.deepEqual(retryWindow(n, defaults), { min, max }, `retry ${n}`);
  assert.deepEqual(retryWindow(10, { ...defaults, maxInterval: 600 }), { min: 600, max: 600 });
  assert.deepEqual(retryWindow(3, { connectRetryTime: 1, multiplier: 1000, maxInterval: 30 }), { min: 1, max: 1 });
});

test('3.1.1 reply-to suffix: encoded with %2F and decoded from the last /reply-to=', () => {
  const topic = topicWithReplyTo('usp/agents/cid:3AA3F8:my-unique-usp-id-42', 'usp/controllers/oui:00256D:my-unique-bbf-id-42');
  assert.equal(topic, 'usp/agents/cid:3AA3F8:my-unique-usp-id-42/reply-to=usp%2Fcontrollers%2Foui:00256D:my-unique-bbf-id-42');
  assert.equal(replyToFromTopic(topic), 'usp/controllers/oui:00256D:my-unique-bbf-id-42');
  assert.equal(replyToFromTopic('a/reply-to=x/reply-to=usp%2Fc'), 'usp/c');
  assert.equal(replyToFromTopic('usp/agent/x'), undefined);
  assert.equal(replyToFromTopic('usp/agent/x/reply-to='), undefined);
});
