// The MQTT client's subscriptions: what goes in each SUBSCRIBE/UNSUBSCRIBE and what each Subscription row's
// Status says, against a scripted broker (the real one is in test/integration).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSubscriptionSet } from '../../../src/mtp/mqtt-subscriptions.ts';
import type { SubscribePort, SubscriptionRow, SubscriptionStatus, TopicSubscription } from '../../../src/mtp/mqtt-subscriptions.ts';
import { createSilentLogger } from '../../../src/log.ts';

const OWN: TopicSubscription[] = [{ topic: 'usp/agent/a', qos: 1 }];

/** A broker that grants everything except the topics in `refuse`, and records every packet. */
function scriptedBroker(refuse: Set<string> = new Set(), refuseUnsubscribe: Set<string> = new Set()) {
  const packets: string[] = [];
  const port: SubscribePort = {
    subscribe(entries) {
      packets.push(`SUBSCRIBE ${entries.map((e) => `${e.topic}@${e.qos}`).join(' ')}`);
      return Promise.resolve(new Map(entries.map((e) => [e.topic, refuse.has(e.topic) ? 0x87 : e.qos])));
    },
    unsubscribe(topics) {
      packets.push(`UNSUBSCRIBE ${topics.join(' ')}`);
      return Promise.resolve(new Map(topics.map((t) => [t, refuseUnsubscribe.has(t) ? 0x87 : 0])));
    },
  };
  return { port, packets };
}

function harness() {
  const told: string[] = [];
  const set = createSubscriptionSet((topic: string, status: SubscriptionStatus) => told.push(`${topic}=${status}`), createSilentLogger());
  return { set, told };
}

const row = (topic: string, qos: 0 | 1 | 2 = 1, enabled = true): SubscriptionRow => ({ topic, qos, enabled });

test('connect: the own topics and every enabled row in one SUBSCRIBE; refused rows are Error, the others Subscribed', async () => {
  const { set, told } = harness();
  set.configure([row('t/one', 0), row('t/off', 1, false), row('t/denied', 2)]);
  assert.deepEqual(told, [], 'nothing to tell before there is a connection');
  const broker = scriptedBroker(new Set(['t/denied']));
  assert.equal(await set.connect(broker.port, OWN), 2);
  assert.deepEqual(broker.packets, ['SUBSCRIBE usp/agent/a@1 t/one@0 t/denied@2']);
  assert.deepEqual([set.status('t/one'), set.status('t/off'), set.status('t/denied')], ['Subscribed', 'Unsubscribed', 'Error']);
  assert.deepEqual(told, ['t/one=Subscribing', 't/denied=Subscribing', 't/one=Subscribed', 't/denied=Error']);
});

test('while connected, a change of the rows sends just the difference', async () => {
  const { set, told } = harness();
  set.configure([row('t/one')]);
  const broker = scriptedBroker();
  await set.connect(broker.port, OWN);
  told.length = 0;

  set.configure([row('t/one'), row('t/two', 2)]);
  await set.settled();
  set.configure([row('t/one', 1, false), row('t/two', 0)]);
  await set.settled();
  set.configure([row('t/two', 0)]);
  await set.settled();
  assert.deepEqual(broker.packets.slice(1), ['SUBSCRIBE t/two@2', 'SUBSCRIBE t/two@0', 'UNSUBSCRIBE t/one']);
  assert.deepEqual(told, ['t/two=Subscribing', 't/two=Subscribed', 't/one=Unsubscribing', 't/two=Subscribing', 't/two=Subscribed', 't/one=Unsubscribed']);
  assert.equal(set.status('t/one'), 'Unsubscribed');
});

test("a row on the agent's own topic: subscribed at the higher QoS; disabling it does not unsubscribe the agent", async () => {
  const { set } = harness();
  const broker = scriptedBroker();
  await set.connect(broker.port, OWN);
  set.configure([row('usp/agent/a', 2)]);
  await set.settled();
  assert.equal(set.status('usp/agent/a'), 'Subscribed');
  set.configure([row('usp/agent/a', 2, false)]);
  await set.settled();
  assert.equal(set.status('usp/agent/a'), 'Unsubscribed', 'the row no longer holds it');
  assert.deepEqual(broker.packets, ['SUBSCRIBE usp/agent/a@1', 'SUBSCRIBE usp/agent/a@2', 'SUBSCRIBE usp/agent/a@1'], 'back to its own QoS, never UNSUBSCRIBE');
});

test('a refused UNSUBSCRIBE leaves the disabled row in Error; a refused topic is asked again only once it changes', async () => {
  const { set } = harness();
  const broker = scriptedBroker(new Set(['t/denied']), new Set(['t/sticky']));
  set.configure([row('t/sticky'), row('t/denied')]);
  await set.connect(broker.port, OWN);
  set.configure([row('t/sticky', 1, false), row('t/denied')]);
  await set.settled();
  assert.equal(set.status('t/sticky'), 'Error');
  assert.equal(set.status('t/denied'), 'Error');
  assert.equal(broker.packets.filter((p) => p.includes('t/denied')).length, 1, 'no new SUBSCRIBE for an unchanged refused row');
  set.configure([row('t/denied', 0)]);
  await set.settled();
  assert.equal(broker.packets.at(-1), 'SUBSCRIBE t/denied@0');
  assert.equal(set.status('t/sticky'), 'Unsubscribed', 'a deleted row is forgotten');
});

test('losing the connection: every row is Unsubscribed, nothing is sent until the next connect, which asks for everything again', async () => {
  const { set, told } = harness();
  const first = scriptedBroker();
  set.configure([row('t/one')]);
  await set.connect(first.port, OWN);
  set.disconnect();
  assert.equal(set.status('t/one'), 'Unsubscribed');
  assert.equal(told.at(-1), 't/one=Unsubscribed');
  set.configure([row('t/one'), row('t/two')]);
  await set.settled();
  assert.deepEqual(first.packets, ['SUBSCRIBE usp/agent/a@1 t/one@1']);
  const second = scriptedBroker();
  await set.connect(second.port, OWN);
  assert.deepEqual(second.packets, ['SUBSCRIBE usp/agent/a@1 t/one@1 t/two@1']);
});

test('an answer from a connection that is gone changes nothing; no SUBACK at all means none was granted', async () => {
  const { set } = harness();
  let answer: (codes: ReadonlyMap<string, number>) => void = () => undefined;
  const slow: SubscribePort = {
    subscribe: () => new Promise((resolve) => { answer = resolve; }),
    unsubscribe: () => Promise.resolve(new Map()),
  };
  set.configure([row('t/one')]);
  const connecting = set.connect(slow, OWN);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(set.status('t/one'), 'Subscribing');
  set.disconnect();
  answer(new Map([['usp/agent/a', 1], ['t/one', 1]]));
  assert.equal(await connecting, 0);
  assert.equal(set.status('t/one'), 'Unsubscribed');

  const broken: SubscribePort = { subscribe: () => Promise.reject(new Error('connection closed')), unsubscribe: () => Promise.resolve(new Map()) };
  assert.equal(await set.connect(broken, OWN), 0);
  assert.equal(set.status('t/one'), 'Error');
});
