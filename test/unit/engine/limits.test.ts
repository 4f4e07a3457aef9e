// What bounds a hostile or careless Controller: rows per table and per Controller, the size of a response, the
// number of entries in one message, and unexpected errors logged with their stack before they become 7003.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createTestModel, write, CONTROLLER_ID } from '../../helpers/model.ts';
import type { TestModel } from '../../helpers/model.ts';
import { handleAdd } from '../../../src/engine/handle-add.ts';
import { handleGet } from '../../../src/engine/handle-get.ts';
import { handleGetInstances } from '../../../src/engine/handle-get-instances.ts';
import { handleGetSupportedDm } from '../../../src/engine/handle-get-supported-dm.ts';
import { handleOperate } from '../../../src/engine/handle-operate.ts';
import { MAX_REQUESTS_PER_CONTROLLER } from '../../../src/engine/requests.ts';
import { createResponseBudget, ResponseTooLargeError } from '../../../src/engine/response-budget.ts';
import { checkRequestLimits, MAX_ENTRIES_PER_REQUEST, MAX_SETTINGS_PER_REQUEST, MAX_WRITES_PER_REQUEST } from '../../../src/engine/request-limits.ts';
import { handleSet } from '../../../src/engine/handle-set.ts';
import { MAX_SUBSCRIPTIONS_PER_CONTROLLER } from '../../../src/datamodel/bindings/local-agent.ts';
import { MessageError } from '../../../src/engine/message-error.ts';
import type { RequestContext } from '../../../src/engine/context.ts';

const eventSubscription = [{ param: 'NotifType', value: 'Event' }, { param: 'ReferenceList', value: 'Device.Boot!' }, { param: 'Persistent', value: 'true' }];

function addSubscriptions(model: TestModel, count: number, originator = CONTROLLER_ID) {
  const createObjs = Array.from({ length: count }, () => ({ objPath: 'Device.LocalAgent.Subscription.', paramSettings: eventSubscription }));
  return write(model, (tx) => handleAdd(model.ctx(originator), { allowPartial: true, createObjs }, tx), originator);
}

test('one Controller holds at most MAX_SUBSCRIPTIONS_PER_CONTROLLER subscriptions; the next Add fails with 7005, others are unaffected', () => {
  const model = createTestModel();
  const resp = addSubscriptions(model, MAX_SUBSCRIPTIONS_PER_CONTROLLER + 3);
  const results = resp.createdObjResults!;
  assert.equal(results.filter((r) => r.operStatus?.operSuccess).length, MAX_SUBSCRIPTIONS_PER_CONTROLLER);
  const failures = results.filter((r) => r.operStatus?.operFailure).map((r) => r.operStatus!.operFailure!);
  assert.equal(failures.length, 3);
  assert.ok(failures.every((f) => f.errCode === 7005 && /already holds 128 subscriptions/.test(f.errMsg ?? '')));
  // Another Controller still has its own allowance.
  const other = addSubscriptions(model, 2, 'proto::other');
  assert.ok(other.createdObjResults!.every((r) => r.operStatus?.operSuccess));
  assert.equal(model.dm.get('Device.LocalAgent.', 'SupportedNumberOfSubscriptions'), '1024');
});

test('a table bounded by maxRows refuses the row after the last with 7005', () => {
  const model = createTestModel();
  const roles = model.dm.table('Device.LocalAgent.ControllerTrust.Role.');
  const room = roles.schema.decl.maxRows! - roles.rows.size;
  const createObjs = Array.from({ length: room + 1 }, (_, i) => ({ objPath: 'Device.LocalAgent.ControllerTrust.Role.', paramSettings: [{ param: 'Name', value: `role-${i}` }] }));
  const resp = write(model, (tx) => handleAdd(model.ctx(), { allowPartial: true, createObjs }, tx));
  const last = resp.createdObjResults!.at(-1)!.operStatus!.operFailure!;
  assert.equal(last.errCode, 7005);
  assert.match(last.errMsg ?? '', /has 32 rows, the most this agent keeps/);
  assert.equal(roles.rows.size, 32);
});

function contextWithBudget(model: TestModel, bytes: number): RequestContext {
  return { ...model.ctx(), budget: createResponseBudget(bytes) };
}

test('a Get whose answer would outgrow the budget fails as a whole with 7005 before it is built', () => {
  const model = createTestModel();
  const one = handleGet(model.ctx(), { paramPaths: ['Device.'] });
  const size = JSON.stringify(one).length;
  // Enough for one copy of the tree, not for 10,000: the error comes after a handful of paths, not after all of them.
  const ctx = contextWithBudget(model, size * 3);
  let reads = 0;
  const read = model.dm.read.bind(model.dm);
  model.dm.read = (obj, name) => {
    reads += 1;
    return read(obj, name);
  };
  assert.throws(
    () => handleGet(ctx, { paramPaths: Array.from({ length: 10_000 }, () => 'Device.') }),
    (error: unknown) => error instanceof ResponseTooLargeError && error.uspErrorCode === 7005 && /at most \d+ bytes in one message/.test(error.message),
  );
  const perTree = Object.values(one.reqPathResults![0]!.resolvedPathResults!).reduce((n, r) => n + Object.keys(r.resultParams ?? {}).length, 0);
  assert.ok(reads < perTree * 10, `stopped early (${reads} reads for a tree of ${perTree} parameters)`);
  // Errors count too: 10,000 paths that do not exist would still make a large answer.
  assert.throws(() => handleGet(contextWithBudget(model, 50_000), { paramPaths: Array.from({ length: 10_000 }, (_, i) => `Device.Nope${i}.`) }), ResponseTooLargeError);
  // GetInstances and GetSupportedDM have the same bound.
  assert.throws(() => handleGetInstances(contextWithBudget(model, 2_000), { objPaths: Array.from({ length: 100 }, () => 'Device.LocalAgent.Controller.'), firstLevelOnly: false }), ResponseTooLargeError);
  assert.throws(
    () => handleGetSupportedDm(contextWithBudget(model, 100_000), { objPaths: Array.from({ length: 1000 }, () => 'Device.'), returnParams: true, returnCommands: true, returnEvents: true, returnUniqueKeySets: true }),
    ResponseTooLargeError,
  );
  // Within the budget nothing changes.
  assert.equal(handleGet(contextWithBudget(model, size * 3), { paramPaths: ['Device.', 'Device.'] }).reqPathResults!.length, 2);
});

test('more entries or settings in one message than the limits is refused with 7005 naming the field', () => {
  const paths = Array.from({ length: MAX_ENTRIES_PER_REQUEST + 1 }, () => 'Device.');
  assert.throws(() => { checkRequestLimits({ get: { paramPaths: paths } }); }, (e: unknown) => e instanceof MessageError && e.uspErrorCode === 7005 && /param_paths: 1001 in one message, at most 1000/.test(e.message));
  assert.throws(() => { checkRequestLimits({ delete: { objPaths: paths } }); }, /obj_paths: 1001/);
  checkRequestLimits({ get: { paramPaths: paths.slice(1) } });
  const settings = Array.from({ length: MAX_SETTINGS_PER_REQUEST / 10 + 1 }, () => ({ param: 'Enable', value: 'true' }));
  const updateObjs = Array.from({ length: 10 }, () => ({ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: settings }));
  assert.throws(() => { checkRequestLimits({ set: { updateObjs } }); }, /param_settings: 10010 in one message, at most 10000/);
});

test('an unexpected exception in a handler is logged with its stack and answered as 7003 on that path', () => {
  const model = createTestModel();
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } }));
  const read = model.dm.read.bind(model.dm);
  model.dm.read = (obj, name) => {
    if (name === 'SoftwareVersion') throw new TypeError('a bug in a getter');
    return read(obj, name);
  };
  const result = handleGet({ ...model.ctx(), logger }, { paramPaths: ['Device.LocalAgent.SoftwareVersion', 'Device.LocalAgent.EndpointID'] }).reqPathResults!;
  assert.equal(result[0]!.errCode, 7003);
  assert.match(result[0]!.errMsg ?? '', /internal error at Device.LocalAgent.SoftwareVersion: a bug in a getter/);
  assert.equal(result[1]!.errCode, 0, 'the other path is still answered');
  assert.equal(lines.length, 1);
  const logged = JSON.parse(lines[0]!) as { msg: string; where: string; err: { stack: string } };
  assert.equal(logged.where, 'Device.LocalAgent.SoftwareVersion');
  assert.match(logged.err.stack, /TypeError: a bug in a getter\n\s+at /);
});

test('asynchronous commands: at most MAX_REQUESTS_PER_CONTROLLER running per Controller; ScheduleTimer() waits even 2^32−1 s', async () => {
  const model = createTestModel();
  const timer = (originator = CONTROLLER_ID) => handleOperate(model.ctx(originator), { command: 'Device.ScheduleTimer()', commandKey: 'long', inputArgs: { DelaySeconds: '4294967295' } });
  const completed: string[] = [];
  model.requests.onOperationComplete((_obj, _name, key) => completed.push(key));
  for (let i = 0; i < MAX_REQUESTS_PER_CONTROLLER; i++) assert.ok((await timer()).operationResults![0]!.reqObjPath);
  const over = (await timer()).operationResults![0]!.cmdFailure!;
  assert.equal(over.errCode, 7005);
  assert.match(over.errMsg ?? '', /32 asynchronous commands of this Controller are running/);
  assert.ok((await timer('proto::other')).operationResults![0]!.reqObjPath, 'another Controller has its own share');
  // A delay beyond what one Node timer holds (24.8 days) must not fire at once.
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(completed, []);
  for (const row of [...model.dm.table('Device.LocalAgent.Request.').rows.values()]) model.requests.cancel(row);
  await model.requests.settled();
  assert.equal(model.dm.table('Device.LocalAgent.Request.').rows.size, 0);
});

test('a Set or Add whose settings times the objects its paths match pass MAX_WRITES_PER_REQUEST is refused before writing', () => {
  const model = createTestModel();
  addSubscriptions(model, 100);
  const settings = (n: number) => Array.from({ length: n }, (_, i) => ({ param: 'NotifRetry', value: i % 2 === 0 ? 'true' : 'false' }));
  const set = (n: number) => write(model, (tx) => handleSet(model.ctx(), { allowPartial: true, updateObjs: [{ objPath: 'Device.LocalAgent.Subscription.*.', paramSettings: settings(n) }] }, tx));
  assert.throws(() => set(MAX_WRITES_PER_REQUEST / 100 + 1), (e: unknown) => e instanceof MessageError && e.uspErrorCode === 7005 && /would write 20100 parameters or more/.test(e.message));
  assert.equal(model.dm.get('Device.LocalAgent.Subscription.1.', 'NotifRetry'), 'false', 'nothing was written');
  assert.ok(set(MAX_WRITES_PER_REQUEST / 100).updatedObjResults![0]!.operStatus!.operSuccess);
});
