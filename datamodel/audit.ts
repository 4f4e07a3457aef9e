// Device.X_BERTH-ORG_Audit. (berth's vendor extension, TR-106 §3.3 naming): the newest entries of the audit trail.
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
    note: 'The newest entries of the audit trail (how many: README, Limits), one per state-changing request a Controller made (Set, Add, Delete, Operate) and per asynchronous command that finished; the instance number is the entry\'s Sequence. The whole trail is on disk (README: The audit trail).',
    uniqueKeys: [['Sequence']],
    params: {
      Sequence: { type: 'unsignedLong', note: 'Increases by one per entry, across restarts.' },
      Time: { type: 'dateTime' },
      Controller: { type: 'string', note: 'The Endpoint ID of the Controller that sent the request (or started the command).' },
      MsgID: { type: 'string' },
      Message: { type: 'string', enum: ['Set', 'Add', 'Delete', 'Operate', 'OperationComplete'] },
      Paths: { type: 'string', list: true, note: 'Set/Add/Delete: the object paths requested; Operate and OperationComplete: the command.' },
      Arguments: { type: 'string', note: 'Set/Add: Path="value" per setting; Operate: Name="value" per input argument; OperationComplete: the output arguments. Values are JSON strings; secrets read "***".' },
      Outcome: { type: 'string', enum: ['Success', 'Started', 'PartialFailure', 'Failure'], note: 'Started: an asynchronous command was accepted; the OperationComplete entry (RefSequence) tells how it ended.' },
      ErrorCode: { type: 'unsignedInt' },
      ErrorMessage: { type: 'string' },
      Failures: { type: 'string', note: 'What failed where: \'Path: code message\' items separated by \'; \'.' },
      Affected: { type: 'string', list: true, note: 'Rows created or deleted, objects updated, commands run, Request rows of started commands.' },
      RefSequence: { type: 'unsignedLong', note: 'OperationComplete: the Sequence of the Operate entry that started the command (0: none).' },
      Truncated: { type: 'boolean', note: 'Something was cut to the trail\'s bounds (texts end with \'…(+N chars)\', lists with \'…(+N more)\').' },
    },
  },
});
