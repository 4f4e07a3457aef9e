// Which roles a Controller has, and those roles compiled for matching (TR-369 §A Controller's Role):
// AssignedRole ∪ InheritedRole; a Controller with neither gets ControllerTrust.UntrustedRole. Disabled roles and
// disabled Permission rows grant nothing; a Targets entry that does not compile (only possible in state written
// by an older berth: Set refuses them) is skipped.
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { COLUMNS, parseBits } from './permission-bits.ts';
import type { Column } from './permission-bits.ts';
import { compileTarget } from './permission-target.ts';
import type { CompiledTarget } from './permission-target.ts';
import type { PermissionRule, RoleRules } from './role-rules.ts';

export const CONTROLLER_TRUST = 'Device.LocalAgent.ControllerTrust.';

export function listValue(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Role references without the trailing dot, as TR-181 stores references. */
function normalizeRef(ref: string): string {
  return ref.endsWith('.') ? ref.slice(0, -1) : ref;
}

/** The Role rows that apply to a Controller. */
export function roleRefsOf(dm: DataModel, controller: DmObject): string[] {
  const refs = new Set([...listValue(dm.read(controller, 'AssignedRole')), ...listValue(dm.read(controller, 'InheritedRole'))].map(normalizeRef));
  if (refs.size > 0) return [...refs];
  return listValue(dm.read(dm.object(CONTROLLER_TRUST), 'UntrustedRole')).map(normalizeRef);
}

/** A Controller whose roles include ControllerTrust.BannedRole is not talked to. */
export function isBanned(dm: DataModel, controller: DmObject): boolean {
  const banned = normalizeRef(dm.read(dm.object(CONTROLLER_TRUST), 'BannedRole'));
  return banned !== '' && roleRefsOf(dm, controller).includes(banned);
}

/** Whether one of the Controller's roles is listed in ControllerTrust.SecuredRoles (it may read secured values). */
export function hasSecuredRole(dm: DataModel, refs: readonly string[]): boolean {
  const secured = new Set(listValue(dm.read(dm.object(CONTROLLER_TRUST), 'SecuredRoles')).map(normalizeRef));
  return refs.some((ref) => secured.has(ref));
}

/** The role's name for messages ('Untrusted'), falling back to its reference. */
export function roleName(dm: DataModel, ref: string): string {
  const row = dm.lookup(ref);
  return row && !row.deleted ? dm.read(row, 'Name') || ref : ref;
}

/** Compiles an enabled role; undefined for a missing or disabled one. */
export function compileRole(dm: DataModel, ref: string): RoleRules | undefined {
  const row = dm.lookup(ref);
  if (!row || row.deleted || row.table?.path !== `${CONTROLLER_TRUST}Role.` || dm.read(row, 'Enable') !== 'true') return undefined;
  const rules: PermissionRule[] = [];
  for (const permission of row.tables.get('Permission')?.rows.values() ?? []) {
    if (dm.read(permission, 'Enable') !== 'true') continue;
    const targets: CompiledTarget[] = [];
    for (const entry of listValue(dm.read(permission, 'Targets'))) {
      try {
        targets.push(compileTarget(dm.schemaRoot, entry));
      } catch {
        // Refused by Set; can only come from old state. Skipping it grants nothing.
      }
    }
    const bits = Object.fromEntries(COLUMNS.map((column) => [column, parseBits(dm.read(permission, column))])) as Record<Column, number>;
    rules.push({ source: permission.path, order: Number(dm.read(permission, 'Order')), targets, bits });
  }
  rules.sort((a, b) => b.order - a.order);
  return { ref: normalizeRef(ref), rules };
}
