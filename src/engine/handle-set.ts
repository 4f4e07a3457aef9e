// Set (TR-369 R-SET.*, allow_partial/required matrix of reference §2.10). A search path that matches several
// objects is holistic (R-SET.2a): one failing object undoes that UpdateObject for all of them.
import type { usp } from '../usp/generated/usp.js';
import { resolvePath } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { Transaction } from '../datamodel/transaction.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import { describeFailure } from './failure.ts';
import { createWriteCounter } from './request-limits.ts';
import { locateRelativeParam } from './relative-param.ts';
import { MessageError } from './message-error.ts';
import type { ParamError } from './message-error.ts';
import type { RequestContext } from './context.ts';
import { requirePermission, writeVisibility } from './access-checks.ts';
import { WRITE } from '../access/permission-bits.ts';

interface ObjectFailure {
  readonly code: number;
  readonly message: string;
  readonly instanceFailures: { affectedPath: string; paramErrs: ParamError[] }[];
}

export function handleSet(ctx: RequestContext, request: usp.Set.$Properties, tx: Transaction): usp.SetResp.$Properties {
  const allowPartial = request.allowPartial ?? false;
  const results: usp.SetResp.UpdatedObjectResult.$Properties[] = [];
  const writes = createWriteCounter();
  for (const update of request.updateObjs ?? []) {
    const requestedPath = update.objPath ?? '';
    const savepoint = tx.savepoint();
    const outcome = updateObject(ctx, update, tx, writes);
    if ('failure' in outcome) {
      tx.rollbackTo(savepoint);
      const { failure } = outcome;
      if (!allowPartial) {
        // The Error names what failed: the failing parameters, else the object (or the requested path) itself.
        const paramErrs = failure.instanceFailures.flatMap((f) => (f.paramErrs.length > 0 ? f.paramErrs : [{ paramPath: f.affectedPath, errCode: failure.code, errMsg: failure.message }]));
        throw new MessageError(failure.code, failure.message, paramErrs.length > 0 ? paramErrs : [{ paramPath: requestedPath, errCode: failure.code, errMsg: failure.message }]);
      }
      results.push({
        requestedPath,
        operStatus: {
          operFailure: {
            errCode: failure.code,
            errMsg: failure.message,
            updatedInstFailures: failure.instanceFailures.map((f) => ({
              affectedPath: f.affectedPath,
              paramErrs: f.paramErrs.map((e) => ({ param: relativeTo(f.affectedPath, e.paramPath), errCode: e.errCode, errMsg: e.errMsg })),
            })),
          },
        },
      });
    } else {
      results.push({ requestedPath, operStatus: { operSuccess: { updatedInstResults: outcome.success } } });
    }
  }
  return { updatedObjResults: results };
}

function updateObject(
  ctx: RequestContext,
  update: usp.Set.UpdateObject.$Properties,
  tx: Transaction,
  writes: ReturnType<typeof createWriteCounter>,
): { success: usp.SetResp.UpdatedInstanceResult.$Properties[] } | { failure: ObjectFailure } {
  const requestedPath = update.objPath ?? '';
  let objects: DmObject[];
  try {
    const resolution = resolvePath(ctx.dm, requestedPath, writeVisibility(ctx.access));
    if (resolution.path.kind !== 'object') throw new UspError(ErrorCode.InvalidPath, `${requestedPath}: Set takes an object path; the parameter goes in param_settings`);
    if (resolution.nodes.some(isTable)) throw new UspError(ErrorCode.InvalidPath, `${requestedPath} is a table; Set needs an instance (or a search path)`);
    objects = resolution.nodes as DmObject[];
  } catch (error) {
    return { failure: { ...describeFailure(ctx.logger, error, requestedPath), instanceFailures: [] } };
  }
  // Outside the try: going over the bound fails the whole message, whatever allow_partial says.
  writes.plan(objects.length, update.paramSettings?.length ?? 0);
  const success: usp.SetResp.UpdatedInstanceResult.$Properties[] = [];
  for (const obj of objects) {
    const updatedParams: Record<string, string> = {};
    const paramErrs: ParamError[] = [];
    const requiredErrs: ParamError[] = [];
    const touched = new Set<DmObject>([obj]);
    for (const setting of update.paramSettings ?? []) {
      const relative = setting.param ?? '';
      try {
        const target = locateRelativeParam(obj, relative);
        requirePermission(ctx.access, ctx.access.paramBits(target.obj, target.name), WRITE, 'Param', target.obj.path, target.name);
        tx.setParam(target.obj, target.name, setting.value ?? '', 'set');
        touched.add(target.obj);
        // R-SET.3: updated_params leaves out what the Controller may not read.
        if (ctx.access.canReadParam(target.obj, target.name)) updatedParams[relative] = ctx.access.readParam(target.obj, target.name);
      } catch (error) {
        const { code, message } = describeFailure(ctx.logger, error, `${obj.path}${relative}`);
        const paramError = { paramPath: `${obj.path}${relative}`, errCode: code, errMsg: message };
        (setting.required ? requiredErrs : paramErrs).push(paramError);
      }
    }
    if (requiredErrs.length > 0) {
      return {
        failure: {
          code: requiredFailureCode(requiredErrs),
          message: `required parameter ${relativeTo(obj.path, requiredErrs[0]!.paramPath)} failed: ${requiredErrs[0]!.errMsg}`,
          instanceFailures: [{ affectedPath: obj.path, paramErrs: requiredErrs }],
        },
      };
    }
    try {
      for (const each of touched) tx.validate(each);
    } catch (error) {
      return { failure: { ...describeFailure(ctx.logger, error, obj.path), instanceFailures: [{ affectedPath: obj.path, paramErrs: [] }] } };
    }
    success.push({
      affectedPath: obj.path,
      updatedParams,
      paramErrs: paramErrs.map((e) => ({ param: relativeTo(obj.path, e.paramPath), errCode: e.errCode, errMsg: e.errMsg })),
    });
  }
  return { success };
}

/**
 * The code of an object failing on its required parameters: 7006 when it is only missing permissions (TP-469 2.16
 * expects the Error to say Permission Denied), else 7021 Required parameter failed.
 */
export function requiredFailureCode(errors: readonly ParamError[]): number {
  return errors.every((e) => e.errCode === ErrorCode.PermissionDenied) ? ErrorCode.PermissionDenied : ErrorCode.RequiredParameterFailed;
}

function relativeTo(objPath: string, paramPath: string): string {
  return paramPath.startsWith(objPath) ? paramPath.slice(objPath.length) : paramPath;
}
