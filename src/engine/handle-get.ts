// Get (TR-369 R-GET.*): one RequestedPathResult per requested path, each object found in its own
// ResolvedPathResult with only its own parameters, limited by max_depth. Every path and value added is spent from
// the response budget, so an answer too large to send fails with 7005 before it is built.
import type { usp } from '../usp/generated/usp.js';
import { resolvePath, collectSubtree } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { ErrorCode } from '../usp/errors.ts';
import { describeFailure } from './failure.ts';
import { ResponseTooLargeError } from './response-budget.ts';
import type { RequestContext } from './context.ts';

export function handleGet(ctx: RequestContext, request: usp.Get.$Properties): usp.GetResp.$Properties {
  const maxDepth = request.maxDepth ?? 0;
  return { reqPathResults: (request.paramPaths ?? []).map((path) => getOnePath(ctx, path, maxDepth)) };
}

function getOnePath(ctx: RequestContext, requestedPath: string, maxDepth: number): usp.GetResp.RequestedPathResult.$Properties {
  const { dm, budget } = ctx;
  budget.spend(requestedPath);
  try {
    const resolution = resolvePath(dm, requestedPath);
    if (resolution.path.kind === 'command' || resolution.path.kind === 'event') {
      return failure(ctx, requestedPath, ErrorCode.InvalidPath, `${requestedPath}: Get takes object and parameter paths, not commands or events`);
    }
    const results: usp.GetResp.ResolvedPathResult.$Properties[] = [];
    if (resolution.element !== undefined) {
      for (const node of resolution.nodes) {
        const obj = node as DmObject;
        const value = dm.read(obj, resolution.element);
        budget.spend(obj.path, resolution.element, value);
        results.push({ resolvedPath: obj.path, resultParams: { [resolution.element]: value } });
      }
    } else {
      for (const node of resolution.nodes) {
        // A table path ('Device.LocalAgent.Controller.') asks for all its rows.
        const roots = isTable(node) ? [...node.rows.values()] : [node];
        for (const root of roots) for (const obj of collectSubtree(root, maxDepth)) results.push({ resolvedPath: obj.path, resultParams: readAll(ctx, obj) });
      }
    }
    return { requestedPath, errCode: 0, errMsg: '', resolvedPathResults: results };
  } catch (error) {
    if (error instanceof ResponseTooLargeError) throw error;
    // R-GET.0: a path that is not in the (instantiated) data model gets 7026 on that entry, not a whole-message Error.
    const { code, message } = describeFailure(ctx.logger, error, requestedPath);
    return failure(ctx, requestedPath, code === ErrorCode.ObjectDoesNotExist ? ErrorCode.InvalidPath : code, message);
  }
}

function readAll(ctx: RequestContext, obj: DmObject): Record<string, string> {
  ctx.budget.spend(obj.path);
  const params: Record<string, string> = {};
  for (const name of obj.schema.params.keys()) {
    const value = ctx.dm.read(obj, name);
    ctx.budget.spend(name, value);
    params[name] = value;
  }
  return params;
}

function failure(ctx: RequestContext, requestedPath: string, errCode: number, errMsg: string): usp.GetResp.RequestedPathResult.$Properties {
  ctx.budget.spend(errMsg);
  return { requestedPath, errCode, errMsg, resolvedPathResults: [] };
}
