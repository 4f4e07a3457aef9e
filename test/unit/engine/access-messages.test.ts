// ControllerTrust in the messages, as TP-469 section 2 tests it (2.11–2.27): the Controller holds a writable
// role ("tester": everything, Order 1) and adds a Permission row of Order 2 to it itself, then sends the message
// under test. Plus what an Untrusted Controller gets for the writes issue 11 saw succeeding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestModel, write, CONTROLLER_ID, AGENT_ID } from '../../helpers/model.ts';
import type { TestModel } from '../../helpers/model.ts';
import { parseConfig } from '../../../src/config/config.ts';
import { handleGet } from '../../../src/engine/handle-get.ts';
import { handleSet } from '../../../src/engine/handle-set.ts';
import { handleAdd } from '../../../src/engine/handle-add.ts';
import { handleDelete } from '../../../src/engine/handle-delete.ts';
import { handleOperate } from '../../../src/engine/handle-operate.ts';
import { handleGetInstances } from '../../../src/engine/handle-get-instances.ts';
import { handleGetSupportedDm } from '../../../src/engine/handle-get-supported-dm.ts';
import { createSubscriptionService } from '../../../src/engine/subscriptions.ts';
import { MessageError } from '../../../src/engine/message-error.ts';
import { createSilentLogger } from '../../../src/log.ts';
import type { usp } from '../../../src/usp/generated/usp.js';

const UNTRUSTED_ID = 'proto::stranger';

function model(): TestModel {
  return createTestModel(
    parseConfig({
      endpointId: AGENT_ID,
      dataDir: '/nonexistent',
      mqtt: { url: 'mqtt://127.0.0.1:1883', password: 'broker-secret' },
      roles: [{ name: 'tester', permissions: [{ order: 1, targets: ['Device.'], param: 'rw-n', obj: 'rw-n', instantiatedObj: 'rw-n', commandEvent: 'r-xn' }] }],
      controllers: [
        { endpointId: CONTROLLER_ID, topic: 'usp/controller/test', role: 'tester' },
        { endpointId: 'proto::other', topic: 'usp/controller/other', role: 'full' },
        { endpointId: UNTRUSTED_ID, topic: 'usp/controller/stranger', role: 'untrusted' },
      ],
    }),
  );
}

const testerRole = (m: TestModel): string => {
  const row = [...m.dm.table('Device.LocalAgent.ControllerTrust.Role.').rows.values()].find((r) => m.dm.read(r, 'Name') === 'tester')!;
  return row.path;
};

function tx<T>(m: TestModel, work: Parameters<typeof write<T>>[1], originator = CONTROLLER_ID): T {
  return write(m, work, originator);
}

/** TP-469 step 1: the Controller adds a Permission (Order 2) to its own role. */
function addPermission(m: TestModel, targets: string, columns: { Param?: string; Obj?: string; InstantiatedObj?: string; CommandEvent?: string }): void {
  const settings = Object.entries({ Enable: 'true', Order: '2', Targets: targets, Param: 'rwxn', Obj: 'rwxn', InstantiatedObj: 'rwxn', CommandEvent: 'rwxn', ...columns }).map(([param, value]) => ({ param, value }));
  const ctx = m.ctx();
  const resp = tx(m, (t) => handleAdd(ctx, { allowPartial: false, createObjs: [{ objPath: `${testerRole(m)}Permission.`, paramSettings: settings }] }, t));
  assert.ok(resp.createdObjResults![0]!.operStatus!.operSuccess, 'the Permission is added');
}

function addSubscription(m: TestModel, originator = CONTROLLER_ID, extra: { param: string; value: string; required?: boolean }[] = []): usp.AddResp.$Properties {
  const ctx = m.ctx(originator);
  return tx(m, (t) => handleAdd(ctx, { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: extra }] }, t), originator);
}

function errorOf(work: () => unknown): MessageError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof MessageError, `a USP Error, not ${String(error)}`);
    return error;
  }
  assert.fail('expected an Error message');
}

test('TP-469 2.11/2.12: Add needs Obj write on the table; without it the Error is 7006', () => {
  const allowed = model();
  addPermission(allowed, 'Device.LocalAgent.Subscription.', { Obj: 'rw--' });
  assert.ok(addSubscription(allowed).createdObjResults![0]!.operStatus!.operSuccess);

  const denied = model();
  addPermission(denied, 'Device.LocalAgent.Subscription.', { Obj: 'r---' });
  const error = errorOf(() => addSubscription(denied));
  assert.equal(error.uspErrorCode, 7006);
  assert.match(error.message, /Device\.LocalAgent\.Subscription\.: permission denied: needs Obj write/);
  assert.equal(denied.dm.table('Device.LocalAgent.Subscription.').rows.size, 0);
});

test('TP-469 2.13/2.14: Delete needs InstantiatedObj write; without it the Error is 7006 and the row stays', () => {
  const m = model();
  addSubscription(m);
  addPermission(m, 'Device.LocalAgent.Subscription.', { InstantiatedObj: 'r---' });
  const ctx = m.ctx();
  const error = errorOf(() => tx(m, (t) => handleDelete(ctx, { allowPartial: false, objPaths: ['Device.LocalAgent.Subscription.1.'] }, t)));
  assert.equal(error.uspErrorCode, 7006);
  assert.equal(m.dm.table('Device.LocalAgent.Subscription.').rows.size, 1);
  const partial = tx(m, (t) => handleDelete(m.ctx(), { allowPartial: true, objPaths: ['Device.LocalAgent.Subscription.1.'] }, t));
  assert.equal(partial.deletedObjResults![0]!.operStatus!.operSuccess!.unaffectedPathErrs![0]!.errCode, 7006);
});

test('TP-469 2.15/2.16: Set of a required parameter without Param write is Error 7006', () => {
  const m = model();
  addSubscription(m);
  addPermission(m, 'Device.LocalAgent.Subscription.', { Param: 'r---' });
  const ctx = m.ctx();
  const error = errorOf(() => tx(m, (t) => handleSet(ctx, { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Subscription.1.', paramSettings: [{ param: 'Alias', value: 'x1', required: true }] }] }, t)));
  assert.equal(error.uspErrorCode, 7006);
  assert.equal(error.paramErrs[0]!.paramPath, 'Device.LocalAgent.Subscription.1.Alias');
  assert.equal(error.paramErrs[0]!.errCode, 7006);
});

test('TP-469 2.17/2.18: Operate without CommandEvent execute is a cmd_failure 7006 (USP 1.4)', async () => {
  const m = model();
  addPermission(m, 'Device.LocalAgent.Controller.', { CommandEvent: 'r---' });
  const resp = await handleOperate(m.ctx(), { command: 'Device.LocalAgent.Controller.1.SendOnBoardRequest()', sendResp: true });
  assert.equal(resp.operationResults![0]!.cmdFailure!.errCode, 7006);
  assert.match(resp.operationResults![0]!.cmdFailure!.errMsg!, /SendOnBoardRequest\(\): permission denied: needs CommandEvent execute/);
  assert.deepEqual(m.onBoardRequests, []);
});

test('TP-469 2.19/2.20: a ValueChange is sent only with Param notify; the subscription is created either way', () => {
  for (const [param, expected] of [['rw-n', 1], ['rw--', 0]] as const) {
    const m = model();
    addPermission(m, 'Device.LocalAgent.Controller.*.PeriodicNotifInterval', { Param: param });
    const sent: usp.Notify.$Properties[] = [];
    const service = createSubscriptionService({ dm: m.dm, accessControl: m.accessControl, send: (_c, _id, notify) => (sent.push(notify), true), logger: createSilentLogger() });
    service.start({ cause: 'LocalReboot' });
    const added = addSubscription(m, CONTROLLER_ID, [
      { param: 'Enable', value: 'true' },
      { param: 'NotifType', value: 'ValueChange' },
      { param: 'ReferenceList', value: 'Device.LocalAgent.Controller.1.PeriodicNotifInterval' },
    ]);
    assert.ok(added.createdObjResults![0]!.operStatus!.operSuccess, `subscription created (Param ${param})`);
    tx(m, (t) => handleSet(m.ctx(), { updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'PeriodicNotifInterval', value: '3600' }] }] }, t));
    service.stop();
    assert.equal(sent.filter((n) => n.valueChange).length, expected, `Param ${param}`);
  }
});

test('TP-469 2.21/2.22: Get leaves out what the Controller may not read, and a higher Order re-allows it', () => {
  const m = model();
  addPermission(m, 'Device.LocalAgent.Controller.*.PeriodicNotifInterval', { Param: '----' });
  const result = handleGet(m.ctx(), { paramPaths: ['Device.LocalAgent.Controller.1.'], maxDepth: 1 }).reqPathResults![0]!;
  assert.equal(result.errCode, 0);
  const params = result.resolvedPathResults![0]!.resultParams!;
  assert.equal(params['PeriodicNotifInterval'], undefined);
  assert.equal(params['EndpointID'], CONTROLLER_ID);
  const single = handleGet(m.ctx(), { paramPaths: ['Device.LocalAgent.Controller.1.PeriodicNotifInterval'] }).reqPathResults![0]!;
  assert.deepEqual([single.errCode, single.resolvedPathResults], [0, []]);
});

test('TP-469 2.23/2.24: Add over a search path fails 7006 where the table may not be written (allow_partial true and false)', () => {
  const m = model();
  addPermission(m, 'Device.LocalAgent.Controller.2.BootParameter.', { Obj: 'r---' });
  const request = (allowPartial: boolean, name: string) => ({ allowPartial, createObjs: [{ objPath: 'Device.LocalAgent.Controller.[Enable==true].BootParameter.', paramSettings: [{ param: 'ParameterName', value: name, required: true }] }] });
  const partial = tx(m, (t) => handleAdd(m.ctx(), request(true, 'Device.LocalAgent.EndpointID'), t));
  const statuses = partial.createdObjResults!.map((r) => r.operStatus!);
  assert.ok(statuses[0]!.operSuccess?.instantiatedPath?.startsWith('Device.LocalAgent.Controller.1.BootParameter.'));
  assert.equal(statuses[1]!.operFailure?.errCode, 7006);
  const before = m.dm.table('Device.LocalAgent.Controller.1.BootParameter.').rows.size;
  const error = errorOf(() => tx(m, (t) => handleAdd(m.ctx(), request(false, 'Device.LocalAgent.UpTime'), t)));
  assert.equal(error.uspErrorCode, 7006);
  assert.equal(m.dm.table('Device.LocalAgent.Controller.1.BootParameter.').rows.size, before, 'nothing created');
});

test('TP-469 2.25/2.26: a parameter the Controller may not write is left at its default when omitted, and fails the Add when included', () => {
  const m = model();
  addPermission(m, 'Device.LocalAgent.Subscription.*.Enable', { Param: 'r---' });
  const omitted = addSubscription(m, CONTROLLER_ID, [{ param: 'ID', value: 'add1' }, { param: 'NotifType', value: 'ValueChange' }, { param: 'ReferenceList', value: 'Device.LocalAgent.SoftwareVersion', required: true }]);
  const path = omitted.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
  assert.equal(m.dm.read(m.dm.lookup(path)!, 'Enable'), 'false');
  const included = tx(m, (t) => handleAdd(m.ctx(), { allowPartial: true, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'ID', value: 'add26' }, { param: 'Enable', value: 'true', required: true }] }] }, t));
  assert.equal(included.createdObjResults![0]!.operStatus!.operFailure!.errCode, 7006);
  assert.ok(![...m.dm.table('Device.LocalAgent.Subscription.').rows.values()].some((s) => m.dm.read(s, 'ID') === 'add26'));
});

test('TP-469 2.27: secured values read as "" except for a Controller holding one of SecuredRoles', () => {
  const m = model();
  const read = () => handleGet(m.ctx(), { paramPaths: ['Device.MQTT.Client.1.Password'] }).reqPathResults![0]!.resolvedPathResults![0]!.resultParams!['Password'];
  assert.equal(read(), '');
  const secured = m.dm.read(m.dm.object('Device.LocalAgent.ControllerTrust.'), 'SecuredRoles');
  const controller = m.ctx().controller;
  tx(m, (t) => { t.setParam(controller, 'AssignedRole', `${testerRole(m).slice(0, -1)},${secured}`, 'set'); }, 'proto::other');
  assert.equal(read(), 'broker-secret');
});

test('an Untrusted Controller may not touch the MQTT client, the Controllers or its own role, and sees only DeviceInfo', async () => {
  const m = model();
  const ctx = m.ctx(UNTRUSTED_ID);
  const setError = errorOf(() => tx(m, (t) => handleSet(ctx, { updateObjs: [{ objPath: 'Device.MQTT.Client.1.', paramSettings: [{ param: 'BrokerAddress', value: 'evil.example', required: true }] }] }, t), UNTRUSTED_ID));
  assert.equal(setError.uspErrorCode, 7006);
  assert.equal(m.dm.read(m.dm.object('Device.MQTT.Client.1.'), 'BrokerAddress'), '127.0.0.1');
  const me = m.ctx(UNTRUSTED_ID).controller.path;
  const roleError = errorOf(() => tx(m, (t) => handleSet(ctx, { updateObjs: [{ objPath: me, paramSettings: [{ param: 'AssignedRole', value: testerRole(m).slice(0, -1), required: true }] }] }, t), UNTRUSTED_ID));
  assert.equal(roleError.uspErrorCode, 7006);
  assert.equal(errorOf(() => tx(m, (t) => handleAdd(ctx, { createObjs: [{ objPath: 'Device.LocalAgent.Controller.', paramSettings: [{ param: 'EndpointID', value: 'proto::mine' }] }] }, t), UNTRUSTED_ID)).uspErrorCode, 7006);
  assert.equal(errorOf(() => tx(m, (t) => handleDelete(ctx, { objPaths: ['Device.LocalAgent.Controller.1.'] }, t), UNTRUSTED_ID)).uspErrorCode, 7006);
  const operate = await handleOperate(ctx, { command: 'Device.LocalAgent.Controller.1.SendOnBoardRequest()', sendResp: true });
  assert.equal(operate.operationResults![0]!.cmdFailure!.errCode, 7006);
  const everything = handleGet(ctx, { paramPaths: ['Device.'] }).reqPathResults![0]!;
  assert.ok(everything.resolvedPathResults!.length > 0);
  assert.ok(everything.resolvedPathResults!.every((r) => r.resolvedPath!.startsWith('Device.DeviceInfo.')), 'only DeviceInfo is visible');
  const instances = handleGetInstances(ctx, { objPaths: ['Device.LocalAgent.Controller.'] }).reqPathResults![0]!;
  assert.deepEqual(instances.currInsts, []);
  const gsdm = handleGetSupportedDm(ctx, { objPaths: ['Device.'], returnParams: true }).reqObjResults![0]!;
  assert.ok(gsdm.supportedObjs!.every((o) => o.supportedObjPath === 'Device.' || o.supportedObjPath!.startsWith('Device.DeviceInfo.')), 'GetSupportedDM shows its own access');
  assert.equal(handleGetSupportedDm(ctx, { objPaths: ['Device.MQTT.'] }).reqObjResults![0]!.errCode, 7026);
});

test('a role change applies to the very next message', () => {
  const m = model();
  const before = handleGet(m.ctx(UNTRUSTED_ID), { paramPaths: ['Device.LocalAgent.EndpointID'] }).reqPathResults![0]!;
  assert.deepEqual(before.resolvedPathResults, []);
  const stranger = m.ctx(UNTRUSTED_ID).controller;
  tx(m, (t) => { t.setParam(stranger, 'AssignedRole', testerRole(m).slice(0, -1), 'set'); }, 'proto::other');
  const after = handleGet(m.ctx(UNTRUSTED_ID), { paramPaths: ['Device.LocalAgent.EndpointID'] }).reqPathResults![0]!;
  assert.equal(after.resolvedPathResults![0]!.resultParams!['EndpointID'], AGENT_ID);
});
