// A Controller's access to the data model for one message (or one notification): the permission bits of every
// object, row, parameter, command and event it touches, worked out from its roles and memoised for the message,
// so a Get of the whole tree matches each rule against each object once. Role changes apply to the very next
// message: compiled roles are cached only until ControllerTrust changes.
import type { DataModel } from '../datamodel/data-model.ts';
import { isTable } from '../datamodel/instances.ts';
import type { DmNode, DmObject } from '../datamodel/instances.ts';
import { rowMatches } from '../datamodel/resolve.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import { ALL_BITS, READ, describePermission } from './permission-bits.ts';
import type { Column } from './permission-bits.ts';
import { CONTROLLER_TRUST, compileRole, hasSecuredRole, roleName, roleRefsOf } from './controller-roles.ts';
import { bitsAtNode, decidingRules, rulesAtNode } from './role-rules.ts';
import type { RoleAtNode, RoleRules, RowMatcher, Step } from './role-rules.ts';

export interface Access {
  /** Bits of the Obj column for an object or a table. */
  readonly objectBits: (node: DmNode) => number;
  /** Bits of the InstantiatedObj column for a row. */
  readonly instanceBits: (row: DmObject) => number;
  readonly paramBits: (obj: DmObject, name: string) => number;
  /** Bits of the CommandEvent column: name with '()' or '!'. */
  readonly commandEventBits: (obj: DmObject, name: string) => number;
  /** Bits in the supported data model ('Device.LocalAgent.Controller.{i}.'), for GetSupportedDM and subscriptions. */
  readonly supportedBits: (schemaPath: string, column: Column, element?: string) => number;
  /** A row the Controller may know exists (InstantiatedObj read): others are left out of every answer. */
  readonly canSeeRow: (row: DmObject) => boolean;
  readonly canReadParam: (obj: DmObject, name: string) => boolean;
  /** A parameter's value as this Controller may see it: secured values only for a SecuredRoles holder. */
  readonly readParam: (obj: DmObject, name: string) => string;
  /** The 7006 error for a missing permission, naming the element and what was missing. */
  readonly denied: (column: Column, bit: number, path: string, element?: string) => UspError;
}

export interface AccessControl {
  /** The access of a Controller (its Device.LocalAgent.Controller.{i}. row) for one message. */
  forController(controller: DmObject): Access;
}

/** Everything allowed, secured values hidden: for unit tests of subscriptions without access control. */
export function fullAccess(dm: DataModel): Access {
  return {
    objectBits: () => ALL_BITS,
    instanceBits: () => ALL_BITS,
    paramBits: () => ALL_BITS,
    commandEventBits: () => ALL_BITS,
    supportedBits: () => ALL_BITS,
    canSeeRow: () => true,
    canReadParam: () => true,
    readParam: (obj, name) => dm.read(obj, name),
    denied: (column, bit, path, element) => new UspError(ErrorCode.PermissionDenied, `${path}${element ?? ''}: permission denied (${describePermission(column, bit)})`),
  };
}

export function createAccessControl(dm: DataModel): AccessControl {
  const compiled = new Map<string, RoleRules | undefined>();
  // Anything under ControllerTrust changing may change a role: drop the compiled ones (they are cheap to rebuild).
  const invalidate = (obj: DmObject): void => {
    if (obj.path.startsWith(CONTROLLER_TRUST)) compiled.clear();
  };
  dm.addListener({ valueChanged: invalidate, objectCreated: invalidate, objectDeleted: invalidate });
  const roleRules = (ref: string): RoleRules | undefined => {
    if (!compiled.has(ref)) compiled.set(ref, compileRole(dm, ref));
    return compiled.get(ref);
  };
  return {
    forController(controller) {
      const refs = roleRefsOf(dm, controller);
      const roles = refs.map(roleRules).filter((role): role is RoleRules => role !== undefined);
      const names = refs.map((ref) => roleName(dm, ref));
      return createAccess(dm, roles, { secured: hasSecuredRole(dm, refs), roleNames: names });
    },
  };
}

/** The access granted by `roles` (already compiled), for one message. Exported for the unit tests of the rules. */
export function createAccess(dm: DataModel, roles: readonly RoleRules[], options: { secured: boolean; roleNames: readonly string[] }): Access {
  const atObject = new Map<DmNode, RoleAtNode[]>();
  const atSupported = new Map<string, RoleAtNode[]>();
  const searchResults = new Map<DmObject, Map<object, boolean>>();

  const matchesRow: RowMatcher = (target, row, segment) => {
    let byRow = searchResults.get(row);
    if (!byRow) searchResults.set(row, (byRow = new Map<object, boolean>()));
    let result = byRow.get(segment);
    if (result === undefined) {
      try {
        result = rowMatches(dm, target.path, row, segment.terms);
      } catch {
        result = false; // a term naming what this row does not have: the target does not cover it
      }
      byRow.set(segment, result);
    }
    return result;
  };

  const rulesOf = (node: DmNode): RoleAtNode[] => {
    let rules = atObject.get(node);
    if (!rules) atObject.set(node, (rules = rulesAtNode(roles, stepsOf(node), matchesRow)));
    return rules;
  };

  const access: Access = {
    objectBits: (node) => bitsAtNode(rulesOf(node), 'Obj'),
    instanceBits: (row) => bitsAtNode(rulesOf(row), 'InstantiatedObj'),
    paramBits: (obj, name) => bitsAtNode(rulesOf(obj), 'Param', name),
    commandEventBits: (obj, name) => bitsAtNode(rulesOf(obj), 'CommandEvent', name),
    supportedBits(schemaPath, column, element) {
      let rules = atSupported.get(schemaPath);
      if (!rules) atSupported.set(schemaPath, (rules = rulesAtNode(roles, supportedSteps(schemaPath), matchesRow)));
      return bitsAtNode(rules, column, element);
    },
    canSeeRow: (row) => (access.instanceBits(row) & READ) !== 0,
    canReadParam: (obj, name) => (access.paramBits(obj, name) & READ) !== 0,
    readParam(obj, name) {
      const param = obj.schema.params.get(name);
      if (param?.decl.secured && options.secured) return dm.readRaw(obj, param);
      return dm.read(obj, name);
    },
    denied(column, bit, path, element) {
      const node = dm.lookup(path) ?? dm.lookupTable(path);
      const deciding = node ? decidingRules(rulesOf(node), column === 'Obj' || column === 'InstantiatedObj' ? undefined : element) : [];
      const why = deciding.length === 0 ? 'no permission of its roles covers it' : `decided by ${deciding.map((rule) => rule.source.slice(0, -1)).join(', ')}`;
      const names = options.roleNames.map((n) => `"${n}"`).join(', ');
      const holder = options.roleNames.length === 0 ? 'the Controller holds no role that grants it' : options.roleNames.length === 1 ? `which the Controller's role ${names} does not grant` : `which none of the Controller's roles ${names} grants`;
      return new UspError(ErrorCode.PermissionDenied, `${path}${element ?? ''}: permission denied: needs ${describePermission(column, bit)}, ${holder} (${why})`);
    },
  };
  return access;
}

const stepsCache = new WeakMap<DmNode, readonly Step[]>();

/** The steps of an instantiated object or table below 'Device.': names and rows. */
export function stepsOf(node: DmNode): readonly Step[] {
  const cached = stepsCache.get(node);
  if (cached) return cached;
  let steps: Step[];
  if (isTable(node)) steps = [...stepsOf(node.parent), node.schema.name];
  else if (node.table) steps = [...stepsOf(node.table), node];
  else if (node.parent) steps = [...stepsOf(node.parent), node.schema.name];
  else steps = [];
  stepsCache.set(node, steps);
  return steps;
}

/** The steps of a supported path ('Device.LocalAgent.Controller.{i}.MTP.'): '{i}' becomes null. */
export function supportedSteps(schemaPath: string): Step[] {
  return schemaPath.split('.').slice(1).filter((part) => part !== '').map((part) => (part === '{i}' ? null : part));
}

/** Throws the 7006 naming `path` + `element` unless `bits` holds `bit`. */
export function requirePermission(access: Access, bits: number, bit: number, column: Column, path: string, element?: string): void {
  if ((bits & bit) === 0) throw access.denied(column, bit, path, element);
}
