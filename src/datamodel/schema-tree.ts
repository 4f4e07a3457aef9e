// Builds the supported data model (a tree of SchemaObjects) from the declarations in /datamodel.
// Pure: checks that every declared path has a declared parent, and turns ParamDecls into ValueSpecs.
import type { ArgDecl, CommandDecl, EventDecl, ModelDecl, ObjectDecl, ParamDecl } from './schema.ts';
import type { ValueSpec } from '../usp/values.ts';

export interface SchemaParam {
  readonly name: string;
  readonly decl: ParamDecl;
  readonly spec: ValueSpec;
  readonly object: SchemaObject;
  readonly writable: boolean;
}

export interface SchemaCommand {
  readonly name: string; // with '()'
  readonly decl: CommandDecl;
  readonly object: SchemaObject;
  readonly inputSpecs: ReadonlyMap<string, ValueSpec & { readonly mandatory: boolean; readonly default?: string }>;
}

export interface SchemaEvent {
  readonly name: string; // with '!'
  readonly decl: EventDecl;
  readonly object: SchemaObject;
}

export class SchemaObject {
  readonly path: string; // supported path: 'Device.LocalAgent.Controller.{i}.'
  readonly name: string; // 'Controller'
  readonly isTable: boolean;
  readonly parent: SchemaObject | undefined;
  readonly decl: ObjectDecl;
  readonly children = new Map<string, SchemaObject>();
  readonly params = new Map<string, SchemaParam>();
  readonly commands = new Map<string, SchemaCommand>();
  readonly events = new Map<string, SchemaEvent>();

  constructor(path: string, name: string, isTable: boolean, parent: SchemaObject | undefined, decl: ObjectDecl) {
    this.path = path;
    this.name = name;
    this.isTable = isTable;
    this.parent = parent;
    this.decl = decl;
  }

  /** Controllers may Add/Delete rows of this table. */
  get isWritableTable(): boolean {
    return this.isTable && this.decl.access === 'readWrite';
  }

  get isPersistent(): boolean {
    return this.decl.persistent ?? this.isWritableTable;
  }

  /** The supported path of the table itself, without the trailing '{i}.' ('Device.LocalAgent.Controller.'). */
  get tablePath(): string {
    return this.isTable ? this.path.slice(0, -'{i}.'.length) : this.path;
  }
}

export function toValueSpec(decl: ParamDecl | ArgDecl): ValueSpec {
  return {
    type: decl.type,
    ...(decl.list !== undefined && { list: decl.list }),
    ...(decl.enum !== undefined && { enumValues: decl.enum }),
    ...(decl.range !== undefined && { range: decl.range }),
    ...(decl.maxLength !== undefined && { maxLength: decl.maxLength }),
    ...('minLength' in decl && decl.minLength !== undefined && { minLength: decl.minLength }),
  };
}

/** Splits 'Device.LocalAgent.Controller.{i}.' into its owner path and own name, telling whether it is a table. */
function splitSupportedPath(path: string): { parentPath: string | undefined; name: string; isTable: boolean } {
  if (!path.endsWith('.')) throw new Error(`data-model declaration '${path}': object paths end with '.'`);
  const isTable = path.endsWith('.{i}.');
  const body = isTable ? path.slice(0, -'.{i}.'.length) : path.slice(0, -1);
  const cut = body.lastIndexOf('.');
  if (cut < 0) return { parentPath: undefined, name: body, isTable };
  return { parentPath: body.slice(0, cut + 1), name: body.slice(cut + 1), isTable };
}

/** Builds the schema tree; throws (at start-up) on a declaration whose parent is not declared. */
export function buildSchemaTree(model: ModelDecl): { root: SchemaObject; byPath: ReadonlyMap<string, SchemaObject> } {
  const byPath = new Map<string, SchemaObject>();
  // Parents before children: sort by depth so declaration order in files does not matter.
  const paths = Object.keys(model).sort((a, b) => a.split('.').length - b.split('.').length);
  let root: SchemaObject | undefined;
  for (const path of paths) {
    const decl = model[path]!;
    const { parentPath, name, isTable } = splitSupportedPath(path);
    let parent: SchemaObject | undefined;
    if (parentPath !== undefined) {
      parent = byPath.get(parentPath);
      if (!parent) throw new Error(`data-model declaration '${path}': its parent object '${parentPath}' is not declared`);
    } else if (root) {
      throw new Error(`data-model declaration '${path}': only one root object ('Device.') may be declared`);
    }
    const object = new SchemaObject(path, name, isTable, parent, decl);
    for (const [paramName, paramDecl] of Object.entries(decl.params ?? {})) {
      const access = paramDecl.access ?? 'readOnly';
      object.params.set(paramName, { name: paramName, decl: paramDecl, spec: toValueSpec(paramDecl), object, writable: access !== 'readOnly' });
    }
    for (const [commandName, commandDecl] of Object.entries(decl.commands ?? {})) {
      if (!commandName.endsWith('()')) throw new Error(`data-model declaration '${path}${commandName}': command names end with '()'`);
      const inputSpecs = new Map(
        Object.entries(commandDecl.input ?? {}).map(([argName, arg]) => [
          argName,
          { ...toValueSpec(arg), mandatory: arg.mandatory ?? false, ...(arg.default !== undefined && { default: arg.default }) },
        ]),
      );
      object.commands.set(commandName, { name: commandName, decl: commandDecl, object, inputSpecs });
    }
    for (const [eventName, eventDecl] of Object.entries(decl.events ?? {})) {
      if (!eventName.endsWith('!')) throw new Error(`data-model declaration '${path}${eventName}': event names end with '!'`);
      object.events.set(eventName, { name: eventName, decl: eventDecl, object });
    }
    for (const key of decl.uniqueKeys?.flat() ?? []) {
      if (!object.params.has(key)) throw new Error(`data-model declaration '${path}': unique key '${key}' is not a declared parameter`);
    }
    for (const key of decl.immutableKeys ?? []) {
      if (!decl.uniqueKeys?.some((keySet) => keySet.includes(key))) throw new Error(`data-model declaration '${path}': immutable key '${key}' is not part of a unique key`);
    }
    // Controllers can grow these tables: each must say how far (DESIGN: every resource a peer can spend is bounded).
    if (isTable && decl.access === 'readWrite' && decl.maxRows === undefined) {
      throw new Error(`data-model declaration '${path}': a table Controllers can add to needs maxRows`);
    }
    if (parent) {
      if (parent.children.has(name)) throw new Error(`data-model declaration '${path}' is declared twice`);
      parent.children.set(name, object);
    } else {
      root = object;
    }
    byPath.set(path, object);
  }
  if (!root) throw new Error('data model has no root object');
  return { root, byPath };
}
