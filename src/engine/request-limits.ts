// Bounds on what one request may ask of the agent, checked before any handler runs, so that the time one message
// holds the serial lane stays short whatever a Controller sends. Each bound is in the README's limits table; going
// over it fails the whole message with 7005 Resources exceeded, naming the bound.
import type { usp } from '../usp/generated/usp.js';
import { ErrorCode } from '../usp/errors.ts';
import { MessageError } from './message-error.ts';

/** Paths or objects in one Get, GetInstances, GetSupportedDM, Set, Add or Delete. */
export const MAX_ENTRIES_PER_REQUEST = 1000;
/** Parameter settings over all objects of one Set or Add. */
export const MAX_SETTINGS_PER_REQUEST = 10_000;
/** Input arguments of one Operate. */
export const MAX_COMMAND_ARGS = 1000;
/**
 * Parameter writes one Set or Add may make: its settings times the objects its paths match. A search path multiplies
 * the settings (1,000 settings on `Subscription.*.` with 100 rows are 100,000 writes, most of them failing), so this
 * is counted as the paths resolve, before the writes.
 */
export const MAX_WRITES_PER_REQUEST = 20_000;

/** Counts the writes of one Set or Add; throws 7005 before the one that would pass MAX_WRITES_PER_REQUEST. */
export function createWriteCounter(): { plan(objects: number, settings: number): void } {
  let planned = 0;
  return {
    plan(objects, settings) {
      planned += objects * settings;
      if (planned > MAX_WRITES_PER_REQUEST) {
        throw new MessageError(
          ErrorCode.ResourcesExceeded,
          `this request would write ${planned} parameters or more (settings × the objects their paths match), at most ${MAX_WRITES_PER_REQUEST} are accepted in one message; narrow the paths or split the request`,
        );
      }
    },
  };
}

export function checkRequestLimits(request: usp.Request.$Properties): void {
  const entries = entriesOf(request);
  if (entries.count > MAX_ENTRIES_PER_REQUEST) {
    throw new MessageError(ErrorCode.ResourcesExceeded, `${entries.what}: ${entries.count} in one message, at most ${MAX_ENTRIES_PER_REQUEST} are accepted; split the request`);
  }
  const settings = settingsOf(request);
  if (settings > MAX_SETTINGS_PER_REQUEST) {
    throw new MessageError(ErrorCode.ResourcesExceeded, `param_settings: ${settings} in one message, at most ${MAX_SETTINGS_PER_REQUEST} are accepted; split the request`);
  }
  const args = Object.keys(request.operate?.inputArgs ?? {}).length;
  if (args > MAX_COMMAND_ARGS) throw new MessageError(ErrorCode.ResourcesExceeded, `input_args: ${args} in one Operate, at most ${MAX_COMMAND_ARGS} are accepted`);
}

function entriesOf(request: usp.Request.$Properties): { count: number; what: string } {
  if (request.get) return { count: request.get.paramPaths?.length ?? 0, what: 'param_paths' };
  if (request.getInstances) return { count: request.getInstances.objPaths?.length ?? 0, what: 'obj_paths' };
  if (request.getSupportedDm) return { count: request.getSupportedDm.objPaths?.length ?? 0, what: 'obj_paths' };
  if (request.set) return { count: request.set.updateObjs?.length ?? 0, what: 'update_objs' };
  if (request.add) return { count: request.add.createObjs?.length ?? 0, what: 'create_objs' };
  if (request.delete) return { count: request.delete.objPaths?.length ?? 0, what: 'obj_paths' };
  return { count: 0, what: '' };
}

function settingsOf(request: usp.Request.$Properties): number {
  let total = 0;
  for (const update of request.set?.updateObjs ?? []) total += update.paramSettings?.length ?? 0;
  for (const create of request.add?.createObjs ?? []) total += create.paramSettings?.length ?? 0;
  return total;
}
