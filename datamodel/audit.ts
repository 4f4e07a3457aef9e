// Device.X_BERTH-ORG_Audit. (berth's vendor extension, TR-106 §3.3 naming): the newest entries of the audit trail,
// one row per state-changing request a Controller made (Set, Add, Delete, Operate) and per asynchronous command that
// finished. The row's instance number is the entry's Sequence. Read-only; the whole trail is on disk (README).
import { defineModel } from '../src/datamodel/schema.ts';
import { VENDOR_PREFIX } from '../src/datamodel/vendor.ts';

export const AUDIT_OBJECT = `Device.${VENDOR_PREFIX}Audit.`;

export const auditModel = defineModel({
  [AUDIT_OBJECT]: {
    params: {
      EntryNumberOfEntries: { type: 'unsignedInt' },
    },
  },
  [`${AUDIT_OBJECT}Entry.{i}.`]: {
    access: 'readOnly',
    uniqueKeys: [['Sequence']],
    params: {
      // Increases by one per entry, across restarts.
      Sequence: { type: 'unsignedLong' },
      Time: { type: 'dateTime' },
      // The Endpoint ID of the Controller that sent the request (or started the command).
      Controller: { type: 'string' },
      MsgID: { type: 'string' },
      Message: { type: 'string', enum: ['Set', 'Add', 'Delete', 'Operate', 'OperationComplete'] },
      // Set/Add/Delete: the object paths requested; Operate and OperationComplete: the command.
      Paths: { type: 'string', list: true },
      // Set/Add: Path="value" per setting; Operate: Name="value" per input argument; OperationComplete: the output
      // arguments. Values are JSON strings; secrets read "***".
      Arguments: { type: 'string' },
      // Started: an asynchronous command was accepted; the OperationComplete entry (RefSequence) tells how it ended.
      Outcome: { type: 'string', enum: ['Success', 'Started', 'PartialFailure', 'Failure'] },
      ErrorCode: { type: 'unsignedInt' },
      ErrorMessage: { type: 'string' },
      // What failed where: 'Path: code message' items separated by '; '.
      Failures: { type: 'string' },
      // Rows created or deleted, objects updated, commands run, Request rows of started commands.
      Affected: { type: 'string', list: true },
      // OperationComplete: the Sequence of the Operate entry that started the command (0: none).
      RefSequence: { type: 'unsignedLong' },
      // Something was cut to the trail's bounds (texts end with '…(+N chars)', lists with '…(+N more)').
      Truncated: { type: 'boolean' },
    },
  },
});
