// Get (TR-369 R-GET.*): one RequestedPathResult per requested path, each object found in its own
// ResolvedPathResult with only its own parameters, limited by max_depth. Every path and value added is spent from
// the response budget, so an answer too large to send fails with 7005 before it is built.
import type { usp } from '../usp/generated/usp.js';
import { resolvePath } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { ErrorCode } from '../usp/errors.ts';
import { describeFailure } from './failure.ts';
import { ResponseTooLargeError } from './response-budget.ts';
import type { RequestContext } from './context.ts';
import { readVisibility } from './access-checks.ts';
import { READ } from '../access/permission-bits.ts';

export function handleGet(ctx: RequestContext, request: usp.Get.$Properties): usp.GetResp.$Properties {
  const maxDepth = request.maxDepth ?? 0;
  return { reqPathResults: (request.paramPaths ?? []).map((path) => getOnePath(ctx, path, maxDepth)) };
}

function getOnePath(ctx: RequestContext, requestedPath: string, maxDepth: number): usp.GetResp.RequestedPathResult.$Properties {
  const { dm, budget } = ctx;
  budget.spend(requestedPath);
  try {
    const resolution = resolvePath(dm, requestedPath, readVisibility(ctx.access));
    if (resolution.path.kind === 'command' || resolution.path.kind === 'event') {
      return failure(ctx, requestedPath, ErrorCode.InvalidPath, `${requestedPath}: Get takes object and parameter paths, not commands or events`);
    }
    const results: usp.GetResp.ResolvedPathResult.$Properties[] = [];
    if (resolution.element !== undefined) {
      for (const node of resolution.nodes) {
        const obj = node as DmObject;
        // R-GET.1: what the Controller may not read is silently left out.
        if (!ctx.access.canReadParam(obj, resolution.element)) continue;
        const value = ctx.access.readParam(obj, resolution.element);
        budget.spend(obj.path, resolution.element, value);
        results.push({ resolvedPath: obj.path, resultParams: { [resolution.element]: value } });
      }
    } else {
      for (const node of resolution.nodes) {
        // A table path ('Device.LocalAgent.Controller.') asks for all its rows.
        const roots = isTable(node) ? [...node.rows.values()].filter(ctx.access.canSeeRow) : [node];
        for (const root of roots) collectReadable(ctx, root, maxDepth, 1, results);
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

/**
 * The object and what lies below it (depth-first, parents first, down to maxDepth; 0 = all), as this Controller
 * may read it: rows it may not see are left out with everything below them, parameters it may not read are left
 * out, and an object it may not resolve (no Obj read) appears only if some of its parameters are readable.
 */
function collectReadable(ctx: RequestContext, obj: DmObject, maxDepth: number, depth: number, out: usp.GetResp.ResolvedPathResult.$Properties[]): void {
  const params: Record<string, string> = {};
  let readable = 0;
  for (const name of obj.schema.params.keys()) {
    if (!ctx.access.canReadParam(obj, name)) continue;
    const value = ctx.access.readParam(obj, name);
    ctx.budget.spend(name, value);
    params[name] = value;
    readable += 1;
  }
  if (readable > 0 || (ctx.access.objectBits(obj) & READ) !== 0) {
    ctx.budget.spend(obj.path);
    out.push({ resolvedPath: obj.path, resultParams: params });
  }
  if (maxDepth !== 0 && depth >= maxDepth) return;
  for (const child of obj.objects.values()) collectReadable(ctx, child, maxDepth, depth + 1, out);
  for (const table of obj.tables.values()) for (const row of table.rows.values()) if (ctx.access.canSeeRow(row)) collectReadable(ctx, row, maxDepth, depth + 1, out);
}

function failure(ctx: RequestContext, requestedPath: string, errCode: number, errMsg: string): usp.GetResp.RequestedPathResult.$Properties {
  ctx.budget.spend(errMsg);
  return { requestedPath, errCode, errMsg, resolvedPathResults: [] };
}
