// Does a subscription's reference path cover a concrete data-model element? Used for every notification
// type. Matching walks the pattern and the element's own instance path side by side, evaluating search
// expressions on the element's ancestors — so it also works for rows that were just deleted.
import type { ParsedPath, PathSegment } from '../usp/path.ts';
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { resolveParsed, rowMatches } from '../datamodel/resolve.ts';

interface ConcreteSegment {
  readonly segment: { kind: 'name'; name: string } | { kind: 'instance'; instance: number };
  /** The row, for instance segments (search expressions are evaluated on it). */
  readonly row: DmObject | undefined;
}

export function concreteSegments(obj: DmObject): ConcreteSegment[] {
  const chain: DmObject[] = [];
  for (let current: DmObject | undefined = obj; current; current = current.parent) chain.push(current);
  chain.reverse();
  const out: ConcreteSegment[] = [];
  for (const each of chain) {
    out.push({ segment: { kind: 'name', name: each.schema.name }, row: undefined });
    if (each.table) out.push({ segment: { kind: 'instance', instance: each.instance! }, row: each });
  }
  return out;
}

function segmentMatches(dm: DataModel, pattern: ParsedPath, want: PathSegment, have: ConcreteSegment): boolean {
  switch (want.kind) {
    case 'name':
      return have.segment.kind === 'name' && have.segment.name === want.name;
    case 'instance':
      return have.segment.kind === 'instance' && have.segment.instance === want.instance;
    case 'wildcard':
      return have.segment.kind === 'instance';
    case 'search':
      try {
        return have.segment.kind === 'instance' && have.row !== undefined && rowMatches(dm, pattern, have.row, want.terms);
      } catch {
        return false; // an expression that cannot be evaluated on this row (e.g. type mismatch) does not match
      }
    case 'follow':
    case 'placeholder':
      return false;
  }
}

/**
 * True if `pattern` covers `obj` (object patterns cover everything below them) or, when `element` is given
 * ('Name', 'Cmd()', 'Evt!'), that element of `obj`.
 */
export function patternCovers(dm: DataModel, pattern: ParsedPath, obj: DmObject, element?: string): boolean {
  if (pattern.segments.some((s) => s.kind === 'follow')) return coversByResolving(dm, pattern, obj, element);
  const have = concreteSegments(obj);
  if (pattern.kind === 'object') {
    if (pattern.segments.length > have.length) return false;
    return pattern.segments.every((want, i) => segmentMatches(dm, pattern, want, have[i]!));
  }
  if (element === undefined) return false;
  const objectSegments = pattern.segments.length - 1;
  if (objectSegments !== have.length) return false;
  const leaf = pattern.segments[objectSegments]!;
  const leafName = leaf.kind === 'name' ? leaf.name : '';
  const wanted = pattern.kind === 'command' ? `${leafName}()` : pattern.kind === 'event' ? `${leafName}!` : leafName;
  if (wanted !== element) return false;
  for (let i = 0; i < objectSegments; i++) if (!segmentMatches(dm, pattern, pattern.segments[i]!, have[i]!)) return false;
  return true;
}

/**
 * ObjectCreation / ObjectDeletion: does `pattern` name this row, either as the table it is in
 * ('Device.LocalAgent.Controller.') or as the row itself ('...Controller.*.', '...Controller.[EndpointID=="x"].')?
 * Rows of tables nested below are not covered: their creation or deletion is reported to subscriptions on them.
 */
export function patternNamesRow(dm: DataModel, pattern: ParsedPath, row: DmObject): boolean {
  if (pattern.kind !== 'object') return false;
  if (pattern.segments.some((s) => s.kind === 'follow')) {
    try {
      const nodes = resolveParsed(dm, pattern).nodes;
      return nodes.includes(row) || (row.table !== undefined && nodes.includes(row.table));
    } catch {
      return false;
    }
  }
  const have = concreteSegments(row);
  const length = pattern.segments.length;
  if (length !== have.length && length !== have.length - 1) return false;
  return pattern.segments.every((want, i) => segmentMatches(dm, pattern, want, have[i]!));
}

/** Reference following depends on live values: resolve the pattern now and look for obj (or an ancestor). */
function coversByResolving(dm: DataModel, pattern: ParsedPath, obj: DmObject, element?: string): boolean {
  let resolution;
  try {
    resolution = resolveParsed(dm, pattern);
  } catch {
    return false;
  }
  if (pattern.kind !== 'object') return resolution.element === element && resolution.nodes.includes(obj);
  for (let current: DmObject | undefined = obj; current; current = current.parent) {
    if (resolution.nodes.includes(current) || (current.table && resolution.nodes.includes(current.table))) return true;
  }
  return false;
}
