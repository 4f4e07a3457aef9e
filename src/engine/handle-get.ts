// Get (TR-369 R-GET.*): one RequestedPathResult per requested path, each object found in its own
// ResolvedPathResult with only its own parameters, limited by max_depth.
import type { usp } from '../usp/generated/usp.js';
import { resolvePath, collectSubtree } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { DataModel } from '../datamodel/data-model.ts';
import { ErrorCode, toUspCode, toUspMessage } from '../usp/errors.ts';
import type { RequestContext } from './context.ts';

export function handleGet(ctx: RequestContext, request: usp.Get.$Properties): usp.GetResp.$Properties {
  const maxDepth = request.maxDepth ?? 0;
  return { reqPathResults: (request.paramPaths ?? []).map((path) => getOnePath(ctx.dm, path, maxDepth)) };
}

function getOnePath(dm: DataModel, requestedPath: string, maxDepth: number): usp.GetResp.RequestedPathResult.$Properties {
  try {
    const resolution = resolvePath(dm, requestedPath);
    if (resolution.path.kind === 'command' || resolution.path.kind === 'event') {
      return failure(requestedPath, ErrorCode.InvalidPath, `${requestedPath}: Get takes object and parameter paths, not commands or events`);
    }
    const results: usp.GetResp.ResolvedPathResult.$Properties[] = [];
    if (resolution.element !== undefined) {
      for (const node of resolution.nodes) {
        const obj = node as DmObject;
        results.push({ resolvedPath: obj.path, resultParams: { [resolution.element]: dm.read(obj, resolution.element) } });
      }
    } else {
      for (const node of resolution.nodes) {
        // A table path ('Device.LocalAgent.Controller.') asks for all its rows.
        const roots = isTable(node) ? [...node.rows.values()] : [node];
        for (const root of roots) for (const obj of collectSubtree(root, maxDepth)) results.push({ resolvedPath: obj.path, resultParams: readAll(dm, obj) });
      }
    }
    return { requestedPath, errCode: 0, errMsg: '', resolvedPathResults: results };
  } catch (error) {
    // R-GET.0: a path that is not in the (instantiated) data model gets 7026 on that entry, not a whole-message Error.
    const code = toUspCode(error);
    return failure(requestedPath, code === ErrorCode.ObjectDoesNotExist ? ErrorCode.InvalidPath : code, toUspMessage(error));
  }
}

function readAll(dm: DataModel, obj: DmObject): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of obj.schema.params.keys()) params[name] = dm.read(obj, name);
  return params;
}

function failure(requestedPath: string, errCode: number, errMsg: string): usp.GetResp.RequestedPathResult.$Properties {
  return { requestedPath, errCode, errMsg, resolvedPathResults: [] };
}
