// One entry of ControllerTrust.Role.{i}.Permission.{i}.Targets, compiled for matching (TR-181 Targets):
// * a partial path ('Device.LocalAgent.', also written without the trailing dot as in TR-369's own examples)
//   covers that object and everything below it;
// * an object-instance path ('Device.LocalAgent.Controller.2.') covers that row and everything below it;
// * wildcards and search expressions ('Device.SoftwareModules.DeploymentUnit.[ExecutionEnvRef=="…"].') cover every
//   row they match, evaluated against the row's current values each time a permission is checked;
// * a parameter, command or event path covers only that element.
// Reference following is not allowed in a target (what it names would change with data the target does not show).
import { parsePath } from '../usp/path.ts';
import type { ParsedPath, PathSegment } from '../usp/path.ts';
import { ErrorCode, UspError, toUspMessage } from '../usp/errors.ts';
import type { SchemaObject } from '../datamodel/schema-tree.ts';

export type TargetKind = 'partial' | 'parameter' | 'command' | 'event';

export interface CompiledTarget {
  readonly text: string;
  readonly kind: TargetKind;
  /** The object part, without the leading 'Device' segment. */
  readonly segments: readonly PathSegment[];
  /** For element targets: 'Enable', 'Reboot()', 'Boot!'. */
  readonly element: string | undefined;
  /** The parsed path (for search-expression evaluation and messages). */
  readonly path: ParsedPath;
  /** True when matching needs the data (instance numbers, wildcards, searches). */
  readonly instanceSpecific: boolean;
}

/** Compiles one Targets entry against the supported data model; throws UspError 7012 naming what is wrong. */
export function compileTarget(schemaRoot: SchemaObject, entry: string): CompiledTarget {
  const text = entry.trim();
  let path: ParsedPath;
  try {
    path = parsePath(text === schemaRoot.name ? `${text}.` : text);
  } catch (error) {
    throw new UspError(ErrorCode.InvalidValue, `Targets entry '${text}' is not a valid path: ${toUspMessage(error)}`);
  }
  const first = path.segments[0];
  if (first?.kind !== 'name' || first.name !== schemaRoot.name) throw new UspError(ErrorCode.InvalidValue, `Targets entry '${text}' must start with '${schemaRoot.name}.'`);
  if (path.segments.some((segment) => segment.kind === 'follow')) {
    throw new UspError(ErrorCode.InvalidValue, `Targets entry '${text}': reference following ('+') is not allowed in a permission target`);
  }
  // 'Device.LocalAgent' (no trailing dot) parses as a parameter path; if it names an object it is a partial path.
  if (path.kind === 'parameter') {
    const { schema: objectSchema } = walkSchema(schemaRoot, path.segments.slice(1, -1), text);
    const last = path.segments[path.segments.length - 1] as { name: string };
    if (objectSchema.children.has(last.name)) path = parsePath(`${text}.`);
  }
  const objectSegments = path.kind === 'object' ? path.segments.slice(1) : path.segments.slice(1, -1);
  const { schema: objectSchema, atTable } = walkSchema(schemaRoot, objectSegments, text);
  if (atTable && path.kind !== 'object') throw new UspError(ErrorCode.InvalidValue, `Targets entry '${text}': ${objectSchema.tablePath} is a table; an instance number, '*' or a search expression must follow it`);
  let element: string | undefined;
  if (path.kind !== 'object') {
    const name = (path.segments[path.segments.length - 1] as { name: string }).name;
    element = path.kind === 'command' ? `${name}()` : path.kind === 'event' ? `${name}!` : name;
    const known = path.kind === 'command' ? objectSchema.commands.has(element) : path.kind === 'event' ? objectSchema.events.has(element) : objectSchema.params.has(element);
    if (!known) throw new UspError(ErrorCode.InvalidValue, `Targets entry '${text}': ${objectSchema.path} has no ${path.kind} '${element}'`);
  }
  return {
    text,
    kind: path.kind === 'object' ? 'partial' : path.kind,
    segments: objectSegments,
    element,
    path,
    instanceSpecific: objectSegments.some((segment) => segment.kind !== 'name'),
  };
}

/** Follows object segments through the schema; an instance, wildcard or search must come right after a table. */
function walkSchema(root: SchemaObject, segments: readonly PathSegment[], text: string): { schema: SchemaObject; atTable: boolean } {
  let schema = root;
  let expectInstance = false;
  for (const segment of segments) {
    if (segment.kind === 'name') {
      if (expectInstance) throw new UspError(ErrorCode.InvalidValue, `Targets entry '${text}': ${schema.tablePath} is a table; an instance number, '*' or a search expression must follow it`);
      const child = schema.children.get(segment.name);
      if (!child) throw new UspError(ErrorCode.InvalidValue, `Targets entry '${text}': ${schema.path}${segment.name}. is not in the supported data model`);
      schema = child;
      expectInstance = child.isTable;
    } else {
      if (!expectInstance) throw new UspError(ErrorCode.InvalidValue, `Targets entry '${text}': an instance selector follows ${schema.path}, which is not a table`);
      expectInstance = false;
    }
  }
  return { schema, atTable: expectInstance };
}
