// The message handlers against a real, frozen data model (no MTP): what a Controller sees for each message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestModel, testConfig, write, CONTROLLER_ID } from '../../helpers/model.ts';
import type { TestModel } from '../../helpers/model.ts';
import { handleGet } from '../../../src/engine/handle-get.ts';
import { handleSet } from '../../../src/engine/handle-set.ts';
import { handleAdd } from '../../../src/engine/handle-add.ts';
import { handleDelete } from '../../../src/engine/handle-delete.ts';
import { handleOperate } from '../../../src/engine/handle-operate.ts';
import { handleGetInstances } from '../../../src/engine/handle-get-instances.ts';
import { handleGetSupportedDm } from '../../../src/engine/handle-get-supported-dm.ts';
import { MessageError } from '../../../src/engine/message-error.ts';


function getOne(model: TestModel, path: string, maxDepth = 0) {
  return handleGet(model.ctx(), { paramPaths: [path], maxDepth }).reqPathResults![0]!;
}

test('Get of a partial path returns each object with only its own parameters', () => {
  const model = createTestModel();
  const result = getOne(model, 'Device.LocalAgent.');
  assert.equal(result.errCode, 0);
  const paths = result.resolvedPathResults!.map((r) => r.resolvedPath);
  assert.equal(paths[0], 'Device.LocalAgent.');
  assert.ok(paths.includes('Device.LocalAgent.Controller.1.'));
  assert.ok(paths.includes('Device.LocalAgent.Controller.1.MTP.1.MQTT.'));
  const top = result.resolvedPathResults![0]!.resultParams!;
  assert.equal(top['EndpointID'], 'os::012345-TEST01');
  assert.equal(top['ControllerNumberOfEntries'], '2');
  assert.equal(top['Controller.1.EndpointID' as string], undefined, 'child parameters belong to the child result');
});

test('Get max_depth limits the levels returned', () => {
  const model = createTestModel();
  assert.equal(getOne(model, 'Device.LocalAgent.', 1).resolvedPathResults!.length, 1);
  const two = getOne(model, 'Device.LocalAgent.', 2).resolvedPathResults!.map((r) => r.resolvedPath);
  assert.ok(two.includes('Device.LocalAgent.Controller.1.'));
  assert.ok(!two.includes('Device.LocalAgent.Controller.1.MTP.1.'));
});

test('Get of a parameter path reports the parent object and just that parameter', () => {
  const model = createTestModel();
  const result = getOne(model, 'Device.LocalAgent.Controller.2.EndpointID');
  assert.deepEqual(
    result.resolvedPathResults!.map((r) => [r.resolvedPath, r.resultParams]),
    [['Device.LocalAgent.Controller.2.', { EndpointID: 'proto::other' }]],
  );
});

test('Get errors are per requested path, with the code the spec assigns', () => {
  const model = createTestModel();
  const cases: [string, number][] = [
    ['Device.LocalAgent.Controller.9.', 7026], // instance that does not exist
    ['Device.LocalAgent.NoSuchThing', 7026],
    ['Device.Nope.', 7026],
    ['Device..LocalAgent.', 7008],
    ['Device.LocalAgent.Controller.[EndpointID=="x".', 7008],
    ['Device.LocalAgent.Controller.[Enable=="true"].', 7008], // a boolean compared with a string literal
  ];
  for (const [path, code] of cases) assert.equal(getOne(model, path).errCode, code, path);
  const response = handleGet(model.ctx(), { paramPaths: ['Device.Nope.', 'Device.LocalAgent.EndpointID'] });
  assert.equal(response.reqPathResults![1]!.errCode, 0, 'one bad path does not spoil the others');
});

test('Get with wildcards, searches and reference following', () => {
  const model = createTestModel();
  const all = getOne(model, 'Device.LocalAgent.Controller.*.EndpointID');
  assert.deepEqual(all.resolvedPathResults!.map((r) => r.resultParams!['EndpointID']), ['proto::test-controller', 'proto::other']);
  const one = getOne(model, 'Device.LocalAgent.Controller.[EndpointID=="proto::other"&&Enable==true].PeriodicNotifInterval');
  assert.deepEqual(one.resolvedPathResults!.map((r) => r.resolvedPath), ['Device.LocalAgent.Controller.2.']);
  const none = getOne(model, 'Device.LocalAgent.Controller.[EndpointID=="nobody"].');
  assert.equal(none.errCode, 0);
  assert.deepEqual(none.resolvedPathResults, []);
  const role = getOne(model, 'Device.LocalAgent.Controller.1.AssignedRole+.Name');
  assert.deepEqual(role.resolvedPathResults!.map((r) => r.resultParams!['Name']), ['Full Access']);
  const numeric = getOne(model, 'Device.LocalAgent.Controller.[PeriodicNotifInterval>=86400].EndpointID');
  assert.equal(numeric.resolvedPathResults!.length, 2);
});

test('secured parameters read back empty', () => {
  const model = createTestModel();
  write(model, (tx) => tx.setParam(model.dm.object('Device.MQTT.Client.1.'), 'Password', 'hunter2', 'set'));
  assert.equal(getOne(model, 'Device.MQTT.Client.1.Password').resolvedPathResults![0]!.resultParams!['Password'], '');
});

test('Set follows the allow_partial / required matrix', () => {
  const model = createTestModel();
  const ok = write(model, (tx) =>
    handleSet(model.ctx(), { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'PeriodicNotifInterval', value: '0060', required: true }] }] }, tx),
  );
  assert.deepEqual(ok.updatedObjResults![0]!.operStatus!.operSuccess!.updatedInstResults![0]!.updatedParams, { PeriodicNotifInterval: '60' });

  // Not required: the object succeeds with a param error.
  const partial = write(model, (tx) =>
    handleSet(model.ctx(), { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'PeriodicNotifInterval', value: 'soon', required: false }] }] }, tx),
  );
  assert.equal(partial.updatedObjResults![0]!.operStatus!.operSuccess!.updatedInstResults![0]!.paramErrs![0]!.errCode, 7011);

  // Required and allow_partial=false: an Error with param_errs, nothing changed.
  assert.throws(
    () =>
      write(model, (tx) =>
        handleSet(model.ctx(), {
          allowPartial: false,
          updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'ProvisioningCode', value: 'abc', required: true }, { param: 'PeriodicNotifInterval', value: '0', required: true }] }],
        }, tx),
      ),
    (error: unknown) => error instanceof MessageError && error.uspErrorCode === 7021 && error.paramErrs[0]!.errCode === 7012 && error.paramErrs[0]!.paramPath === 'Device.LocalAgent.Controller.1.PeriodicNotifInterval',
  );
  assert.equal(model.dm.get('Device.LocalAgent.Controller.1.', 'ProvisioningCode'), '', 'the failed message changed nothing');

  // Required and allow_partial=true: oper_failure for that object, the others still applied.
  const mixed = write(model, (tx) =>
    handleSet(model.ctx(), {
      allowPartial: true,
      updateObjs: [
        { objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'EndpointID', value: 'proto::other', required: true }] },
        { objPath: 'Device.LocalAgent.Controller.2.', paramSettings: [{ param: 'ProvisioningCode', value: 'p2', required: true }] },
      ],
    }, tx),
  );
  assert.equal(mixed.updatedObjResults![0]!.operStatus!.operFailure!.errCode, 7025);
  assert.equal(model.dm.get('Device.LocalAgent.Controller.1.', 'EndpointID'), CONTROLLER_ID);
  assert.equal(model.dm.get('Device.LocalAgent.Controller.2.', 'ProvisioningCode'), 'p2');
});

test('Set refuses read-only, unknown and badly typed parameters with their codes', () => {
  const model = createTestModel();
  const cases: [string, string, string, number][] = [
    ['Device.LocalAgent.', 'EndpointID', 'x', 7013],
    ['Device.LocalAgent.Controller.1.', 'NoSuchParam', 'x', 7010],
    ['Device.LocalAgent.Controller.1.', 'Enable', 'maybe', 7011],
    ['Device.LocalAgent.Controller.1.', 'USPNotifRetryIntervalMultiplier', '999', 7012],
    ['Device.LocalAgent.Controller.1.', 'Alias', 'new-alias', 7013],
    ['Device.LocalAgent.Controller.1.', 'AssignedRole', 'Device.LocalAgent.ControllerTrust.Role.99', 7012],
  ];
  for (const [objPath, param, value, code] of cases) {
    const resp = write(model, (tx) => handleSet(model.ctx(), { allowPartial: true, updateObjs: [{ objPath, paramSettings: [{ param, value, required: false }] }] }, tx));
    assert.equal(resp.updatedObjResults![0]!.operStatus!.operSuccess!.updatedInstResults![0]!.paramErrs![0]!.errCode, code, `${param}=${value}`);
  }
});

test('Set through a search path is holistic: one failing match undoes all', () => {
  const model = createTestModel();
  // Both controllers get the same EndpointID: the second one conflicts with the first.
  const resp = write(model, (tx) =>
    handleSet(model.ctx(), { allowPartial: true, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.*.', paramSettings: [{ param: 'EndpointID', value: 'proto::same', required: true }] }] }, tx),
  );
  assert.equal(resp.updatedObjResults![0]!.operStatus!.operFailure!.errCode, 7025);
  assert.equal(model.dm.get('Device.LocalAgent.Controller.1.', 'EndpointID'), CONTROLLER_ID);
  assert.equal(model.dm.get('Device.LocalAgent.Controller.2.', 'EndpointID'), 'proto::other');
});

test('Add creates a subscription owned by the requesting Controller', () => {
  const model = createTestModel();
  const resp = write(model, (tx) =>
    handleAdd(model.ctx(), {
      allowPartial: false,
      createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'NotifType', value: 'ValueChange' }, { param: 'ReferenceList', value: 'Device.LocalAgent.Controller.1.Enable' }, { param: 'Enable', value: 'true' }] }],
    }, tx),
  );
  const success = resp.createdObjResults![0]!.operStatus!.operSuccess!;
  assert.equal(success.instantiatedPath, 'Device.LocalAgent.Subscription.1.');
  assert.equal(success.uniqueKeys!['Recipient'], 'Device.LocalAgent.Controller.1');
  assert.equal(success.uniqueKeys!['Alias'], 'cpe-1');
  assert.match(success.uniqueKeys!['ID']!, /^1-/);
  assert.equal(model.dm.get('Device.LocalAgent.Subscription.1.', 'CreationDate'), '2026-01-02T03:04:05Z');
});

test('Add errors: duplicate keys, read-only tables, non-tables, bad references', () => {
  const model = createTestModel();
  const add = (objPath: string, settings: { param: string; value: string; required?: boolean }[], allowPartial: boolean) =>
    write(model, (tx) => handleAdd(model.ctx(), { allowPartial, createObjs: [{ objPath, paramSettings: settings }] }, tx));
  assert.throws(() => add('Device.LocalAgent.Controller.', [{ param: 'EndpointID', value: 'proto::other' }], false), (e: unknown) => e instanceof MessageError && e.uspErrorCode === 7025);
  assert.equal(model.dm.table('Device.LocalAgent.Controller.').rows.size, 2, 'nothing was added');
  const dup = add('Device.LocalAgent.Controller.', [{ param: 'Alias', value: 'cpe-9' }, { param: 'EndpointID', value: 'proto::third' }], true);
  assert.ok(dup.createdObjResults![0]!.operStatus!.operSuccess);
  const conflict = add('Device.LocalAgent.Controller.', [{ param: 'Alias', value: 'cpe-9' }], true);
  assert.equal(conflict.createdObjResults![0]!.operStatus!.operFailure!.errCode, 7025);
  assert.equal(add('Device.LocalAgent.Request.', [], true).createdObjResults![0]!.operStatus!.operFailure!.errCode, 7019);
  assert.equal(add('Device.LocalAgent.Controller.1.', [], true).createdObjResults![0]!.operStatus!.operFailure!.errCode, 7018);
  assert.equal(add('Device.LocalAgent.NoTable.', [], true).createdObjResults![0]!.operStatus!.operFailure!.errCode, 7026);
  const badRef = add('Device.LocalAgent.Subscription.', [{ param: 'NotifType', value: 'ObjectCreation' }, { param: 'ReferenceList', value: 'Device.LocalAgent.Controller.1.Enable' }, { param: 'Enable', value: 'true' }], true);
  assert.equal(badRef.createdObjResults![0]!.operStatus!.operFailure!.errCode, 7012);
});

test('Delete removes rows and their nested rows; missing instances follow allow_partial', () => {
  const model = createTestModel(testConfig({ execEnvs: [{ name: 'default', memoryKiB: 4096, cpuPercent: 10, diskKiB: 4096 }] }));
  write(model, (tx) =>
    handleAdd(model.ctx('proto::other'), { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'NotifType', value: 'Event' }, { param: 'ReferenceList', value: 'Device.Boot!' }] }] }, tx),
  'proto::other');
  const resp = write(model, (tx) => handleDelete(model.ctx(), { allowPartial: false, objPaths: ['Device.LocalAgent.Controller.[EndpointID=="proto::other"].'] }, tx));
  assert.deepEqual(resp.deletedObjResults![0]!.operStatus!.operSuccess!.affectedPaths, ['Device.LocalAgent.Controller.2.', 'Device.LocalAgent.Controller.2.MTP.1.']);
  assert.equal(model.dm.table('Device.LocalAgent.Subscription.').rows.size, 0, "the Controller's subscriptions went with it");
  assert.throws(() => write(model, (tx) => handleDelete(model.ctx(), { allowPartial: false, objPaths: ['Device.LocalAgent.Controller.7.'] }, tx)), (e: unknown) => e instanceof MessageError && e.uspErrorCode === 7016);
  const idempotent = write(model, (tx) => handleDelete(model.ctx(), { allowPartial: true, objPaths: ['Device.LocalAgent.Controller.7.'] }, tx));
  assert.deepEqual(idempotent.deletedObjResults![0]!.operStatus!.operSuccess!.affectedPaths, []);
  const readOnly = write(model, (tx) => handleDelete(model.ctx(), { allowPartial: true, objPaths: ['Device.SoftwareModules.ExecEnv.1.'] }, tx));
  assert.equal(readOnly.deletedObjResults![0]!.operStatus!.operSuccess!.unaffectedPathErrs![0]!.errCode, 7024);
});

test('Operate: sync and async commands, argument checks, cancel', async () => {
  const model = createTestModel();
  const completions: unknown[] = [];
  model.requests.onOperationComplete((obj, name, key, result) => completions.push({ path: `${obj.path}${name}`, key, result }));
  const missing = await handleOperate(model.ctx(), { command: 'Device.ScheduleTimer()', commandKey: 'k0', inputArgs: {} });
  assert.equal(missing.operationResults![0]!.cmdFailure!.errCode, 7027);
  const bad = await handleOperate(model.ctx(), { command: 'Device.ScheduleTimer()', commandKey: 'k0', inputArgs: { DelaySeconds: '-1' } });
  assert.equal(bad.operationResults![0]!.cmdFailure!.errCode, 7027);

  const started = await handleOperate(model.ctx(), { command: 'Device.ScheduleTimer()', commandKey: 'k1', inputArgs: { DelaySeconds: '0', Unknown: 'ignored' } });
  const requestPath = started.operationResults![0]!.reqObjPath!;
  assert.equal(requestPath, 'Device.LocalAgent.Request.1.');
  assert.equal(model.dm.get(requestPath, 'Originator'), CONTROLLER_ID);
  assert.equal(model.dm.get(requestPath, 'Command'), 'Device.ScheduleTimer()');
  await model.requests.settled();
  assert.deepEqual(completions, [{ path: 'Device.ScheduleTimer()', key: 'k1', result: { outputArgs: {} } }]);
  assert.equal(model.dm.table('Device.LocalAgent.Request.').rows.size, 0, 'the Request row is removed when the command ends');

  const long = await handleOperate(model.ctx(), { command: 'Device.ScheduleTimer()', commandKey: 'k2', inputArgs: { DelaySeconds: '3600' } });
  const cancel = await handleOperate(model.ctx(), { command: `${long.operationResults![0]!.reqObjPath!}Cancel()`, commandKey: '', inputArgs: {} });
  assert.deepEqual(cancel.operationResults![0]!.reqOutputArgs!.outputArgs, {});
  await model.requests.settled();
  assert.equal((completions[1] as unknown as { result: { errCode: number } }).result.errCode, 7023);

  await assert.rejects(handleOperate(model.ctx(), { command: 'Device.NoSuch()' }), (e: unknown) => e instanceof MessageError && e.uspErrorCode === 7026);
  await assert.rejects(handleOperate(model.ctx(), { command: 'Device.LocalAgent.' }), (e: unknown) => e instanceof MessageError && e.uspErrorCode === 7026);
  const onBoard = await handleOperate(model.ctx(), { command: 'Device.LocalAgent.Controller.*.SendOnBoardRequest()' });
  assert.equal(onBoard.operationResults!.length, 2);
  assert.deepEqual(model.onBoardRequests, ['Device.LocalAgent.Controller.1.', 'Device.LocalAgent.Controller.2.']);
});

test('GetInstances lists rows with their unique keys', () => {
  const model = createTestModel();
  const all = handleGetInstances(model.ctx(), { objPaths: ['Device.LocalAgent.Controller.'], firstLevelOnly: false }).reqPathResults![0]!;
  assert.deepEqual(all.currInsts!.map((i) => i.instantiatedObjPath), [
    'Device.LocalAgent.Controller.1.',
    'Device.LocalAgent.Controller.1.MTP.1.',
    'Device.LocalAgent.Controller.2.',
    'Device.LocalAgent.Controller.2.MTP.1.',
  ]);
  assert.deepEqual(all.currInsts![0]!.uniqueKeys, { EndpointID: CONTROLLER_ID, Alias: 'cpe-1' });
  const first = handleGetInstances(model.ctx(), { objPaths: ['Device.LocalAgent.Controller.'], firstLevelOnly: true }).reqPathResults![0]!;
  assert.equal(first.currInsts!.length, 2);
  assert.equal(handleGetInstances(model.ctx(), { objPaths: ['Device.LocalAgent.'] }).reqPathResults![0]!.errCode, 7018);
});

test('GetSupportedDM describes types, access, commands, events and unique keys', () => {
  const model = createTestModel();
  const flags = { returnParams: true, returnCommands: true, returnEvents: true, returnUniqueKeySets: true };
  const resp = handleGetSupportedDm(model.ctx(), { objPaths: ['Device.LocalAgent.Controller.{i}.'], firstLevelOnly: false, ...flags });
  const result = resp.reqObjResults![0]!;
  assert.equal(result.errCode, 0);
  assert.equal(result.dataModelInstUri, 'urn:broadband-forum-org:tr-181-2-19-1');
  const controller = result.supportedObjs![0]!;
  assert.equal(controller.supportedObjPath, 'Device.LocalAgent.Controller.{i}.');
  assert.equal(controller.access, 1);
  assert.equal(controller.isMultiInstance, true);
  assert.deepEqual(controller.uniqueKeySets!.map((k) => k.keyNames), [['EndpointID'], ['Alias']]);
  const interval = controller.supportedParams!.find((p) => p.paramName === 'PeriodicNotifInterval')!;
  assert.deepEqual([interval.access, interval.valueType, interval.valueChange], [1, 9, 1]);
  assert.deepEqual(controller.supportedCommands!.map((c) => [c.commandName, c.commandType]), [['SendOnBoardRequest()', 1]]);
  assert.ok(result.supportedObjs!.some((o) => o.supportedObjPath === 'Device.LocalAgent.Controller.{i}.MTP.{i}.MQTT.'));

  const timer = handleGetSupportedDm(model.ctx(), { objPaths: ['Device.ScheduleTimer()'] }).reqObjResults![0]!.supportedObjs![0]!;
  assert.deepEqual(timer.supportedCommands!.map((c) => [c.commandName, c.commandType, c.inputArgNames]), [['ScheduleTimer()', 2, ['DelaySeconds']]]);
  const upTime = handleGetSupportedDm(model.ctx(), { objPaths: ['Device.LocalAgent.UpTime'] }).reqObjResults![0]!.supportedObjs![0]!;
  assert.equal(upTime.supportedParams![0]!.valueChange, 2, 'UpTime changes constantly: no ValueChange');
  const byInstance = handleGetSupportedDm(model.ctx(), { objPaths: ['Device.LocalAgent.Controller.1.'], firstLevelOnly: true }).reqObjResults![0]!;
  assert.equal(byInstance.supportedObjs![0]!.supportedObjPath, 'Device.LocalAgent.Controller.{i}.');
  for (const [path, code] of [['Device.LocalAgent.Controller.7.', 7026], ['Device.Foo.', 7026], ['Device.LocalAgent.Controller.*.', 7026], ['Device..', 7008]] as const) {
    assert.equal(handleGetSupportedDm(model.ctx(), { objPaths: [path] }).reqObjResults![0]!.errCode, code, path);
  }
});
