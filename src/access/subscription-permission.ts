// Whether a Controller may subscribe to something (TR-369 §Subscription creation): a subscription whose
// reference it could never be notified about (no n bit of the notification's column anywhere it names) is refused
// with 7006 when created, instead of silently never firing. Permissions on instances count as if they matched:
// a Controller may subscribe to `DeploymentUnit.*.` if it may be told about some rows; delivery then checks each.
import type { DataModel } from '../datamodel/data-model.ts';
import type { SchemaObject } from '../datamodel/schema-tree.ts';
import type { ParsedPath } from '../usp/path.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import type { Access } from './access.ts';
import { NOTIFY } from './permission-bits.ts';
import type { Column } from './permission-bits.ts';

const COLUMN_OF: Readonly<Record<string, Column>> = {
  ValueChange: 'Param',
  ObjectCreation: 'Obj',
  ObjectDeletion: 'InstantiatedObj',
  OperationComplete: 'CommandEvent',
  Event: 'CommandEvent',
};

/** Throws 7006 when `access` can never be notified of a `type` notification about `reference`. */
export function checkSubscribable(dm: DataModel, access: Access, type: string, reference: ParsedPath): void {
  const column = COLUMN_OF[type];
  if (column === undefined) return;
  const schema = schemaOf(dm, reference);
  if (schema === undefined) return; // reference following: what it names depends on data; delivery checks it
  const notifiable = (path: string, element?: string): boolean => (access.supportedBits(path, column, element) & NOTIFY) !== 0;
  const last = reference.segments[reference.segments.length - 1];
  const element = last?.kind === 'name' ? last.name : '';
  let ok: boolean;
  switch (reference.kind) {
    case 'parameter':
      ok = notifiable(schema.path, element);
      break;
    case 'command':
      ok = notifiable(schema.path, `${element}()`);
      break;
    case 'event':
      ok = notifiable(schema.path, `${element}!`);
      break;
    case 'object':
      ok = anyBelow(schema, (object) => {
        if (type === 'ValueChange') return [...object.params.keys()].some((name) => notifiable(object.path, name));
        if (type === 'OperationComplete') return [...object.commands.keys()].some((name) => notifiable(object.path, name));
        if (type === 'Event') return [...object.events.keys()].some((name) => notifiable(object.path, name));
        return object.isTable && notifiable(object.path);
      });
      break;
  }
  if (!ok) {
    throw new UspError(ErrorCode.PermissionDenied, `${reference.text}: permission denied: a ${type} subscription needs ${column} notify there, which the Controller's roles do not grant`);
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
