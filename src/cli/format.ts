// Readable text for USP responses (`berth ctl` without --json). A permission denial (7006) reads the same wherever it
// comes, one line per path: `denied (7006): <path>: <the agent's message>`.
import { usp } from '../usp/generated/usp.js';
import { ErrorCode } from '../usp/errors.ts';

const OBJ_ACCESS = ['read-only', 'add/delete', 'add-only', 'delete-only'];
const PARAM_ACCESS = ['read-only', 'read-write', 'write-only'];
const VALUE_TYPES = ['unknown', 'base64', 'boolean', 'dateTime', 'decimal', 'hexBinary', 'int', 'long', 'string', 'unsignedInt', 'unsignedLong'];

export function isDenied(code: number | null | undefined): boolean {
  return code === ErrorCode.PermissionDenied;
}

/** `denied (7006): <path>: <message>`; a whole message refused names no path. */
export function deniedLine(path: string | null | undefined, message: string | null | undefined): string {
  return `denied (${ErrorCode.PermissionDenied}): ${path ? `${path}: ` : ''}${message ?? ''}`;
}

/** A failed path: the denial line for a 7006, else `otherwise`. */
function failure(path: string | null | undefined, code: number | null | undefined, message: string | null | undefined, otherwise: string): string {
  return isDenied(code) ? deniedLine(path, message) : otherwise;
}

/**
 * A USP Error message: its code and message, then one line per param_err. An Error 7006 whose param_errs name the
 * paths is said by those lines alone.
 */
export function formatUspError(code: number, message: string, paramErrs: readonly usp.Error.ParamError.$Properties[]): string {
  const lines: string[] = [];
  if (!isDenied(code)) lines.push(`error ${code}: ${message}`);
  else if (paramErrs.length === 0) lines.push(deniedLine(undefined, message));
  for (const p of paramErrs) lines.push(failure(p.paramPath, p.errCode, p.errMsg, `  ${p.paramPath ?? ''}: error ${p.errCode ?? 0}: ${p.errMsg ?? ''}`));
  return lines.join('\n');
}

export function formatGetResp(resp: usp.GetResp.$Properties): string {
  const lines: string[] = [];
  for (const result of resp.reqPathResults ?? []) {
    if (result.errCode) {
      lines.push(failure(result.requestedPath, result.errCode, result.errMsg, `${result.requestedPath ?? ''}: error ${result.errCode}: ${result.errMsg ?? ''}`));
      continue;
    }
    for (const resolved of result.resolvedPathResults ?? []) {
      for (const [name, value] of Object.entries(resolved.resultParams ?? {})) lines.push(`${resolved.resolvedPath ?? ''}${name} = ${value}`);
    }
    if ((result.resolvedPathResults ?? []).length === 0) lines.push(`${result.requestedPath ?? ''}: (nothing matched)`);
  }
  return lines.join('\n');
}

export function formatSetResp(resp: usp.SetResp.$Properties): string {
  const lines: string[] = [];
  for (const result of resp.updatedObjResults ?? []) {
    const failed = result.operStatus?.operFailure;
    if (failed) {
      const paramLines = (failed.updatedInstFailures ?? []).flatMap((instance) =>
        (instance.paramErrs ?? []).map((e) => {
          const path = `${instance.affectedPath ?? ''}${e.param ?? ''}`;
          return failure(path, e.errCode, e.errMsg, `  ${path}: error ${e.errCode ?? 0}: ${e.errMsg ?? ''}`);
        }),
      );
      // A denial said per parameter needs no object line above it.
      if (!isDenied(failed.errCode) || paramLines.length === 0) lines.push(failure(result.requestedPath, failed.errCode, failed.errMsg, `${result.requestedPath ?? ''}: failed ${failed.errCode ?? 0}: ${failed.errMsg ?? ''}`));
      lines.push(...paramLines);
      continue;
    }
    for (const instance of result.operStatus?.operSuccess?.updatedInstResults ?? []) {
      for (const [name, value] of Object.entries(instance.updatedParams ?? {})) lines.push(`set ${instance.affectedPath ?? ''}${name} = ${value}`);
      for (const e of instance.paramErrs ?? []) {
        const path = `${instance.affectedPath ?? ''}${e.param ?? ''}`;
        lines.push(failure(path, e.errCode, e.errMsg, `not set ${path}: error ${e.errCode ?? 0}: ${e.errMsg ?? ''}`));
      }
    }
  }
  return lines.join('\n');
}

export function formatAddResp(resp: usp.AddResp.$Properties): string {
  return (resp.createdObjResults ?? [])
    .map((result) => {
      const failed = result.operStatus?.operFailure;
      if (failed) return failure(result.requestedPath, failed.errCode, failed.errMsg, `${result.requestedPath ?? ''}: failed ${failed.errCode ?? 0}: ${failed.errMsg ?? ''}`);
      const success = result.operStatus?.operSuccess;
      const keys = Object.entries(success?.uniqueKeys ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
      const errs = (success?.paramErrs ?? [])
        .map((e) => `\n${failure(`${success?.instantiatedPath ?? ''}${e.param ?? ''}`, e.errCode, e.errMsg, `  not set ${e.param ?? ''}: error ${e.errCode ?? 0}: ${e.errMsg ?? ''}`)}`)
        .join('');
      return `created ${success?.instantiatedPath ?? ''}${keys ? ` (${keys})` : ''}${errs}`;
    })
    .join('\n');
}

export function formatDeleteResp(resp: usp.DeleteResp.$Properties): string {
  const lines: string[] = [];
  for (const result of resp.deletedObjResults ?? []) {
    const failed = result.operStatus?.operFailure;
    if (failed) {
      lines.push(failure(result.requestedPath, failed.errCode, failed.errMsg, `${result.requestedPath ?? ''}: failed ${failed.errCode ?? 0}: ${failed.errMsg ?? ''}`));
      continue;
    }
    const success = result.operStatus?.operSuccess;
    for (const path of success?.affectedPaths ?? []) lines.push(`deleted ${path}`);
    for (const e of success?.unaffectedPathErrs ?? []) lines.push(failure(e.unaffectedPath, e.errCode, e.errMsg, `not deleted ${e.unaffectedPath ?? ''}: error ${e.errCode ?? 0}: ${e.errMsg ?? ''}`));
    if ((success?.affectedPaths ?? []).length === 0 && (success?.unaffectedPathErrs ?? []).length === 0) lines.push(`${result.requestedPath ?? ''}: nothing to delete`);
  }
  return lines.join('\n');
}

export function formatOperateResp(resp: usp.OperateResp.$Properties): string {
  return (resp.operationResults ?? [])
    .map((result) => {
      const failed = result.cmdFailure;
      if (failed) return failure(result.executedCommand, failed.errCode, failed.errMsg, `${result.executedCommand ?? ''}: failed ${failed.errCode ?? 0}: ${failed.errMsg ?? ''}`);
      if (result.reqObjPath) return `${result.executedCommand ?? ''}: started, tracked by ${result.reqObjPath}`;
      const args = Object.entries(result.reqOutputArgs?.outputArgs ?? {}).map(([k, v]) => `\n  ${k} = ${v}`).join('');
      return `${result.executedCommand ?? ''}: done${args}`;
    })
    .join('\n');
}

export function formatInstancesResp(resp: usp.GetInstancesResp.$Properties): string {
  const lines: string[] = [];
  for (const result of resp.reqPathResults ?? []) {
    if (result.errCode) {
      lines.push(failure(result.requestedPath, result.errCode, result.errMsg, `${result.requestedPath ?? ''}: error ${result.errCode}: ${result.errMsg ?? ''}`));
      continue;
    }
    for (const instance of result.currInsts ?? []) {
      const keys = Object.entries(instance.uniqueKeys ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
      lines.push(`${instance.instantiatedObjPath ?? ''}${keys ? `  ${keys}` : ''}`);
    }
    if ((result.currInsts ?? []).length === 0) lines.push(`${result.requestedPath ?? ''}: (no instances)`);
  }
  return lines.join('\n');
}

export function formatSupportedResp(resp: usp.GetSupportedDMResp.$Properties): string {
  const lines: string[] = [];
  for (const result of resp.reqObjResults ?? []) {
    if (result.errCode) {
      lines.push(failure(result.reqObjPath, result.errCode, result.errMsg, `${result.reqObjPath ?? ''}: error ${result.errCode}: ${result.errMsg ?? ''}`));
      continue;
    }
    for (const obj of result.supportedObjs ?? []) {
      lines.push(`${obj.supportedObjPath ?? ''}  [${OBJ_ACCESS[obj.access ?? 0] ?? '?'}${obj.isMultiInstance ? ', table' : ''}]`);
      for (const keys of obj.uniqueKeySets ?? []) lines.push(`  unique key: ${(keys.keyNames ?? []).join(' + ')}`);
      for (const p of obj.supportedParams ?? []) lines.push(`  ${p.paramName ?? ''}  ${VALUE_TYPES[p.valueType ?? 0] ?? '?'} ${PARAM_ACCESS[p.access ?? 0] ?? '?'}${p.valueChange === usp.GetSupportedDMResp.ValueChangeType.VALUE_CHANGE_WILL_IGNORE ? ' (no value-change notifications)' : ''}`);
      for (const c of obj.supportedCommands ?? []) lines.push(`  ${c.commandName ?? ''}  ${c.commandType === usp.GetSupportedDMResp.CmdType.CMD_ASYNC ? 'async' : 'sync'} in(${(c.inputArgNames ?? []).join(', ')}) out(${(c.outputArgNames ?? []).join(', ')})`);
      for (const e of obj.supportedEvents ?? []) lines.push(`  ${e.eventName ?? ''}  (${(e.argNames ?? []).join(', ')})`);
    }
  }
  return lines.join('\n');
}

export function formatNotify(notify: usp.Notify.$Properties): string {
  if (notify.valueChange) return `value change: ${notify.valueChange.paramPath ?? ''} = ${notify.valueChange.paramValue ?? ''}`;
  if (notify.objCreation) return `object created: ${notify.objCreation.objPath ?? ''} ${JSON.stringify(notify.objCreation.uniqueKeys ?? {})}`;
  if (notify.objDeletion) return `object deleted: ${notify.objDeletion.objPath ?? ''}`;
  if (notify.event) {
    const args = Object.entries(notify.event.params ?? {}).map(([k, v]) => `\n  ${k} = ${v}`).join('');
    return `event: ${notify.event.objPath ?? ''}${notify.event.eventName ?? ''}${args}`;
  }
  if (notify.operComplete) {
    const c = notify.operComplete;
    if (isDenied(c.cmdFailure?.errCode)) return deniedLine(`${c.objPath ?? ''}${c.commandName ?? ''}`, c.cmdFailure?.errMsg);
    const outcome = c.cmdFailure ? `failed ${c.cmdFailure.errCode ?? 0}: ${c.cmdFailure.errMsg ?? ''}` : `done ${JSON.stringify(c.reqOutputArgs?.outputArgs ?? {})}`;
    return `operation complete: ${c.objPath ?? ''}${c.commandName ?? ''} (key "${c.commandKey ?? ''}") ${outcome}`;
  }
  if (notify.onBoardReq) return `on-board request: ${JSON.stringify(notify.onBoardReq)}`;
  return 'notification';
}
