// Readable text for USP responses (`berth ctl` without --json).
import { usp } from '../usp/generated/usp.js';

const OBJ_ACCESS = ['read-only', 'add/delete', 'add-only', 'delete-only'];
const PARAM_ACCESS = ['read-only', 'read-write', 'write-only'];
const VALUE_TYPES = ['unknown', 'base64', 'boolean', 'dateTime', 'decimal', 'hexBinary', 'int', 'long', 'string', 'unsignedInt', 'unsignedLong'];

export function formatGetResp(resp: usp.GetResp.$Properties): string {
  const lines: string[] = [];
  for (const result of resp.reqPathResults ?? []) {
    if (result.errCode) {
      lines.push(`${result.requestedPath ?? ''}: error ${result.errCode}: ${result.errMsg ?? ''}`);
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
    const failure = result.operStatus?.operFailure;
    if (failure) {
      lines.push(`${result.requestedPath ?? ''}: failed ${failure.errCode ?? 0}: ${failure.errMsg ?? ''}`);
      for (const instance of failure.updatedInstFailures ?? []) for (const e of instance.paramErrs ?? []) lines.push(`  ${instance.affectedPath ?? ''}${e.param ?? ''}: error ${e.errCode ?? 0}: ${e.errMsg ?? ''}`);
      continue;
    }
    for (const instance of result.operStatus?.operSuccess?.updatedInstResults ?? []) {
      for (const [name, value] of Object.entries(instance.updatedParams ?? {})) lines.push(`set ${instance.affectedPath ?? ''}${name} = ${value}`);
      for (const e of instance.paramErrs ?? []) lines.push(`not set ${instance.affectedPath ?? ''}${e.param ?? ''}: error ${e.errCode ?? 0}: ${e.errMsg ?? ''}`);
    }
  }
  return lines.join('\n');
}

export function formatAddResp(resp: usp.AddResp.$Properties): string {
  return (resp.createdObjResults ?? [])
    .map((result) => {
      const failure = result.operStatus?.operFailure;
      if (failure) return `${result.requestedPath ?? ''}: failed ${failure.errCode ?? 0}: ${failure.errMsg ?? ''}`;
      const success = result.operStatus?.operSuccess;
      const keys = Object.entries(success?.uniqueKeys ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
      const errs = (success?.paramErrs ?? []).map((e) => `\n  not set ${e.param ?? ''}: error ${e.errCode ?? 0}: ${e.errMsg ?? ''}`).join('');
      return `created ${success?.instantiatedPath ?? ''}${keys ? ` (${keys})` : ''}${errs}`;
    })
    .join('\n');
}

export function formatDeleteResp(resp: usp.DeleteResp.$Properties): string {
  const lines: string[] = [];
  for (const result of resp.deletedObjResults ?? []) {
    const failure = result.operStatus?.operFailure;
    if (failure) {
      lines.push(`${result.requestedPath ?? ''}: failed ${failure.errCode ?? 0}: ${failure.errMsg ?? ''}`);
      continue;
    }
    const success = result.operStatus?.operSuccess;
    for (const path of success?.affectedPaths ?? []) lines.push(`deleted ${path}`);
    for (const e of success?.unaffectedPathErrs ?? []) lines.push(`not deleted ${e.unaffectedPath ?? ''}: error ${e.errCode ?? 0}: ${e.errMsg ?? ''}`);
    if ((success?.affectedPaths ?? []).length === 0 && (success?.unaffectedPathErrs ?? []).length === 0) lines.push(`${result.requestedPath ?? ''}: nothing to delete`);
  }
  return lines.join('\n');
}

export function formatOperateResp(resp: usp.OperateResp.$Properties): string {
  return (resp.operationResults ?? [])
    .map((result) => {
      if (result.cmdFailure) return `${result.executedCommand ?? ''}: failed ${result.cmdFailure.errCode ?? 0}: ${result.cmdFailure.errMsg ?? ''}`;
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
      lines.push(`${result.requestedPath ?? ''}: error ${result.errCode}: ${result.errMsg ?? ''}`);
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
      lines.push(`${result.reqObjPath ?? ''}: error ${result.errCode}: ${result.errMsg ?? ''}`);
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
    const outcome = c.cmdFailure ? `failed ${c.cmdFailure.errCode ?? 0}: ${c.cmdFailure.errMsg ?? ''}` : `done ${JSON.stringify(c.reqOutputArgs?.outputArgs ?? {})}`;
    return `operation complete: ${c.objPath ?? ''}${c.commandName ?? ''} (key "${c.commandKey ?? ''}") ${outcome}`;
  }
  if (notify.onBoardReq) return `on-board request: ${JSON.stringify(notify.onBoardReq)}`;
  return 'notification';
}
