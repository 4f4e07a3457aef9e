// Bindings for Device.X_BERTH-ORG_Audit.Entry.{i}.: the newest AUDIT_ROWS entries of the audit trail as read-only
// rows, numbered by their sequence. The rows are written once, when the entry is made (or read back at start), and
// the oldest goes when a new one comes; Controllers may subscribe to ObjectCreation on the table to follow the trail.
import type { Registry } from '../registry.ts';
import type { DataModel } from '../data-model.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { AUDIT_OBJECT } from '../../../datamodel/audit.ts';

export const AUDIT_TABLE = `${AUDIT_OBJECT}Entry.`;
/** Entries shown in the data model (the newest); the log on disk keeps more. */
export const AUDIT_ROWS = 256;
/**
 * …and at most this much of their text (UTF-16 code units): an entry may be 8 KiB, and 256 of the largest would hold
 * 2 MiB of the agent's heap for a Controller that floods it with long paths. The oldest rows go first.
 */
export const AUDIT_ROWS_CHARS = 512 * 1024;

const PARAMS = ['Sequence', 'Time', 'Controller', 'MsgID', 'Message', 'Paths', 'Arguments', 'Outcome', 'ErrorCode', 'ErrorMessage', 'Failures', 'Affected', 'RefSequence', 'Truncated'];

/** An entry as the row's parameter values. */
export function auditRowValues(entry: AuditEntry): Record<string, string> {
  return {
    Sequence: String(entry.seq),
    Time: entry.time,
    Controller: entry.controller,
    MsgID: entry.msgId,
    Message: entry.message,
    Paths: entry.paths.join(','),
    Arguments: entry.args.map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(', '),
    Outcome: entry.outcome,
    ErrorCode: String(entry.errCode),
    ErrorMessage: entry.errMsg,
    Failures: entry.failures.map((f) => `${f.path}: ${f.errCode} ${f.errMsg}`).join('; '),
    Affected: entry.affected.join(','),
    RefSequence: String(entry.refSeq ?? 0),
    Truncated: String(entry.truncated ?? false),
  };
}

/** Adds rows for `entries` (oldest first) and drops the oldest rows beyond AUDIT_ROWS or AUDIT_ROWS_CHARS. */
export function showAuditEntries(dm: DataModel, entries: readonly AuditEntry[]): void {
  const table = dm.table(AUDIT_TABLE);
  dm.update((tx) => {
    for (const entry of entries.slice(-AUDIT_ROWS)) {
      if (table.rows.has(entry.seq)) continue;
      const row = tx.addRow(table, entry.seq);
      for (const [name, value] of Object.entries(auditRowValues(entry))) tx.setInternal(row, name, value);
    }
    // Rows are in insertion order, and entries come in sequence order: the first rows are the oldest.
    const rows = [...table.rows.values()];
    let chars = 0;
    for (const row of rows) for (const value of row.values.values()) chars += value.length;
    for (const row of rows) {
      if (table.rows.size <= AUDIT_ROWS && chars <= AUDIT_ROWS_CHARS) break;
      for (const value of row.values.values()) chars -= value.length;
      tx.deleteRow(row);
    }
  });
}

export function bindAudit(registry: Registry, model: () => DataModel): { show(entries: readonly AuditEntry[]): void } {
  registry.bindObject(`${AUDIT_TABLE}{i}.`, { internal: PARAMS });
  return {
    show: (entries) => {
      showAuditEntries(model(), entries);
    },
  };
}
