// GetInstances: instance paths and unique keys of every row of the requested tables (and, unless
// first_level_only, of the tables nested below them).
import type { usp } from '../usp/generated/usp.js';
import { resolvePath } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import { describeFailure } from './failure.ts';
import { ResponseTooLargeError } from './response-budget.ts';
import type { RequestContext } from './context.ts';
import { readVisibility } from './access-checks.ts';

export function handleGetInstances(ctx: RequestContext, request: usp.GetInstances.$Properties): usp.GetInstancesResp.$Properties {
  const firstLevelOnly = request.firstLevelOnly ?? false;
  return {
    reqPathResults: (request.objPaths ?? []).map((requestedPath) => {
      ctx.budget.spend(requestedPath);
      try {
        const resolution = resolvePath(ctx.dm, requestedPath, readVisibility(ctx.access));
        if (resolution.path.kind !== 'object') throw new UspError(ErrorCode.InvalidPath, `${requestedPath}: GetInstances takes object paths`);
        const rows: DmObject[] = [];
        for (const node of resolution.nodes) {
          if (isTable(node)) rows.push(...[...node.rows.values()].filter(ctx.access.canSeeRow));
          else if (node.table) rows.push(node);
          else throw new UspError(ErrorCode.NotATable, `${requestedPath}: ${node.path} is not a table`);
        }
        const currInsts: usp.GetInstancesResp.CurrInstance.$Properties[] = [];
        for (const row of rows) collect(ctx, row, firstLevelOnly, currInsts);
        return { requestedPath, errCode: 0, errMsg: '', currInsts };
      } catch (error) {
        if (error instanceof ResponseTooLargeError) throw error;
        const { code, message } = describeFailure(ctx.logger, error, requestedPath);
        ctx.budget.spend(message);
        return { requestedPath, errCode: code, errMsg: message, currInsts: [] };
      }
    }),
  };
}

function collect(ctx: RequestContext, row: DmObject, firstLevelOnly: boolean, out: usp.GetInstancesResp.CurrInstance.$Properties[]): void {
  // R-GIN: instance numbers need InstantiatedObj read (checked by the caller); each key value needs Param read.
  const uniqueKeys = Object.fromEntries(Object.entries(ctx.dm.uniqueKeys(row)).filter(([name]) => ctx.access.canReadParam(row, name)));
  ctx.budget.spend(row.path, ...Object.keys(uniqueKeys), ...Object.values(uniqueKeys));
  out.push({ instantiatedObjPath: row.path, uniqueKeys });
  if (firstLevelOnly) return;
  const visit = (obj: DmObject): void => {
    for (const child of obj.objects.values()) visit(child);
    for (const table of obj.tables.values()) for (const nested of table.rows.values()) if (ctx.access.canSeeRow(nested)) collect(ctx, nested, false, out);
  };
  visit(row);
}
