// Whether a Controller may subscribe to something: a subscription to what it may not read at all (no r bit of the
// notification's column anywhere its reference names) is refused with 7006 when created. Whether it is then told
// is the n bit, checked at each notification: TP-469 2.20 creates a subscription to a readable parameter without n
// and expects it to succeed and stay silent. Permissions on instances count as if they matched: a Controller may
// subscribe to `DeploymentUnit.*.` if it may read some rows; delivery checks each.
import type { DataModel } from '../datamodel/data-model.ts';
import type { SchemaObject } from '../datamodel/schema-tree.ts';
import type { ParsedPath } from '../usp/path.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import type { Access } from './access.ts';
import { READ } from './permission-bits.ts';
import type { Column } from './permission-bits.ts';

const COLUMN_OF: Readonly<Record<string, Column>> = {
  ValueChange: 'Param',
  ObjectCreation: 'Obj',
  ObjectDeletion: 'InstantiatedObj',
  OperationComplete: 'CommandEvent',
  Event: 'CommandEvent',
};

/** Throws 7006 when `access` may read nothing a `type` notification about `reference` would carry. */
export function checkSubscribable(dm: DataModel, access: Access, type: string, reference: ParsedPath): void {
  const column = COLUMN_OF[type];
  if (column === undefined) return;
  const schema = schemaOf(dm, reference);
  if (schema === undefined) return; // reference following: what it names depends on data; delivery checks it
  const readable = (path: string, element?: string): boolean => (access.supportedBits(path, column, element) & READ) !== 0;
  const last = reference.segments[reference.segments.length - 1];
  const element = last?.kind === 'name' ? last.name : '';
  let ok: boolean;
  switch (reference.kind) {
    case 'parameter':
      ok = readable(schema.path, element);
      break;
    case 'command':
      ok = readable(schema.path, `${element}()`);
      break;
    case 'event':
      ok = readable(schema.path, `${element}!`);
      break;
    case 'object':
      ok = anyBelow(schema, (object) => {
        if (type === 'ValueChange') return [...object.params.keys()].some((name) => readable(object.path, name));
        if (type === 'OperationComplete') return [...object.commands.keys()].some((name) => readable(object.path, name));
        if (type === 'Event') return [...object.events.keys()].some((name) => readable(object.path, name));
        return object.isTable && readable(object.path);
      });
      break;
  }
  if (!ok) {
    throw new UspError(ErrorCode.PermissionDenied, `${reference.text}: permission denied: a ${type} subscription needs ${column} read there, which the Controller's roles do not grant`);
  }
}

function anyBelow(schema: SchemaObject, test: (object: SchemaObject) => boolean): boolean {
  if (test(schema)) return true;
  for (const child of schema.children.values()) if (anyBelow(child, test)) return true;
  return false;
}

/** The supported object a path's object part names (instances become '{i}'), or undefined with reference following. */
function schemaOf(dm: DataModel, path: ParsedPath): SchemaObject | undefined {
  const end = path.kind === 'object' ? path.segments.length : path.segments.length - 1;
  let schema: SchemaObject | undefined = dm.schemaRoot;
  for (let i = 1; i < end && schema; i++) {
    const segment = path.segments[i]!;
    if (segment.kind === 'follow') return undefined;
    if (segment.kind === 'name') schema = schema.children.get(segment.name);
  }
  return schema;
}
