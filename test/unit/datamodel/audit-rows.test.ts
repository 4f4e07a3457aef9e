// Device.X_BERTH-ORG_Audit.Entry.{i}.: rows numbered by the entry's sequence, read-only, at most AUDIT_ROWS (the
// oldest goes first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_ROWS, AUDIT_ROWS_CHARS, AUDIT_TABLE, showAuditEntries } from '../../../src/datamodel/bindings/audit.ts';
import type { AuditEntry } from '../../../src/audit/audit-entry.ts';
import { handleDelete } from '../../../src/engine/handle-delete.ts';
import { handleSet } from '../../../src/engine/handle-set.ts';
import { createTestModel, write } from '../../helpers/model.ts';

const entry = (seq: number): AuditEntry => ({
  seq,
  time: '2026-12-08T10:00:00.123Z',
  controller: 'proto::isp',
  msgId: `m-${seq}`,
  message: 'Set',
  paths: ['Device.LocalAgent.Controller.1.'],
  args: [['Device.LocalAgent.Controller.1.ProvisioningCode', 'a, "b"']],
  outcome: 'PartialFailure',
  errCode: 7012,
  errMsg: 'bad',
  failures: [{ path: 'Device.LocalAgent.Controller.1.X', errCode: 7012, errMsg: 'bad' }],
  affected: ['Device.LocalAgent.Controller.1.'],
});

test('audit rows: numbered by sequence, every field readable, the newest AUDIT_ROWS kept, not writable', () => {
  const model = createTestModel();
  showAuditEntries(model.dm, Array.from({ length: AUDIT_ROWS + 10 }, (_, i) => entry(i + 1)));
  const table = model.dm.table(AUDIT_TABLE);
  assert.equal(table.rows.size, AUDIT_ROWS);
  assert.deepEqual([[...table.rows.keys()][0], [...table.rows.keys()].at(-1)], [11, AUDIT_ROWS + 10]);
  showAuditEntries(model.dm, [entry(AUDIT_ROWS + 11)]);
  assert.deepEqual([table.rows.size, [...table.rows.keys()][0]], [AUDIT_ROWS, 12], 'a new entry pushes the oldest row out');
  const row = model.dm.object(`${AUDIT_TABLE}12.`);
  const read = (name: string): string => model.dm.read(row, name);
  assert.deepEqual(
    ['Sequence', 'Time', 'Controller', 'MsgID', 'Message', 'Paths', 'Arguments', 'Outcome', 'ErrorCode', 'ErrorMessage', 'Failures', 'Affected', 'RefSequence', 'Truncated'].map(read),
    ['12', '2026-12-08T10:00:00.123Z', 'proto::isp', 'm-12', 'Set', 'Device.LocalAgent.Controller.1.', 'Device.LocalAgent.Controller.1.ProvisioningCode="a, \\"b\\""', 'PartialFailure', '7012', 'bad', 'Device.LocalAgent.Controller.1.X: 7012 bad', 'Device.LocalAgent.Controller.1.', '0', 'false'],
  );
  assert.equal(model.dm.read(model.dm.object('Device.X_BERTH-ORG_Audit.'), 'EntryNumberOfEntries'), String(AUDIT_ROWS));
  // A Controller can neither change an entry nor delete one.
  assert.throws(() => write(model, (tx) => handleSet(model.ctx(), { allowPartial: false, updateObjs: [{ objPath: row.path, paramSettings: [{ param: 'Outcome', value: 'Success', required: true }] }] }, tx)), /read-only/);
  assert.throws(() => write(model, (tx) => handleDelete(model.ctx(), { allowPartial: false, objPaths: [row.path] }, tx)), /cannot be deleted/);
  assert.equal(read('Outcome'), 'PartialFailure');
  assert.ok(table.rows.has(12));
});

test('audit rows: together they hold at most AUDIT_ROWS_CHARS of text; the oldest go first', () => {
  const model = createTestModel();
  // Entries as large as the trail allows (32 paths of 256 characters: ~8 KiB each).
  const large = (seq: number): AuditEntry => ({ ...entry(seq), paths: Array.from({ length: 32 }, (_, i) => `Device.${'x'.repeat(240)}.${i}.`) });
  showAuditEntries(model.dm, Array.from({ length: AUDIT_ROWS }, (_, i) => large(i + 1)));
  const table = model.dm.table(AUDIT_TABLE);
  let chars = 0;
  for (const row of table.rows.values()) for (const value of row.values.values()) chars += value.length;
  assert.ok(chars <= AUDIT_ROWS_CHARS, `${chars} characters held`);
  assert.ok(table.rows.size > 0 && table.rows.size < AUDIT_ROWS, `${table.rows.size} rows`);
  assert.equal([...table.rows.keys()].at(-1), AUDIT_ROWS, 'the newest entry is there');
});
