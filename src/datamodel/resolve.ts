// Resolves parsed USP paths against the instantiated data model: instance numbers, wildcards, search
// expressions (typed comparison) and reference following. One resolver for every message (the caller maps
// "does not exist" to the code its message uses).
import type { ParsedPath, PathSegment, RelativeSegment, SearchTerm } from '../usp/path.ts';
import { parsePath } from '../usp/path.ts';
import { matchesTerm } from '../usp/values.ts';
import type { ValueSpec } from '../usp/values.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import type { DataModel } from './data-model.ts';
import { isTable } from './instances.ts';
import type { DmNode, DmObject } from './instances.ts';
import type { SchemaObject } from './schema-tree.ts';

/** What a path resolved to: objects or tables, and for parameter/command/event paths the element name. */
export interface Resolution {
  readonly path: ParsedPath;
  readonly nodes: readonly DmNode[];
  /** Parameter name (no suffix), command name with '()' or event name with '!'; undefined for object paths. */
  readonly element: string | undefined;
}

/**
 * What the asking Controller may see (its access, see src/access/access.ts): rows it may not see are skipped by
 * wildcards and searches, search terms and reference following only use parameters it may read, and with
 * `hideRows` a row named by its instance number is reported as not existing (the read messages).
 */
export interface Visibility {
  canSeeRow(row: DmObject): boolean;
  canReadParam(obj: DmObject, name: string): boolean;
  readonly hideRows: boolean;
}

export class PathNotFoundError extends UspError {
  constructor(message: string) {
    super(ErrorCode.ObjectDoesNotExist, message);
  }
}

/**
 * Resolves `text`. Throws UspError 7008 (syntax), 7026 (not in the supported data model) or
 * PathNotFoundError (7016: a non-search path naming an instance that does not exist). A search path that
 * matches nothing resolves to no nodes (R-MSG.4a).
 */
export function resolvePath(dm: DataModel, text: string, visibility?: Visibility): Resolution {
  const path = parsePath(text);
  return resolveParsed(dm, path, visibility);
}

export function resolveParsed(dm: DataModel, path: ParsedPath, visibility?: Visibility): Resolution {
  const segments = path.segments;
  const first = segments[0];
  if (first?.kind !== 'name' || first.name !== dm.root.schema.name) {
    throw new UspError(ErrorCode.InvalidPath, `${path.text}: paths start with '${dm.root.schema.name}.'`);
  }
  const objectEnd = path.kind === 'object' ? segments.length : segments.length - 1;
  let nodes: DmNode[] = [dm.root];
  for (let i = 1; i < objectEnd; i++) {
    nodes = step(dm, path, nodes, segments[i]!, visibility);
  }
  if (path.kind === 'object') return { path, nodes, element: undefined };
  const leaf = segments[segments.length - 1]!;
  if (leaf.kind !== 'name') throw new UspError(ErrorCode.InvalidPath, `${path.text}: expected a name at the end`);
  const element = path.kind === 'command' ? `${leaf.name}()` : path.kind === 'event' ? `${leaf.name}!` : leaf.name;
  const schema = schemaOfNodes(dm, path, nodes);
  if (schema) assertElement(path, schema, element);
  for (const node of nodes) {
    if (isTable(node)) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${node.path}' is a table; name an instance first`);
  }
  return { path, nodes, element };
}

function schemaOfNodes(dm: DataModel, path: ParsedPath, nodes: readonly DmNode[]): SchemaObject | undefined {
  if (nodes.length > 0) return nodes[0]!.schema;
  // Nothing matched (search): still check the element exists in the supported model by walking the schema.
  let schema: SchemaObject | undefined = dm.root.schema;
  const end = path.kind === 'object' ? path.segments.length : path.segments.length - 1;
  for (let i = 1; i < end && schema; i++) {
    const segment = path.segments[i]!;
    if (segment.kind === 'name') schema = schema.children.get(segment.name);
    else if (segment.kind === 'follow') return undefined; // the target type depends on data: nothing more to check
  }
  return schema;
}

function assertElement(path: ParsedPath, schema: SchemaObject, element: string): void {
  const known =
    path.kind === 'command' ? schema.commands.has(element) : path.kind === 'event' ? schema.events.has(element) : schema.params.has(element);
  if (!known) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${element}' is not in the supported data model of ${schema.path}`);
}

function step(dm: DataModel, path: ParsedPath, nodes: readonly DmNode[], segment: PathSegment, visibility: Visibility | undefined): DmNode[] {
  const visible = (row: DmObject): boolean => visibility === undefined || visibility.canSeeRow(row);
  const next: DmNode[] = [];
  for (const node of nodes) {
    switch (segment.kind) {
      case 'name': {
        if (isTable(node)) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${node.path}' is a table; an instance must follow it`);
        const child = node.objects.get(segment.name) ?? node.tables.get(segment.name);
        if (!child) {
          const what = node.schema.params.has(segment.name) ? 'a parameter, not an object' : 'not in the supported data model';
          throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${node.path}${segment.name}' is ${what}`);
        }
        next.push(child);
        break;
      }
      case 'instance': {
        if (!isTable(node)) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${node.path}' is not a table`);
        const row = node.rows.get(segment.instance);
        if (row && (visible(row) || visibility?.hideRows === false)) next.push(row);
        else if (!path.isSearch) throw new PathNotFoundError(`${path.text}: ${node.path}${segment.instance}. does not exist`);
        break;
      }
      case 'wildcard': {
        if (!isTable(node)) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '*' follows '${node.path}', which is not a table`);
        for (const row of node.rows.values()) if (visible(row)) next.push(row);
        break;
      }
      case 'search': {
        if (!isTable(node)) throw new UspError(ErrorCode.InvalidPath, `${path.text}: a search expression follows '${node.path}', which is not a table`);
        for (const row of node.rows.values()) if (visible(row) && rowMatches(dm, path, row, segment.terms, visibility)) next.push(row);
        break;
      }
      case 'follow': {
        if (isTable(node)) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${node.path}' is a table; an instance must follow it`);
        if (visibility && !visibility.canReadParam(node, segment.name)) break;
        for (const target of followReference(dm, path, node, segment.name, segment.item)) if (visible(target) || !target.table) next.push(target);
        break;
      }
      case 'placeholder':
        throw new UspError(ErrorCode.InvalidPathSyntax, `${path.text}: '{i}' is only valid in GetSupportedDM paths`);
    }
  }
  return next;
}

/** Dereferences a reference parameter (Ref+, Ref#n+, Ref#*+) to the objects it names. Dangling references are skipped. */
function followReference(dm: DataModel, path: ParsedPath, obj: DmObject, name: string, item: number | '*'): DmObject[] {
  const param = obj.schema.params.get(name);
  if (!param) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${obj.path}${name}' is not a parameter`);
  if (!param.decl.reference) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${obj.path}${name}' is not a reference parameter`);
  const value = dm.read(obj, name);
  const items = param.decl.list ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : value === '' ? [] : [value];
  const chosen = item === '*' ? items : items[item - 1] === undefined ? [] : [items[item - 1]!];
  const targets: DmObject[] = [];
  for (const reference of chosen) {
    const target = dm.lookup(reference);
    if (target) targets.push(target);
  }
  return targets;
}

/** Evaluates a search expression on a row: every term must hold (only && exists in USP). */
export function rowMatches(dm: DataModel, path: ParsedPath, row: DmObject, terms: readonly SearchTerm[], visibility?: Visibility): boolean {
  for (const term of terms) {
    const values = termValues(dm, path, row, term.path);
    if (values.spec === undefined) return false;
    // A search may only test what the Controller may read: otherwise it could find hidden values out by bisection.
    if (visibility && !values.objects.every((obj) => visibility.canReadParam(obj, values.name))) return false;
    if (!values.objects.some((obj) => matchesTerm(values.spec!, dm.read(obj, values.name), term.op, term.value, term.quoted))) return false;
  }
  return true;
}

function termValues(
  dm: DataModel,
  path: ParsedPath,
  row: DmObject,
  relative: readonly RelativeSegment[],
): { objects: DmObject[]; name: string; spec: ValueSpec | undefined } {
  let objects: DmObject[] = [row];
  for (let i = 0; i < relative.length - 1; i++) {
    const segment = relative[i]!;
    const nextObjects: DmObject[] = [];
    for (const obj of objects) {
      if (segment.kind === 'follow') {
        nextObjects.push(...followReference(dm, path, obj, segment.name, segment.item));
      } else {
        const child = obj.objects.get(segment.name);
        if (!child) {
          const reason = obj.tables.has(segment.name) ? 'a search expression may not descend into a table' : 'no such object';
          throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${segment.name}' in a search expression: ${reason}`);
        }
        nextObjects.push(child);
      }
    }
    objects = nextObjects;
  }
  const last = relative[relative.length - 1]!;
  if (last.kind !== 'name') throw new UspError(ErrorCode.InvalidPathSyntax, `${path.text}: a search expression must end with a parameter`);
  const schema = objects[0]?.schema;
  if (!schema) return { objects, name: last.name, spec: undefined };
  const param = schema.params.get(last.name);
  if (!param) throw new UspError(ErrorCode.InvalidPath, `${path.text}: '${last.name}' in a search expression is not a parameter of ${schema.path}`);
  return { objects, name: last.name, spec: param.spec };
}

/** Every object at and below `obj` (depth-first, parents before children), limited by `maxDepth` (1 = obj only, 0 = all). */
export function collectSubtree(obj: DmObject, maxDepth: number, out: DmObject[] = [], depth = 1): DmObject[] {
  out.push(obj);
  if (maxDepth !== 0 && depth >= maxDepth) return out;
  for (const child of obj.objects.values()) collectSubtree(child, maxDepth, out, depth + 1);
  for (const table of obj.tables.values()) for (const row of table.rows.values()) collectSubtree(row, maxDepth, out, depth + 1);
  return out;
}

/** Turns an instance path into its supported path: 'Device.X.3.Y.' → 'Device.X.{i}.Y.'. */
export function toSupportedPath(instancePath: string): string {
  return instancePath.replace(/\.[1-9][0-9]*\./g, '.{i}.').replace(/\.[1-9][0-9]*\./g, '.{i}.');
}
