// What an audit entry says about a request and its answer: who, what (secrets masked), outcome; and its bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundEntry, completionRecord, requestRecord, MAX_ENTRY_BYTES, MAX_LIST_ITEMS, MAX_TEXT_CHARS } from '../../../src/audit/audit-entry.ts';
import type { AuditEntry } from '../../../src/audit/audit-entry.ts';
import { createMasker, securedNames, MASK } from '../../../src/audit/audit-mask.ts';
import { createAuditTrail } from '../../../src/audit/audit-trail.ts';
import { openJsonLinesLog } from '../../../src/store/json-lines-log.ts';
import { MessageError } from '../../../src/engine/message-error.ts';
import { UspError } from '../../../src/usp/errors.ts';
import type { RequestAudit } from '../../../src/engine/engine.ts';
import { berthModel } from '../../../datamodel/index.ts';
import { createSilentLogger } from '../../../src/log.ts';

const mask = createMasker(securedNames(berthModel));
const WHO = 'proto::isp';
const audit = (request: RequestAudit['request'], answer: RequestAudit['answer']): RequestAudit => ({ originator: WHO, msgId: 'm-1', request, answer });

test('secrets are masked: declared secured parameters, names like a secret, URL credentials, search-path values', () => {
  assert.ok(securedNames(berthModel).has('Password'), 'Device.MQTT.Client.{i}.Password is declared secured');
  const cases: [name: string, value: string, recorded: string][] = [
    ['Device.MQTT.Client.1.Password', 'hunter2', MASK],
    ['Password', '', MASK],
    ['KeyPassphrase', 'x', MASK],
    ['PreSharedKey', 'x', MASK],
    ['ClientSecret', 'x', MASK],
    ['Credentials', 'x', MASK],
    ['Username', 'alice', 'alice'],
    ['URL', 'https://alice:hunter2@catalog.example/targets/a.berth', 'https://***@catalog.example/targets/a.berth'],
    ['URL', 'http://catalog.example/targets/a.berth', 'http://catalog.example/targets/a.berth'],
  ];
  for (const [name, value, recorded] of cases) assert.equal(mask.value(name, value), recorded, name);
  assert.equal(mask.path('Device.MQTT.Client.[Password=="hunter2"&&Enable==true].'), 'Device.MQTT.Client.[Password=="***"&&Enable==true].');
  assert.equal(mask.path('Device.MQTT.Client.[Name=="a"].'), 'Device.MQTT.Client.[Name=="a"].');
});

test('Set: who, the requested paths, each setting with its value (secrets masked), the objects updated', () => {
  const { record } = requestRecord(
    audit(
      { set: { allowPartial: false, updateObjs: [{ objPath: 'Device.MQTT.Client.1.', paramSettings: [{ param: 'Username', value: 'gw' }, { param: 'Password', value: 'hunter2' }] }] } },
      { response: { setResp: { updatedObjResults: [{ requestedPath: 'Device.MQTT.Client.1.', operStatus: { operSuccess: { updatedInstResults: [{ affectedPath: 'Device.MQTT.Client.1.', updatedParams: {} }] } } }] } } },
    ),
    mask,
  );
  assert.deepEqual(record, {
    controller: WHO,
    msgId: 'm-1',
    message: 'Set',
    paths: ['Device.MQTT.Client.1.'],
    args: [['Device.MQTT.Client.1.Username', 'gw'], ['Device.MQTT.Client.1.Password', MASK]],
    outcome: 'Success',
    errCode: 0,
    errMsg: '',
    failures: [],
    affected: ['Device.MQTT.Client.1.'],
  });
  assert.ok(!JSON.stringify(record).includes('hunter2'));
});

test('outcomes: an Error (with its param_errs), allow_partial failures per path, cmd_failure, an async command started', () => {
  const error = requestRecord(
    audit({ delete: { allowPartial: false, objPaths: ['Device.LocalAgent.Controller.9.'] } }, { error: new MessageError(7016, 'Device.LocalAgent.Controller.9. does not exist', [{ paramPath: 'Device.LocalAgent.Controller.9.', errCode: 7016, errMsg: 'gone' }]) }),
    mask,
  ).record;
  assert.deepEqual([error.message, error.outcome, error.errCode, error.errMsg, error.failures], ['Delete', 'Failure', 7016, 'Device.LocalAgent.Controller.9. does not exist', [{ path: 'Device.LocalAgent.Controller.9.', errCode: 7016, errMsg: 'gone' }]]);
  const limit = requestRecord(audit({ add: { createObjs: [] } }, { error: new UspError(7005, 'busy') }), mask).record;
  assert.deepEqual([limit.outcome, limit.errCode, limit.failures], ['Failure', 7005, []]);
  const bug = requestRecord(audit({ add: { createObjs: [] } }, { error: new Error('oops') }), mask).record;
  assert.equal(bug.errCode, 7003);

  const partial = requestRecord(
    audit(
      { add: { allowPartial: true, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'ID', value: 's1' }] }, { objPath: 'Device.Nope.', paramSettings: [] }] } },
      {
        response: {
          addResp: {
            createdObjResults: [
              { requestedPath: 'Device.LocalAgent.Subscription.', operStatus: { operSuccess: { instantiatedPath: 'Device.LocalAgent.Subscription.3.' } } },
              { requestedPath: 'Device.Nope.', operStatus: { operFailure: { errCode: 7026, errMsg: 'no such object' } } },
            ],
          },
        },
      },
    ),
    mask,
  ).record;
  assert.deepEqual([partial.outcome, partial.errCode, partial.affected, partial.failures], ['PartialFailure', 7026, ['Device.LocalAgent.Subscription.3.'], [{ path: 'Device.Nope.', errCode: 7026, errMsg: 'no such object' }]]);
  assert.deepEqual(partial.args, [['Device.LocalAgent.Subscription.ID', 's1']]);

  const refused = requestRecord(
    audit({ operate: { command: 'Device.SoftwareModules.InstallDU()', inputArgs: { URL: 'ftp://x', Password: 'p' } } }, { response: { operateResp: { operationResults: [{ executedCommand: 'Device.SoftwareModules.InstallDU()', cmdFailure: { errCode: 7004, errMsg: 'not http' } }] } } }),
    mask,
  ).record;
  assert.deepEqual([refused.message, refused.outcome, refused.errCode, refused.args], ['Operate', 'Failure', 7004, [['URL', 'ftp://x'], ['Password', MASK]]]);

  const started = requestRecord(
    audit({ operate: { command: 'Device.ScheduleTimer()', inputArgs: { DelaySeconds: '1' } } }, { response: { operateResp: { operationResults: [{ executedCommand: 'Device.ScheduleTimer()', reqObjPath: 'Device.LocalAgent.Request.4.' }] } } }),
    mask,
  );
  assert.deepEqual([started.record.outcome, started.record.affected, started.started], ['Started', ['Device.LocalAgent.Request.4.'], ['Device.LocalAgent.Request.4.']]);

  const done = completionRecord({ originator: WHO, command: 'Device.SoftwareModules.InstallDU()', requestPath: 'Device.LocalAgent.Request.4.', result: { errCode: 7227, errMsg: 'not enough memory' }, refSeq: 12 }, mask);
  assert.deepEqual([done.message, done.outcome, done.errCode, done.refSeq, done.affected], ['OperationComplete', 'Failure', 7227, 12, ['Device.LocalAgent.Request.4.']]);
});

const entryOf = (overrides: Partial<AuditEntry>): AuditEntry => ({
  seq: 1,
  time: '2026-12-08T10:00:00.000Z',
  controller: WHO,
  msgId: 'm',
  message: 'Set',
  paths: [],
  args: [],
  outcome: 'Success',
  errCode: 0,
  errMsg: '',
  failures: [],
  affected: [],
  ...overrides,
});

test('bounds: long texts cut and marked, long lists cut with a count, the whole line within MAX_ENTRY_BYTES', () => {
  const small = entryOf({ paths: ['Device.A.'] });
  assert.deepEqual(boundEntry(small), small, 'an entry within the bounds is kept as it is');

  const long = boundEntry(entryOf({ args: [['Device.A.Description', 'd'.repeat(1000)]] }));
  assert.equal(long.args[0]![1], `${'d'.repeat(MAX_TEXT_CHARS)}…(+${1000 - MAX_TEXT_CHARS} chars)`);
  assert.equal(long.truncated, true);

  const many = boundEntry(entryOf({ paths: Array.from({ length: 100 }, (_, i) => `Device.A.${i}.`) }));
  assert.equal(many.paths.length, MAX_LIST_ITEMS + 1);
  assert.equal(many.paths.at(-1), `…(+${100 - MAX_LIST_ITEMS} more)`);

  // 1,000 settings of 1,000-character values: far over; lists are halved until the line fits.
  const huge = boundEntry(
    entryOf({
      paths: Array.from({ length: 1000 }, (_, i) => `Device.LocalAgent.Controller.${i}.${'p'.repeat(300)}`),
      args: Array.from({ length: 1000 }, (_, i) => [`Device.LocalAgent.Controller.${i}.ProvisioningCode`, '€'.repeat(1000)] as const),
      failures: Array.from({ length: 1000 }, (_, i) => ({ path: `Device.X.${i}.`, errCode: 7012, errMsg: 'e'.repeat(400) })),
      errMsg: '\u0001'.repeat(5000),
    }),
  );
  assert.ok(Buffer.byteLength(JSON.stringify(huge)) <= MAX_ENTRY_BYTES, `${Buffer.byteLength(JSON.stringify(huge))} bytes`);
  assert.equal(huge.truncated, true);
  assert.match(huge.args.at(-1)![1], /^…\(\+\d+ more\)$/);
});

test('the trail numbers and writes entries; an async command that finishes before its OperateResp is written after it, linked', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-audit-'));
  try {
    const log = await openJsonLinesLog<AuditEntry>({ dir, name: 'audit.log', fileBytes: 65536, files: 2, recent: 10, logger: createSilentLogger() });
    const trail = createAuditTrail(log, mask, () => new Date('2026-12-08T10:00:00.123Z'));
    const seen: AuditEntry[] = [];
    trail.onEntry((entry) => seen.push(entry));
    // ScheduleTimer(DelaySeconds=0) can finish while the agent is still saving its state, before the OperateResp.
    trail.operationComplete('Device.ScheduleTimer()', { outputArgs: {} }, { originator: WHO, requestPath: 'Device.LocalAgent.Request.1.' });
    assert.equal(seen.length, 0, 'held until the Operate entry is written');
    trail.request(audit({ operate: { command: 'Device.ScheduleTimer()', inputArgs: { DelaySeconds: '0' } } }, { response: { operateResp: { operationResults: [{ executedCommand: 'Device.ScheduleTimer()', reqObjPath: 'Device.LocalAgent.Request.1.' }] } } }));
    trail.request(audit({ operate: { command: 'Device.ScheduleTimer()', inputArgs: { DelaySeconds: '5' } } }, { response: { operateResp: { operationResults: [{ executedCommand: 'Device.ScheduleTimer()', reqObjPath: 'Device.LocalAgent.Request.2.' }] } } }));
    trail.operationComplete('Device.ScheduleTimer()', { errCode: 7023, errMsg: 'canceled' }, { originator: WHO, requestPath: 'Device.LocalAgent.Request.2.' });
    assert.deepEqual(seen.map((e) => [e.seq, e.message, e.outcome, e.refSeq ?? 0]), [[1, 'Operate', 'Started', 0], [2, 'OperationComplete', 'Success', 1], [3, 'Operate', 'Started', 0], [4, 'OperationComplete', 'Failure', 3]]);
    assert.equal(seen[0]!.time, '2026-12-08T10:00:00.123Z');
    trail.close();
    const onDisk = (await readFile(join(dir, 'audit.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AuditEntry);
    assert.deepEqual(onDisk, seen);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
