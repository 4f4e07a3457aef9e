// The access checks the message handlers share: what a Controller's paths resolve to (read messages hide the rows
// it may not see; write messages name them so a missing permission is a 7006, not a "does not exist"), and the
// 7006 for a missing bit.
import type { Access } from '../access/access.ts';
import type { Visibility } from '../datamodel/resolve.ts';

/** For Get, GetInstances and GetSupportedDM: what the Controller may not see does not exist. */
export function readVisibility(access: Access): Visibility {
  return { canSeeRow: access.canSeeRow, canReadParam: access.canReadParam, hideRows: true };
}

/**
 * For Set, Add, Delete and Operate: wildcards and searches skip the rows the Controller may not see (R-SET.3,
 * R-DEL.4: unreadable ones are not listed), but a row named by its number is resolved, and the missing write or
 * execute permission on it is the 7006 TR-369 asks for.
 */
export function writeVisibility(access: Access): Visibility {
  return { canSeeRow: access.canSeeRow, canReadParam: access.canReadParam, hideRows: false };
}

export { requirePermission } from '../access/access.ts';
