// TP-469 (Issue 1 Amd 4) message cases that a conformance run found berth failing, at the handler level: the
// Error of an all-or-nothing Add/Delete names the failing path, an Alias must start with a letter, a non-functional
// unique key cannot change once the row exists, and long subscription IDs (usp-js) are accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestModel, write } from '../../helpers/model.ts';
import type { TestModel } from '../../helpers/model.ts';
import { handleAdd } from '../../../src/engine/handle-add.ts';
import { handleDelete } from '../../../src/engine/handle-delete.ts';
import { handleSet } from '../../../src/engine/handle-set.ts';
import { MessageError } from '../../../src/engine/message-error.ts';

type Setting = { param: string; value: string; required?: boolean };
const subscription = (id: string, reference = 'Device.LocalAgent.SoftwareVersion'): Setting[] => [
  { param: 'Enable', value: 'true' },
  { param: 'ID', value: id },
  { param: 'NotifType', value: 'ValueChange' },
  { param: 'ReferenceList', value: reference, required: true },
];

function addAll(model: TestModel, createObjs: { objPath: string; paramSettings: Setting[] }[]) {
  return write(model, (tx) => handleAdd(model.ctx(), { allowPartial: false, createObjs }, tx));
}

function messageError(run: () => unknown): MessageError {
  try {
    run();
  } catch (error) {
    if (error instanceof MessageError) return error;
    throw error;
  }
  assert.fail('expected an Error message');
}

const subscriptions = (model: TestModel): number => model.dm.table('Device.LocalAgent.Subscription.').rows.size;

test('1.4: Add, allow_partial=false, one invalid object: the Error names it in param_errs and nothing is created', () => {
  const model = createTestModel();
  const error = messageError(() => addAll(model, [{ objPath: 'Device.LocalAgent.InvalidObject.', paramSettings: subscription('add4') }]));
  assert.equal(error.paramErrs.length, 1);
  assert.equal(error.paramErrs[0]!.paramPath, 'Device.LocalAgent.InvalidObject.');
  assert.equal(error.paramErrs[0]!.errCode, 7026);
  assert.equal(subscriptions(model), 0);
});

test('1.6: Add, allow_partial=false, a valid and an invalid object: the Error names the invalid one, the valid one is undone', () => {
  const model = createTestModel();
  const error = messageError(() =>
    addAll(model, [
      { objPath: 'Device.LocalAgent.Subscription.', paramSettings: subscription('add61') },
      { objPath: 'Device.LocalAgent.InvalidObject.', paramSettings: subscription('add62', 'Device.LocalAgent.EndpointID') },
    ]),
  );
  assert.deepEqual(error.paramErrs.map((e) => e.paramPath), ['Device.LocalAgent.InvalidObject.']);
  assert.equal(subscriptions(model), 0);
});

test('1.26/1.28: Delete, allow_partial=false, with an invalid object: the Error names it and nothing is deleted', () => {
  const model = createTestModel();
  addAll(model, [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: subscription('keep') }]);
  const error = messageError(() =>
    write(model, (tx) => handleDelete(model.ctx(), { allowPartial: false, objPaths: ['Device.LocalAgent.Subscription.1.', 'Device.LocalAgent.InvalidObject.'] }, tx)),
  );
  assert.deepEqual(error.paramErrs.map((e) => [e.paramPath, e.errCode]), [['Device.LocalAgent.InvalidObject.', 7026]]);
  assert.equal(subscriptions(model), 1, 'the first path was not deleted either');
});

test('1.88: Add with an Alias that does not start with a letter fails and creates nothing', () => {
  const model = createTestModel();
  const settings = [{ param: 'Enable', value: 'True' }, { param: 'Alias', value: '88InvalidAlias' }, { param: 'NotifType', value: 'ValueChange' }, { param: 'ReferenceList', value: 'Device.LocalAgent.SoftwareVersion' }];
  const error = messageError(() => addAll(model, [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: settings }]));
  assert.equal(error.paramErrs[0]!.paramPath, 'Device.LocalAgent.Subscription.1.Alias');
  assert.equal(error.paramErrs[0]!.errCode, 7012);
  assert.equal(subscriptions(model), 0);
  for (const bad of ['', '-x', '_x', ' x']) {
    assert.throws(() => addAll(model, [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'Alias', value: bad }] }]), MessageError, `Alias "${bad}"`);
  }
  addAll(model, [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'Alias', value: 'x88' }] }]);
  assert.equal(model.dm.get('Device.LocalAgent.Subscription.1.', 'Alias'), 'x88');
});

test('1.96: a non-functional unique key (Subscription ID) cannot be changed by Set once the object exists', () => {
  const model = createTestModel();
  addAll(model, [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'ID', value: 'add96' }] }]);
  const set = (value: string) =>
    write(model, (tx) => handleSet(model.ctx(), { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Subscription.1.', paramSettings: [{ param: 'ID', value, required: true }] }] }, tx));
  const error = messageError(() => set('add96-NEW'));
  assert.equal(error.uspErrorCode, 7021);
  assert.deepEqual(error.paramErrs.map((e) => [e.paramPath, e.errCode]), [['Device.LocalAgent.Subscription.1.ID', 7013]]);
  assert.equal(model.dm.get('Device.LocalAgent.Subscription.1.', 'ID'), 'add96');
  set('add96'); // repeating the value it has is not a change
  // The MQTT client's Name is one too (TR-181 functional="false").
  const rename = messageError(() =>
    write(model, (tx) => handleSet(model.ctx(), { allowPartial: false, updateObjs: [{ objPath: 'Device.MQTT.Client.1.', paramSettings: [{ param: 'Name', value: 'other', required: true }] }] }, tx)),
  );
  assert.equal(rename.paramErrs[0]!.errCode, 7013);
});

test('subscription IDs as long as usp-js makes them (NOTIFY@<command path><random>) are accepted, up to 4,096 characters', () => {
  const model = createTestModel();
  const uspJsId = `NOTIFY@Device.SoftwareModules.DeploymentUnit.[UUID=="1b4e28ba-2fa1-5c2b-9f3e-b58f0e7c2d3a"].Update()${'k3j4h5g6'.repeat(2)}`;
  assert.ok(uspJsId.length > 64);
  addAll(model, [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: subscription(uspJsId, 'Device.SoftwareModules.') }]);
  assert.equal(model.dm.get('Device.LocalAgent.Subscription.1.', 'ID'), uspJsId);
  const error = messageError(() => addAll(model, [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: subscription('x'.repeat(4097)) }]));
  assert.equal(error.paramErrs[0]!.errCode, 7012);
});
