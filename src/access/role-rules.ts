// How ControllerTrust permissions combine (TR-369 §Roles, "A Controller's Role"): within one role, of its enabled
// Permission rows whose Targets cover an element, the one with the highest Order decides — all four characters of
// the column, nothing inherited from lower rows; across the Controller's roles the results are OR-ed. Nothing
// covering an element grants nothing. Pure: the data model is only read through `matchesRow` (search targets).
import type { PathSegment } from '../usp/path.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { Column } from './permission-bits.ts';
import type { CompiledTarget } from './permission-target.ts';

export interface PermissionRule {
  /** The Permission row, for denial messages ('Device.LocalAgent.ControllerTrust.Role.2.Permission.3.'). */
  readonly source: string;
  readonly order: number;
  readonly targets: readonly CompiledTarget[];
  readonly bits: Readonly<Record<Column, number>>;
}

export interface RoleRules {
  /** The Role row reference ('Device.LocalAgent.ControllerTrust.Role.2'). */
  readonly ref: string;
  /** Enabled rules, highest Order first. */
  readonly rules: readonly PermissionRule[];
}

/**
 * Where an element sits, one step per path segment after 'Device': an object or table name, a row (an instance
 * in the instantiated model), or null for a '{i}' of the supported model (GetSupportedDM), which any instance
 * selector may match.
 */
export type Step = string | DmObject | null;

/** Evaluates a search expression of a target on a row (the data model's own search semantics). */
export type RowMatcher = (target: CompiledTarget, row: DmObject, segment: Extract<PathSegment, { kind: 'search' }>) => boolean;

function segmentMatches(target: CompiledTarget, segment: PathSegment, step: Step, matchesRow: RowMatcher): boolean {
  switch (segment.kind) {
    case 'name':
      return step === segment.name;
    case 'instance':
      return step === null || (typeof step !== 'string' && step.instance === segment.instance);
    case 'wildcard':
      return typeof step !== 'string';
    case 'search':
      return step === null || (typeof step !== 'string' && matchesRow(target, step, segment));
    case 'follow': // refused when a target is compiled
    case 'placeholder':
      return false;
  }
}

function prefixMatches(target: CompiledTarget, steps: readonly Step[], matchesRow: RowMatcher): boolean {
  if (target.segments.length > steps.length) return false;
  for (let i = 0; i < target.segments.length; i++) if (!segmentMatches(target, target.segments[i]!, steps[i]!, matchesRow)) return false;
  return true;
}

/** The rules of one role that can decide for elements of one object (or table). */
export interface RoleAtNode {
  /** The highest-Order rule covering the object itself and all its elements (partial-path targets). */
  readonly covering: PermissionRule | undefined;
  /** Higher-Order rules naming single elements of this object, highest first. */
  readonly elements: readonly { readonly rule: PermissionRule; readonly element: string }[];
}

/** Works out, once per object, which rules of each role can apply to it and its elements. */
export function rulesAtNode(roles: readonly RoleRules[], steps: readonly Step[], matchesRow: RowMatcher): RoleAtNode[] {
  return roles.map((role) => {
    const elements: { rule: PermissionRule; element: string }[] = [];
    for (const rule of role.rules) {
      let covers = false;
      for (const target of rule.targets) {
        if (target.kind === 'partial') {
          if (prefixMatches(target, steps, matchesRow)) covers = true;
        } else if (target.segments.length === steps.length && prefixMatches(target, steps, matchesRow)) {
          elements.push({ rule, element: target.element! });
        }
      }
      // Rules are highest Order first: below a covering rule nothing can win any more.
      if (covers) return { covering: rule, elements };
    }
    return { covering: undefined, elements };
  });
}

/** The permission bits of `column` for the object itself (element undefined) or one of its elements. */
export function bitsAtNode(atNode: readonly RoleAtNode[], column: Column, element?: string): number {
  let bits = 0;
  for (const role of atNode) {
    let winner = role.covering;
    if (element !== undefined) {
      for (const candidate of role.elements) {
        if (candidate.element === element) {
          if (winner === undefined || candidate.rule.order > winner.order) winner = candidate.rule;
          break;
        }
      }
    }
    if (winner) bits |= winner.bits[column];
  }
  return bits;
}

/** Which rules decided (for denial messages): the winning rule of each role, if any. */
export function decidingRules(atNode: readonly RoleAtNode[], element?: string): PermissionRule[] {
  const out: PermissionRule[] = [];
  for (const role of atNode) {
    let winner = role.covering;
    if (element !== undefined) {
      const candidate = role.elements.find((c) => c.element === element);
      if (candidate && (winner === undefined || candidate.rule.order > winner.order)) winner = candidate.rule;
    }
    if (winner) out.push(winner);
  }
  return out;
}
