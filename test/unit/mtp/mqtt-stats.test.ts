// Device.MQTT.Client.{i}.Stats counters: each counts what TR-181 says it counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMqttStats } from '../../../src/mtp/mqtt-stats.ts';

test('every control packet counts as an MQTT message; PUBLISH, SUBSCRIBE and UNSUBSCRIBE also have their own counters', () => {
  let clock = 1_000;
  const stats = createMqttStats(() => clock);
  for (const cmd of ['connect', 'subscribe', 'publish', 'puback', 'pingreq', 'unsubscribe', 'publish', 'disconnect']) stats.packetSent(cmd);
  clock = 2_000;
  for (const cmd of ['connack', 'suback', 'publish', 'puback', 'pingresp', 'unsuback']) stats.packetReceived(cmd);
  assert.deepEqual(stats.values(), {
    brokerConnectionEstablished: 0,
    lastPublishMessageSent: 1_000,
    lastPublishMessageReceived: 2_000,
    publishSent: 2,
    publishReceived: 1,
    subscribeSent: 1,
    unSubscribeSent: 1,
    mqttMessagesSent: 8,
    mqttMessagesReceived: 6,
    connectionErrors: 0,
    publishErrors: 0,
  });
});

test('connection and publish errors, connection time, and the reset TR-181 asks for', () => {
  const stats = createMqttStats(() => 5_000);
  stats.connected();
  stats.connectionFailed();
  stats.connectionFailed();
  stats.publishFailed();
  stats.packetSent('publish');
  const before = stats.values();
  assert.deepEqual([before.brokerConnectionEstablished, before.connectionErrors, before.publishErrors, before.publishSent], [5_000, 2, 1, 1]);
  stats.reset();
  assert.ok(Object.values(stats.values()).every((value) => value === 0), 'everything starts again from zero');
  assert.equal(before.publishSent, 1, 'a snapshot taken earlier is not changed by later counting');
});
