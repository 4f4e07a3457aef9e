// Delete (TR-369 R-DEL.*, clarified in 1.4.1): rows of writable tables, by instance or search path.
import type { usp } from '../usp/generated/usp.js';
import { resolvePath, PathNotFoundError } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { Transaction } from '../datamodel/transaction.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import { describeFailure } from './failure.ts';
import { MessageError } from './message-error.ts';
import type { RequestContext } from './context.ts';
import { requirePermission, writeVisibility } from './access-checks.ts';
import { WRITE } from '../access/permission-bits.ts';

export function handleDelete(ctx: RequestContext, request: usp.Delete.$Properties, tx: Transaction): usp.DeleteResp.$Properties {
  const allowPartial = request.allowPartial ?? false;
  const results: usp.DeleteResp.DeletedObjectResult.$Properties[] = [];
  for (const requestedPath of request.objPaths ?? []) {
    let rows: DmObject[];
    try {
      rows = resolveRows(ctx, requestedPath);
    } catch (error) {
      const { code, message } = describeFailure(ctx.logger, error, requestedPath);
      // TP-469 1.26/1.28: the Error names the path that failed in param_errs.
      if (!allowPartial) throw new MessageError(code, message, [{ paramPath: requestedPath, errCode: code, errMsg: message }]);
      if (error instanceof PathNotFoundError) {
        // Deleting what is already gone succeeds with nothing affected (R-DEL.2a): deletes stay idempotent.
        results.push({ requestedPath, operStatus: { operSuccess: { affectedPaths: [], unaffectedPathErrs: [] } } });
      } else {
        results.push({ requestedPath, operStatus: { operFailure: { errCode: code, errMsg: message } } });
      }
      continue;
    }
    const affectedPaths: string[] = [];
    const unaffectedPathErrs: usp.DeleteResp.UnaffectedPathError.$Properties[] = [];
    for (const row of rows) {
      if (row.deleted) continue; // already removed with an ancestor matched earlier in this request
      try {
        requirePermission(ctx.access, ctx.access.instanceBits(row), WRITE, 'InstantiatedObj', row.path);
        if (!row.table!.schema.isWritableTable) throw new UspError(ErrorCode.DeleteFailure, `${row.path}: rows of this table cannot be deleted by a Controller`);
        ctx.dm.binding(row.schema)?.validateDelete?.(row, tx.ctx);
        affectedPaths.push(...rowAndNestedRows(row));
        tx.deleteRow(row);
      } catch (error) {
        const { code, message } = describeFailure(ctx.logger, error, row.path);
        if (!allowPartial) throw new MessageError(code, message, [{ paramPath: row.path, errCode: code, errMsg: message }]);
        unaffectedPathErrs.push({ unaffectedPath: row.path, errCode: code, errMsg: message });
      }
    }
    results.push({ requestedPath, operStatus: { operSuccess: { affectedPaths, unaffectedPathErrs } } });
  }
  return { deletedObjResults: results };
}

function resolveRows(ctx: RequestContext, requestedPath: string): DmObject[] {
  const resolution = resolvePath(ctx.dm, requestedPath, writeVisibility(ctx.access));
  if (resolution.path.kind !== 'object') throw new UspError(ErrorCode.InvalidPath, `${requestedPath}: Delete takes object instance paths`);
  const rows: DmObject[] = [];
  for (const node of resolution.nodes) {
    if (isTable(node)) throw new UspError(ErrorCode.InvalidPath, `${requestedPath}: name the instances to delete (e.g. ${node.path}1. or ${node.path}*.)`);
    if (!node.table) throw new UspError(ErrorCode.NotATable, `${requestedPath}: ${node.path} is not a table row`);
    rows.push(node);
  }
  return rows;
}

function rowAndNestedRows(row: DmObject): string[] {
  const paths = [row.path];
  const visit = (obj: DmObject): void => {
    for (const child of obj.objects.values()) visit(child);
    for (const table of obj.tables.values()) {
      for (const nested of table.rows.values()) {
        paths.push(nested.path);
        visit(nested);
      }
    }
  };
  visit(row);
  return paths;
}
