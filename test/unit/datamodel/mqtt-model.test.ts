// Device.MQTT. as a Controller meets it (no MTP): MessageRetryTime, the Subscription table with its bound and
// checks, the Stats counters and the Capabilities that announce them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestModel, write } from '../../helpers/model.ts';
import type { TestModel } from '../../helpers/model.ts';
import { handleAdd } from '../../../src/engine/handle-add.ts';
import { handleSet } from '../../../src/engine/handle-set.ts';
import { handleGet } from '../../../src/engine/handle-get.ts';
import { handleGetSupportedDm } from '../../../src/engine/handle-get-supported-dm.ts';
import { MessageError } from '../../../src/engine/message-error.ts';
import { MAX_SUBSCRIPTIONS_PER_CLIENT } from '../../../datamodel/mqtt.ts';

const TABLE = 'Device.MQTT.Client.1.Subscription.';

function addSubscription(model: TestModel, settings: Record<string, string>, allowPartial = true) {
  const resp = write(model, (tx) =>
    handleAdd(model.ctx(), { allowPartial, createObjs: [{ objPath: TABLE, paramSettings: Object.entries(settings).map(([param, value]) => ({ param, value })) }] }, tx),
  );
  return resp.createdObjResults![0]!.operStatus!;
}

function get(model: TestModel, path: string): Record<string, string> {
  const result = handleGet(model.ctx(), { paramPaths: [path] }).reqPathResults![0]!;
  assert.equal(result.errCode, 0, `${path}: ${result.errMsg ?? ''}`);
  return Object.assign({}, ...result.resolvedPathResults!.map((r) => r.resultParams)) as Record<string, string>;
}

test('MessageRetryTime: TR-181 type, default 5 and minimum 1, writable, and kept across restarts', () => {
  const model = createTestModel();
  assert.equal(get(model, 'Device.MQTT.Client.1.MessageRetryTime')['MessageRetryTime'], '5');
  const set = (value: string) =>
    write(model, (tx) => handleSet(model.ctx(), { allowPartial: true, updateObjs: [{ objPath: 'Device.MQTT.Client.1.', paramSettings: [{ param: 'MessageRetryTime', value, required: true }] }] }, tx));
  assert.equal(set('0').updatedObjResults![0]!.operStatus!.operFailure!.updatedInstFailures![0]!.paramErrs![0]!.errCode, 7012);
  assert.ok(set('30').updatedObjResults![0]!.operStatus!.operSuccess);
  const saved = model.dm.snapshot().objects.find((o) => o.path === 'Device.MQTT.Client.1.');
  assert.equal(saved?.values['MessageRetryTime'], '30');
  const supported = handleGetSupportedDm(model.ctx(), { objPaths: ['Device.MQTT.Client.{i}.'], returnParams: true, firstLevelOnly: true });
  const param = supported.reqObjResults![0]!.supportedObjs![0]!.supportedParams!.find((p) => p.paramName === 'MessageRetryTime');
  assert.equal(param?.access, 1, 'PARAM_READ_WRITE');
});

test('Subscription rows: Add with Topic and Enable (QoS defaults to 1), counted in SubscriptionNumberOfEntries, kept across restarts', () => {
  const model = createTestModel();
  assert.equal(get(model, 'Device.MQTT.Capabilities.MaxNumberOfClientSubscriptions')['MaxNumberOfClientSubscriptions'], String(MAX_SUBSCRIPTIONS_PER_CLIENT));
  assert.equal(get(model, 'Device.MQTT.Client.1.SubscriptionNumberOfEntries')['SubscriptionNumberOfEntries'], '0');
  const added = addSubscription(model, { Enable: 'true', Topic: 'newTopic-11-9' }).operSuccess!;
  assert.equal(added.instantiatedPath, `${TABLE}1.`);
  assert.deepEqual(added.uniqueKeys, { Alias: 'cpe-1', Topic: 'newTopic-11-9' });
  assert.deepEqual(get(model, `${TABLE}1.`), { Alias: 'cpe-1', Enable: 'true', Status: 'Unsubscribed', Topic: 'newTopic-11-9', QoS: '1' });
  assert.equal(get(model, 'Device.MQTT.Client.1.SubscriptionNumberOfEntries')['SubscriptionNumberOfEntries'], '1');
  const saved = model.dm.snapshot().objects.find((o) => o.path === `${TABLE}1.`);
  assert.deepEqual(saved?.values, { Alias: 'cpe-1', Enable: 'true', Topic: 'newTopic-11-9', QoS: '1' });
});

test('Subscription rows: bad topics, an enabled row without topic, a duplicate topic and a bad QoS are refused with their codes', () => {
  const model = createTestModel();
  addSubscription(model, { Enable: 'true', Topic: 'taken' });
  const failure = (settings: Record<string, string>) => addSubscription(model, settings).operFailure;
  assert.deepEqual(failure({ Enable: 'true', Topic: 'a/#/b' }), { errCode: 7012, errMsg: `${TABLE}2.Topic: 'a/#/b' is not an MQTT topic filter: '#' must be a whole level and the last one ('a/#')` });
  assert.equal(failure({ Enable: 'true' })?.errMsg, `${TABLE}2.: an enabled subscription needs a Topic`);
  assert.equal(failure({ Topic: 'taken' })?.errCode, 7025, 'Topic is a unique key');
  const badQos = addSubscription(model, { Enable: 'true', Topic: 'x', QoS: '3' }).operSuccess!;
  assert.deepEqual(badQos.paramErrs!.map((e) => [e.param, e.errCode]), [['QoS', 7012]], 'a non-required parameter fails alone');
  assert.equal(get(model, `${badQos.instantiatedPath!}QoS`)['QoS'], '1');
  assert.ok(addSubscription(model, { Topic: 'parked' }).operSuccess, 'a disabled row may wait for its topic to be useful');
  const duplicate = write(model, (tx) => handleSet(model.ctx(), { allowPartial: true, updateObjs: [{ objPath: `${TABLE}1.`, paramSettings: [{ param: 'Topic', value: 'parked' }] }] }, tx));
  assert.equal(duplicate.updatedObjResults![0]!.operStatus!.operFailure!.errCode, 7025);
  assert.equal(model.dm.table(TABLE).rows.size, 3, 'failed Adds left nothing behind');
});

test(`Subscription rows: at most ${MAX_SUBSCRIPTIONS_PER_CLIENT} per client; one more is 7005 Resources exceeded and changes nothing`, () => {
  const model = createTestModel();
  for (let i = 1; i <= MAX_SUBSCRIPTIONS_PER_CLIENT; i += 1) assert.ok(addSubscription(model, { Enable: 'true', Topic: `t/${i}` }).operSuccess, `row ${i}`);
  const over = addSubscription(model, { Enable: 'true', Topic: 't/over' });
  assert.equal(over.operFailure?.errCode, 7005);
  assert.match(over.operFailure?.errMsg ?? '', /Subscription\. has 32 rows, the most this agent keeps/);
  assert.throws(() => addSubscription(model, { Enable: 'true', Topic: 't/over' }, false), (e: unknown) => e instanceof MessageError && e.uspErrorCode === 7005);
  assert.equal(model.dm.table(TABLE).rows.size, MAX_SUBSCRIPTIONS_PER_CLIENT);
});

test('Stats: every TR-181 counter is there', () => {
  const model = createTestModel();
  assert.deepEqual(Object.keys(get(model, 'Device.MQTT.Client.1.Stats.')).sort(), [
    'BrokerConnectionEstablished', 'ConnectionErrors', 'LastPublishMessageReceived', 'LastPublishMessageSent', 'MQTTMessagesReceived', 'MQTTMessagesSent',
    'PublishErrors', 'PublishReceived', 'PublishSent', 'SubscribeSent', 'UnSubscribeSent',
  ]);
});
