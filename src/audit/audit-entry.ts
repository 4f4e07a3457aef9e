// One audit-trail entry: who (the Controller), what (the message, its paths, its settings or arguments with secrets
// masked), and the outcome (success, the Error's code and message, or per-path failures). Built from the request
// and its answer as the engine saw them, and bounded: a Controller's 1,000-path Set costs the trail at most
// MAX_ENTRY_BYTES, with what was cut marked.
import type { usp } from '../usp/generated/usp.js';
import { toUspMessage, uspErrorCodeOf } from '../usp/errors.ts';
import { MessageError } from '../engine/message-error.ts';
import type { RequestAudit } from '../engine/engine.ts';
import type { OperationResult } from '../engine/requests.ts';
import type { Masker } from './audit-mask.ts';

/** Characters kept of one path, value or message; a longer one ends with `…(+N chars)`. */
export const MAX_TEXT_CHARS = 256;
/** Items kept of one list (paths, arguments, failures, affected paths); the rest is counted in a last `…` item. */
export const MAX_LIST_ITEMS = 32;
/** An entry's JSON line is at most this long: lists are cut further (and marked) until it fits. */
export const MAX_ENTRY_BYTES = 8192;

export type AuditMessage = 'Set' | 'Add' | 'Delete' | 'Operate' | 'OperationComplete';
/** Started: an asynchronous command was accepted; its OperationComplete entry tells how it ended. */
export type AuditOutcome = 'Success' | 'Started' | 'PartialFailure' | 'Failure';

export interface AuditFailure {
  readonly path: string;
  readonly errCode: number;
  readonly errMsg: string;
}

/** What an entry says; the log gives it its sequence number and time. */
export interface AuditRecord {
  readonly controller: string;
  /** The request's msg_id (empty for an OperationComplete entry). */
  readonly msgId: string;
  readonly message: AuditMessage;
  /** Requested paths: Set/Add/Delete object paths, the Operate command. */
  readonly paths: readonly string[];
  /** Set/Add: full parameter path and requested value; Operate: input arguments; OperationComplete: output arguments. */
  readonly args: readonly (readonly [string, string])[];
  readonly outcome: AuditOutcome;
  /** 0 for Success/Started, else the Error's code or the first failure's. */
  readonly errCode: number;
  readonly errMsg: string;
  readonly failures: readonly AuditFailure[];
  /** What changed: rows created or deleted, objects updated, commands run, Request rows of started commands. */
  readonly affected: readonly string[];
  /** OperationComplete: the sequence number of the Operate entry that started the command (0: not known). */
  readonly refSeq?: number;
  /** Something in the entry was cut to the bounds above. */
  readonly truncated?: boolean;
}

export interface AuditEntry extends AuditRecord {
  readonly seq: number;
  /** When the entry was made (the request answered, the command finished): ISO 8601 UTC with milliseconds. */
  readonly time: string;
}

interface Draft {
  paths: string[];
  args: [string, string][];
  failures: AuditFailure[];
  affected: string[];
  started: string[];
}

/** The entry of an answered request, and the Request rows of the asynchronous commands it started. */
export function requestRecord(audit: RequestAudit, mask: Masker): { record: AuditRecord; started: readonly string[] } {
  const { request, answer } = audit;
  const draft: Draft = { paths: [], args: [], failures: [], affected: [], started: [] };
  let message: AuditMessage;
  if (request.set) {
    message = 'Set';
    for (const update of request.set.updateObjs ?? []) {
      draft.paths.push(mask.path(update.objPath ?? ''));
      for (const setting of update.paramSettings ?? []) draft.args.push(settingArg(mask, update.objPath ?? '', setting.param ?? '', setting.value ?? ''));
    }
    if ('response' in answer) summariseSet(answer.response.setResp ?? {}, draft);
  } else if (request.add) {
    message = 'Add';
    for (const create of request.add.createObjs ?? []) {
      draft.paths.push(mask.path(create.objPath ?? ''));
      for (const setting of create.paramSettings ?? []) draft.args.push(settingArg(mask, create.objPath ?? '', setting.param ?? '', setting.value ?? ''));
    }
    if ('response' in answer) summariseAdd(answer.response.addResp ?? {}, draft);
  } else if (request.delete) {
    message = 'Delete';
    for (const path of request.delete.objPaths ?? []) draft.paths.push(mask.path(path));
    if ('response' in answer) summariseDelete(answer.response.deleteResp ?? {}, draft);
  } else {
    message = 'Operate';
    draft.paths.push(mask.path(request.operate?.command ?? ''));
    for (const [name, value] of Object.entries(request.operate?.inputArgs ?? {})) draft.args.push([name, mask.value(name, value)]);
    if ('response' in answer) summariseOperate(answer.response.operateResp ?? {}, draft);
  }
  let outcome: AuditOutcome;
  let errCode = 0;
  let errMsg = '';
  if ('error' in answer) {
    outcome = 'Failure';
    errCode = uspErrorCodeOf(answer.error);
    errMsg = toUspMessage(answer.error);
    if (answer.error instanceof MessageError) for (const p of answer.error.paramErrs) draft.failures.push({ path: p.paramPath, errCode: p.errCode, errMsg: p.errMsg });
  } else if (draft.failures.length === 0) {
    outcome = draft.started.length > 0 ? 'Started' : 'Success';
  } else {
    outcome = draft.affected.length > 0 ? 'PartialFailure' : 'Failure';
    errCode = draft.failures[0]!.errCode;
    errMsg = draft.failures[0]!.errMsg;
  }
  const record: AuditRecord = {
    controller: audit.originator,
    msgId: audit.msgId,
    message,
    paths: draft.paths,
    args: draft.args,
    outcome,
    errCode,
    errMsg,
    failures: draft.failures,
    affected: draft.affected,
  };
  return { record, started: draft.started };
}

/** The entry of an asynchronous command that finished (its OperationComplete). */
export function completionRecord(
  completed: { originator: string; command: string; requestPath: string; result: OperationResult; refSeq: number },
  mask: Masker,
): AuditRecord {
  const { result } = completed;
  const failed = 'errCode' in result;
  return {
    controller: completed.originator,
    msgId: '',
    message: 'OperationComplete',
    paths: [completed.command],
    args: failed ? [] : Object.entries(result.outputArgs).map(([name, value]) => [name, mask.value(name, value)] as const),
    outcome: failed ? 'Failure' : 'Success',
    errCode: failed ? result.errCode : 0,
    errMsg: failed ? result.errMsg : '',
    failures: [],
    affected: [completed.requestPath],
    refSeq: completed.refSeq,
  };
}

function settingArg(mask: Masker, objPath: string, param: string, value: string): [string, string] {
  const path = `${mask.path(objPath)}${param}`;
  return [path, mask.value(param, value)];
}

function summariseSet(resp: usp.SetResp.$Properties, draft: Draft): void {
  for (const result of resp.updatedObjResults ?? []) {
    const failure = result.operStatus?.operFailure;
    if (failure) {
      const params = (failure.updatedInstFailures ?? []).flatMap((f) => (f.paramErrs ?? []).map((e) => ({ path: `${f.affectedPath ?? ''}${e.param ?? ''}`, errCode: e.errCode ?? 0, errMsg: e.errMsg ?? '' })));
      draft.failures.push(...(params.length > 0 ? params : [{ path: result.requestedPath ?? '', errCode: failure.errCode ?? 0, errMsg: failure.errMsg ?? '' }]));
      continue;
    }
    for (const instance of result.operStatus?.operSuccess?.updatedInstResults ?? []) {
      draft.affected.push(instance.affectedPath ?? '');
      for (const e of instance.paramErrs ?? []) draft.failures.push({ path: `${instance.affectedPath ?? ''}${e.param ?? ''}`, errCode: e.errCode ?? 0, errMsg: e.errMsg ?? '' });
    }
  }
}

function summariseAdd(resp: usp.AddResp.$Properties, draft: Draft): void {
  for (const result of resp.createdObjResults ?? []) {
    const failure = result.operStatus?.operFailure;
    if (failure) {
      draft.failures.push({ path: result.requestedPath ?? '', errCode: failure.errCode ?? 0, errMsg: failure.errMsg ?? '' });
      continue;
    }
    const success = result.operStatus?.operSuccess;
    draft.affected.push(success?.instantiatedPath ?? '');
    for (const e of success?.paramErrs ?? []) draft.failures.push({ path: `${success?.instantiatedPath ?? ''}${e.param ?? ''}`, errCode: e.errCode ?? 0, errMsg: e.errMsg ?? '' });
  }
}

function summariseDelete(resp: usp.DeleteResp.$Properties, draft: Draft): void {
  for (const result of resp.deletedObjResults ?? []) {
    const failure = result.operStatus?.operFailure;
    if (failure) {
      draft.failures.push({ path: result.requestedPath ?? '', errCode: failure.errCode ?? 0, errMsg: failure.errMsg ?? '' });
      continue;
    }
    draft.affected.push(...(result.operStatus?.operSuccess?.affectedPaths ?? []));
    for (const e of result.operStatus?.operSuccess?.unaffectedPathErrs ?? []) draft.failures.push({ path: e.unaffectedPath ?? '', errCode: e.errCode ?? 0, errMsg: e.errMsg ?? '' });
  }
}

function summariseOperate(resp: usp.OperateResp.$Properties, draft: Draft): void {
  for (const result of resp.operationResults ?? []) {
    const command = result.executedCommand ?? '';
    if (result.cmdFailure) {
      draft.failures.push({ path: command, errCode: result.cmdFailure.errCode ?? 0, errMsg: result.cmdFailure.errMsg ?? '' });
    } else if (result.reqObjPath) {
      draft.affected.push(result.reqObjPath);
      draft.started.push(result.reqObjPath);
    } else {
      draft.affected.push(command);
    }
  }
}

// ---- bounds --------------------------------------------------------------------------------------------------

const cutText = (text: string): { text: string; cut: boolean } =>
  text.length <= MAX_TEXT_CHARS ? { text, cut: false } : { text: `${text.slice(0, MAX_TEXT_CHARS)}…(+${text.length - MAX_TEXT_CHARS} chars)`, cut: true };

/**
 * The entry as it is kept: every text at most MAX_TEXT_CHARS, every list at most MAX_LIST_ITEMS (a last item says how
 * many more there were), and its JSON line at most MAX_ENTRY_BYTES (lists halved until it fits).
 */
export function boundEntry(entry: AuditEntry): AuditEntry {
  let cut = entry.truncated ?? false;
  const text = (value: string): string => {
    const bounded = cutText(value);
    cut ||= bounded.cut;
    return bounded.text;
  };
  const paths = entry.paths.map(text);
  const args = entry.args.map(([name, value]) => [text(name), text(value)] as const);
  const failures = entry.failures.map((f) => ({ path: text(f.path), errCode: f.errCode, errMsg: text(f.errMsg) }));
  const affected = entry.affected.map(text);
  const base = { ...entry, controller: text(entry.controller), msgId: text(entry.msgId), errMsg: text(entry.errMsg) };
  const keep = { paths: MAX_LIST_ITEMS, args: MAX_LIST_ITEMS, failures: MAX_LIST_ITEMS, affected: MAX_LIST_ITEMS };
  const more = (n: number): string => `…(+${n} more)`;
  const build = (): AuditEntry => {
    const listCut = paths.length > keep.paths || args.length > keep.args || failures.length > keep.failures || affected.length > keep.affected;
    const built: AuditEntry = {
      ...base,
      paths: paths.length > keep.paths ? [...paths.slice(0, keep.paths), more(paths.length - keep.paths)] : paths,
      args: args.length > keep.args ? [...args.slice(0, keep.args), ['…', more(args.length - keep.args)]] : args,
      failures: failures.length > keep.failures ? [...failures.slice(0, keep.failures), { path: '…', errCode: 0, errMsg: more(failures.length - keep.failures) }] : failures,
      affected: affected.length > keep.affected ? [...affected.slice(0, keep.affected), more(affected.length - keep.affected)] : affected,
    };
    return cut || listCut ? { ...built, truncated: true } : built;
  };
  let bounded = build();
  while (Buffer.byteLength(JSON.stringify(bounded)) > MAX_ENTRY_BYTES) {
    // Halve the list that holds the most; once every list is down to its marker, texts alone fit the bound.
    const sizes = { paths: Math.min(keep.paths, paths.length), args: Math.min(keep.args, args.length), failures: Math.min(keep.failures, failures.length), affected: Math.min(keep.affected, affected.length) };
    const largest = (Object.keys(sizes) as (keyof typeof sizes)[]).reduce((a, b) => (sizes[b] > sizes[a] ? b : a));
    if (sizes[largest] === 0) break;
    keep[largest] = Math.floor(sizes[largest] / 2);
    bounded = build();
  }
  return bounded;
}
