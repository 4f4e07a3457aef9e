// Add (TR-369 R-ADD.*): creates rows in writable tables. Unique-key parameters that are supplied are
// implicitly required; missing keys are assigned by the agent and returned in unique_keys (R-ADD.5).
import type { usp } from '../usp/generated/usp.js';
import { resolvePath } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmObject, DmTable } from '../datamodel/instances.ts';
import type { Transaction } from '../datamodel/transaction.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import { describeFailure } from './failure.ts';
import { createWriteCounter } from './request-limits.ts';
import { locateRelativeParam } from './relative-param.ts';
import { MessageError } from './message-error.ts';
import type { ParamError } from './message-error.ts';
import type { RequestContext } from './context.ts';
import { requirePermission, writeVisibility } from './access-checks.ts';
import { requiredFailureCode } from './handle-set.ts';
import { WRITE } from '../access/permission-bits.ts';

export function handleAdd(ctx: RequestContext, request: usp.Add.$Properties, tx: Transaction): usp.AddResp.$Properties {
  const allowPartial = request.allowPartial ?? false;
  const results: usp.AddResp.CreatedObjectResult.$Properties[] = [];
  const writes = createWriteCounter();
  for (const create of request.createObjs ?? []) {
    const requestedPath = create.objPath ?? '';
    let tables: DmTable[];
    try {
      tables = resolveTables(ctx, requestedPath);
    } catch (error) {
      const { code, message } = describeFailure(ctx.logger, error, requestedPath);
      // TP-469 1.4/1.6: the Error names the object path that failed in param_errs.
      if (!allowPartial) throw new MessageError(code, message, [{ paramPath: requestedPath, errCode: code, errMsg: message }]);
      results.push({ requestedPath, operStatus: { operFailure: { errCode: code, errMsg: message } } });
      continue;
    }
    writes.plan(tables.length, create.paramSettings?.length ?? 0);
    for (const table of tables) {
      const savepoint = tx.savepoint();
      const outcome = createRow(ctx, table, create.paramSettings ?? [], tx);
      if ('failure' in outcome) {
        tx.rollbackTo(savepoint);
        const { code, message, paramErrs } = outcome.failure;
        if (!allowPartial) throw new MessageError(code, message, paramErrs.length > 0 ? paramErrs : [{ paramPath: requestedPath, errCode: code, errMsg: message }]);
        results.push({ requestedPath, operStatus: { operFailure: { errCode: outcome.failure.code, errMsg: outcome.failure.message } } });
      } else {
        results.push({ requestedPath, operStatus: { operSuccess: outcome.success } });
      }
    }
  }
  return { createdObjResults: results };
}

function resolveTables(ctx: RequestContext, requestedPath: string): DmTable[] {
  const resolution = resolvePath(ctx.dm, requestedPath, writeVisibility(ctx.access));
  if (resolution.path.kind !== 'object') throw new UspError(ErrorCode.InvalidPath, `${requestedPath}: Add takes the path of a table`);
  const tables: DmTable[] = [];
  for (const node of resolution.nodes) {
    if (!isTable(node)) throw new UspError(ErrorCode.NotATable, `${requestedPath}: ${node.path} is not a table; give the table path without an instance number`);
    if (!node.schema.isWritableTable) throw new UspError(ErrorCode.NotCreatable, `${node.path}: rows of this table cannot be added by a Controller`);
    tables.push(node);
  }
  return tables;
}

function createRow(
  ctx: RequestContext,
  table: DmTable,
  settings: readonly usp.Add.CreateParamSetting.$Properties[],
  tx: Transaction,
): { success: usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties } | { failure: { code: number; message: string; paramErrs: ParamError[] } } {
  try {
    // Creating a row needs Obj write on the table (TR-181 ControllerTrust.Role.{i}.Permission.{i}.Obj).
    requirePermission(ctx.access, ctx.access.objectBits(table), WRITE, 'Obj', table.path);
  } catch (error) {
    return { failure: { ...describeFailure(ctx.logger, error, table.path), paramErrs: [] } };
  }
  const maxRows = table.schema.decl.maxRows;
  if (maxRows !== undefined && table.rows.size >= maxRows) {
    const message = `${table.path} has ${table.rows.size} rows, the most this agent keeps; delete some first`;
    return { failure: { code: ErrorCode.ResourcesExceeded, message, paramErrs: [] } };
  }
  let row: DmObject;
  try {
    row = tx.addRow(table);
  } catch (error) {
    return { failure: { ...describeFailure(ctx.logger, error, table.path, ErrorCode.ObjectNotCreated), paramErrs: [] } };
  }
  const keyNames = new Set((table.schema.decl.uniqueKeys ?? []).flat());
  const paramErrs: ParamError[] = [];
  const touched = new Set<DmObject>([row]);
  for (const setting of settings) {
    const relative = setting.param ?? '';
    const required = (setting.required ?? false) || keyNames.has(relative);
    try {
      const target = locateRelativeParam(row, relative);
      // A parameter the Controller may not write is a parameter failure (TR-369 §Role Definition, Add example).
      requirePermission(ctx.access, ctx.access.paramBits(target.obj, target.name), WRITE, 'Param', target.obj.path, target.name);
      tx.setParam(target.obj, target.name, setting.value ?? '', 'add');
      touched.add(target.obj);
    } catch (error) {
      const { code, message } = describeFailure(ctx.logger, error, `${row.path}${relative}`);
      const paramError = { paramPath: `${row.path}${relative}`, errCode: code, errMsg: message };
      if (required) {
        return { failure: { code: requiredFailureCode([paramError]), message: `required parameter ${relative} failed: ${paramError.errMsg}`, paramErrs: [paramError] } };
      }
      paramErrs.push(paramError);
    }
  }
  try {
    for (const obj of touched) tx.validate(obj);
  } catch (error) {
    return { failure: { ...describeFailure(ctx.logger, error, row.path), paramErrs: [] } };
  }
  return {
    success: {
      instantiatedPath: row.path,
      paramErrs: paramErrs.map((e) => ({ param: e.paramPath.slice(row.path.length), errCode: e.errCode, errMsg: e.errMsg })),
      // R-ADD.6: only the keys the Controller may read.
      uniqueKeys: Object.fromEntries(Object.entries(ctx.dm.uniqueKeys(row)).filter(([name]) => ctx.access.canReadParam(row, name))),
    },
  };
}
