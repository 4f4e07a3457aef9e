// GetInstances: instance paths and unique keys of every row of the requested tables (and, unless
// first_level_only, of the tables nested below them).
import type { usp } from '../usp/generated/usp.js';
import { resolvePath } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { DataModel } from '../datamodel/data-model.ts';
import { ErrorCode, UspError, toUspCode, toUspMessage } from '../usp/errors.ts';
import type { RequestContext } from './context.ts';

export function handleGetInstances(ctx: RequestContext, request: usp.GetInstances.$Properties): usp.GetInstancesResp.$Properties {
  const firstLevelOnly = request.firstLevelOnly ?? false;
  return {
    reqPathResults: (request.objPaths ?? []).map((requestedPath) => {
      try {
        const resolution = resolvePath(ctx.dm, requestedPath);
        if (resolution.path.kind !== 'object') throw new UspError(ErrorCode.InvalidPath, `${requestedPath}: GetInstances takes object paths`);
        const rows: DmObject[] = [];
        for (const node of resolution.nodes) {
          if (isTable(node)) rows.push(...node.rows.values());
          else if (node.table) rows.push(node);
          else throw new UspError(ErrorCode.NotATable, `${requestedPath}: ${node.path} is not a table`);
        }
        const currInsts: usp.GetInstancesResp.CurrInstance.$Properties[] = [];
        for (const row of rows) collect(ctx.dm, row, firstLevelOnly, currInsts);
        return { requestedPath, errCode: 0, errMsg: '', currInsts };
      } catch (error) {
        return { requestedPath, errCode: toUspCode(error), errMsg: toUspMessage(error), currInsts: [] };
      }
    }),
  };
}

function collect(dm: DataModel, row: DmObject, firstLevelOnly: boolean, out: usp.GetInstancesResp.CurrInstance.$Properties[]): void {
  out.push({ instantiatedObjPath: row.path, uniqueKeys: dm.uniqueKeys(row) });
  if (firstLevelOnly) return;
  const visit = (obj: DmObject): void => {
    for (const child of obj.objects.values()) visit(child);
    for (const table of obj.tables.values()) for (const nested of table.rows.values()) collect(dm, nested, false, out);
  };
  visit(row);
}
