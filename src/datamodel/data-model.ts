// The live data model: the schema tree bound to handlers, the instance tree, reads, change events and
// persistence snapshots. Built by createRegistry(...).freeze() (registry.ts). Pure: no I/O here.
import { DmObject, DmTable } from './instances.ts';
import type { DmNode } from './instances.ts';
import type { SchemaCommand, SchemaObject, SchemaParam } from './schema-tree.ts';
import type { ChangeContext, CommandHandler, CommandValidator, ObjectBinding } from './bindings-types.ts';
import { Transaction } from './transaction.ts';
import { UNKNOWN_TIME } from '../usp/values.ts';
import type { ParamType } from '../usp/values.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';

/** Who hears about committed changes: subscriptions, persistence, MTP reconfiguration. */
export interface DataModelListener {
  valueChanged?(obj: DmObject, name: string, value: string): void;
  objectCreated?(row: DmObject): void;
  /** The row still holds its last values, so search expressions can be evaluated against it. */
  objectDeleted?(row: DmObject): void;
  /** `scope`: a row the event is about (e.g. the ExecEnv of a DUStateChange!); only those who may see it hear of it. */
  event?(obj: DmObject, eventName: string, args: Readonly<Record<string, string>>, scope?: DmObject): void;
  /** After every commit that changed something persistent. */
  persistentChange?(): void;
}

/** The persisted part of the data model: stored values of persistent objects and the tables' next instance numbers. */
export interface DataModelSnapshot {
  readonly version: 1;
  readonly objects: readonly { readonly path: string; readonly values: Readonly<Record<string, string>> }[];
  readonly nextInstance: Readonly<Record<string, number>>;
}

export function typeDefault(type: ParamType): string {
  switch (type) {
    case 'boolean':
      return 'false';
    case 'unsignedInt':
    case 'int':
    case 'unsignedLong':
    case 'long':
    case 'decimal':
      return '0';
    case 'dateTime':
      return UNKNOWN_TIME;
    case 'string':
    case 'base64':
    case 'hexBinary':
      return '';
  }
}

export class DataModel {
  readonly root: DmObject;
  readonly schemaRoot: SchemaObject;
  readonly schemaByPath: ReadonlyMap<string, SchemaObject>;
  readonly dataModelUri: string;
  private readonly objectBindings: ReadonlyMap<SchemaObject, ObjectBinding>;
  private readonly commandHandlers: ReadonlyMap<SchemaCommand, CommandHandler>;
  private readonly commandValidators: ReadonlyMap<SchemaCommand, CommandValidator>;
  /** Every instantiated object by instance path, for O(1) reference following and lookups. */
  private readonly index = new Map<string, DmObject>();
  private readonly listeners: DataModelListener[] = [];
  private activeTransaction: Transaction | undefined;

  constructor(options: {
    schemaRoot: SchemaObject;
    schemaByPath: ReadonlyMap<string, SchemaObject>;
    objectBindings: ReadonlyMap<SchemaObject, ObjectBinding>;
    commandHandlers: ReadonlyMap<SchemaCommand, CommandHandler>;
    commandValidators?: ReadonlyMap<SchemaCommand, CommandValidator>;
    dataModelUri: string;
  }) {
    this.schemaRoot = options.schemaRoot;
    this.schemaByPath = options.schemaByPath;
    this.objectBindings = options.objectBindings;
    this.commandHandlers = options.commandHandlers;
    this.commandValidators = options.commandValidators ?? new Map();
    this.dataModelUri = options.dataModelUri;
    this.root = this.instantiate(options.schemaRoot, 'Device.', undefined);
  }

  // ---- structure -------------------------------------------------------------------------------

  /** Creates an object with its default values, its single-instance children and its (empty) child tables. */
  instantiate(schema: SchemaObject, path: string, parent: DmObject | undefined, table?: DmTable, instance?: number): DmObject {
    const obj = new DmObject(schema, path, parent, table, instance);
    const binding = this.objectBindings.get(schema);
    for (const param of schema.params.values()) {
      if (this.isStored(param, binding)) obj.values.set(param.name, param.decl.default ?? typeDefault(param.decl.type));
    }
    for (const child of schema.children.values()) {
      if (child.isTable) obj.tables.set(child.name, new DmTable(child, obj));
      else obj.objects.set(child.name, this.instantiate(child, `${path}${child.name}.`, obj));
    }
    this.index.set(path, obj);
    return obj;
  }

  /** Removes an object and everything below it from the index. */
  forget(obj: DmObject): void {
    this.index.delete(obj.path);
    obj.deleted = true;
    for (const child of obj.objects.values()) this.forget(child);
    for (const table of obj.tables.values()) for (const row of table.rows.values()) this.forget(row);
  }

  /** Re-adds an object (and its subtree) to the index: used when a deletion is rolled back. */
  remember(obj: DmObject): void {
    this.index.set(obj.path, obj);
    obj.deleted = false;
    for (const child of obj.objects.values()) this.remember(child);
    for (const table of obj.tables.values()) for (const row of table.rows.values()) this.remember(row);
  }

  /** The object at an instance path ('Device.LocalAgent.Controller.1.'), or undefined. */
  lookup(path: string): DmObject | undefined {
    return this.index.get(path.endsWith('.') ? path : `${path}.`);
  }

  /** The table at an instance table path ('Device.LocalAgent.Controller.'), or undefined. */
  lookupTable(path: string): DmTable | undefined {
    const body = path.endsWith('.') ? path.slice(0, -1) : path;
    const cut = body.lastIndexOf('.');
    if (cut < 0) return undefined;
    return this.index.get(body.slice(0, cut + 1))?.tables.get(body.slice(cut + 1));
  }

  /** The table at a path, or throws (for bindings that know the table exists). */
  table(path: string): DmTable {
    const table = this.lookupTable(path);
    if (!table) throw new Error(`no table at '${path}'`);
    return table;
  }

  object(path: string): DmObject {
    const obj = this.lookup(path);
    if (!obj) throw new Error(`no object at '${path}'`);
    return obj;
  }

  binding(schema: SchemaObject): ObjectBinding | undefined {
    return this.objectBindings.get(schema);
  }

  commandHandler(command: SchemaCommand): CommandHandler | undefined {
    return this.commandHandlers.get(command);
  }

  /** The synchronous checks of an async command, run before its Request row is made (OperateResp cmd_failure). */
  commandValidator(command: SchemaCommand): CommandValidator | undefined {
    return this.commandValidators.get(command);
  }

  isStored(param: SchemaParam, binding = this.objectBindings.get(param.object)): boolean {
    if (binding?.get?.[param.name]) return false;
    if (isNumberOfEntries(param)) return false;
    return param.writable || (binding?.internal?.includes(param.name) ?? false);
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** A parameter's current value as a TR-106 string. Secured parameters read back as "" (TR-181). */
  read(obj: DmObject, name: string): string {
    const param = obj.schema.params.get(name);
    if (!param) throw new UspError(ErrorCode.InvalidPath, `${obj.path}${name} is not a parameter of the data model`);
    if (param.decl.secured) return '';
    return this.readRaw(obj, param);
  }

  /** The value including secured ones: for the agent's own use (e.g. MQTT password), never for a Controller. */
  readRaw(obj: DmObject, param: SchemaParam): string {
    const stored = obj.values.get(param.name);
    if (stored !== undefined) return stored;
    const getter = this.objectBindings.get(obj.schema)?.get?.[param.name];
    if (getter) return getter(obj);
    if (isNumberOfEntries(param)) return String(obj.tables.get(param.name.slice(0, -'NumberOfEntries'.length))?.rows.size ?? 0);
    return param.decl.default ?? typeDefault(param.decl.type);
  }

  /** Shorthand for bindings: value of `name` on the object at `path`. */
  get(path: string, name: string): string {
    const obj = this.object(path);
    const param = obj.schema.params.get(name);
    if (!param) throw new Error(`'${path}${name}' is not declared`);
    return this.readRaw(obj, param);
  }

  /** The row's unique keys (every key set's parameters), as GetInstances and ObjectCreation report them. */
  uniqueKeys(row: DmObject): Record<string, string> {
    const keys: Record<string, string> = {};
    for (const keySet of row.schema.decl.uniqueKeys ?? []) for (const name of keySet) keys[name] = this.read(row, name);
    return keys;
  }

  // ---- changes ---------------------------------------------------------------------------------

  addListener(listener: DataModelListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /**
   * Starts a transaction. Invariant: at most one is open at a time — the engine's serial lane guarantees it
   * for Controller requests, and agent-side updates (update()) run synchronously, so they cannot interleave.
   */
  begin(ctx: ChangeContext): Transaction {
    if (this.activeTransaction) throw new Error('a data-model transaction is already open (the serial lane was bypassed)');
    const tx = new Transaction(this, ctx, () => {
      this.activeTransaction = undefined;
    });
    this.activeTransaction = tx;
    return tx;
  }

  /**
   * Runs a change as one transaction: committed if `change` returns, rolled back (and rethrown) if it throws.
   * Agent-side by default; a Controller's request passes its originator.
   */
  update<T>(change: (tx: Transaction) => T, ctx: ChangeContext = { originator: undefined }): T {
    const tx = this.begin(ctx);
    try {
      const result = change(tx);
      tx.commit();
      return result;
    } catch (error) {
      tx.rollback();
      throw error;
    }
  }

  /** A computed parameter changed: tell ValueChange subscribers. Bindings call this; stored params notify on commit. */
  notifyValueChange(obj: DmObject, name: string): void {
    const param = obj.schema.params.get(name);
    if (!param) throw new Error(`'${obj.path}${name}' is not declared`);
    if (param.decl.volatile) return;
    this.emitValueChanged(obj, name, this.read(obj, name));
  }

  /** Emits a data-model event (e.g. 'Boot!') on an object; the arguments must be declared. */
  emitEvent(obj: DmObject, eventName: string, args: Readonly<Record<string, string>>, scope?: DmObject): void {
    const event = obj.schema.events.get(eventName);
    if (!event) throw new Error(`event '${obj.path}${eventName}' is not declared`);
    for (const listener of this.listeners) listener.event?.(obj, eventName, args, scope);
  }

  /** Called by Transaction.commit with the effective changes, in order. */
  publishCommit(changes: {
    created: readonly DmObject[];
    deleted: readonly DmObject[];
    changed: ReadonlyMap<DmObject, ReadonlyMap<string, string | undefined>>;
    persistent: boolean;
  }): void {
    for (const row of changes.deleted) {
      for (const listener of this.listeners) listener.objectDeleted?.(row);
      this.objectBindings.get(row.schema)?.onDeleted?.(row);
    }
    for (const row of changes.created) {
      for (const listener of this.listeners) listener.objectCreated?.(row);
      this.objectBindings.get(row.schema)?.onAdded?.(row);
    }
    for (const [obj, previous] of changes.changed) {
      if (obj.deleted) continue;
      const names: string[] = [];
      for (const [name, before] of previous) {
        const now = obj.values.get(name);
        if (now === before) continue;
        names.push(name);
        if (!obj.schema.params.get(name)?.decl.volatile) this.emitValueChanged(obj, name, this.read(obj, name));
      }
      if (names.length > 0) this.objectBindings.get(obj.schema)?.onChanged?.(obj, names);
    }
    if (changes.persistent) for (const listener of this.listeners) listener.persistentChange?.();
  }

  private emitValueChanged(obj: DmObject, name: string, value: string): void {
    for (const listener of this.listeners) listener.valueChanged?.(obj, name, value);
  }

  // ---- persistence -----------------------------------------------------------------------------

  /** True if the object survives restarts: it is not inside a row of a non-persistent table or a row that opts out. */
  isPersistent(obj: DmObject): boolean {
    for (let current: DmObject | undefined = obj; current; current = current.parent) {
      if (current.table) {
        if (!current.schema.isPersistent) return false;
        const persistRow: ((row: DmObject) => boolean) | undefined = this.objectBindings.get(current.schema)?.persistRow;
        if (persistRow && !persistRow(current)) return false;
      }
    }
    return true;
  }

  snapshot(): DataModelSnapshot {
    const objects: { path: string; values: Record<string, string> }[] = [];
    const nextInstance: Record<string, number> = {};
    const visit = (obj: DmObject): void => {
      if (!this.isPersistent(obj)) return;
      if (obj.values.size > 0 || obj.table) objects.push({ path: obj.path, values: Object.fromEntries(obj.values) });
      for (const child of obj.objects.values()) visit(child);
      for (const table of obj.tables.values()) {
        if (table.schema.isPersistent) nextInstance[table.path] = table.nextInstance;
        for (const row of table.rows.values()) visit(row);
      }
    };
    visit(this.root);
    return { version: 1, objects, nextInstance };
  }

  /**
   * Loads a snapshot into a fresh data model (before any binding side effects run). Values of parameters the
   * model no longer declares, and rows of tables it no longer has, are skipped and reported back.
   */
  restore(snapshot: DataModelSnapshot): string[] {
    const skipped: string[] = [];
    const sorted = [...snapshot.objects].sort((a, b) => a.path.split('.').length - b.path.split('.').length);
    for (const { path, values } of sorted) {
      let obj = this.lookup(path);
      if (!obj) obj = this.restoreRow(path);
      if (!obj) {
        skipped.push(path);
        continue;
      }
      for (const [name, value] of Object.entries(values)) {
        const param = obj.schema.params.get(name);
        if (param && this.isStored(param)) obj.values.set(name, value);
        else skipped.push(`${path}${name}`);
      }
    }
    for (const [path, next] of Object.entries(snapshot.nextInstance)) {
      const table = this.lookupTable(path);
      if (table) table.nextInstance = Math.max(table.nextInstance, next);
    }
    return skipped;
  }

  private restoreRow(path: string): DmObject | undefined {
    const match = /^(.*\.)([1-9][0-9]*)\.$/.exec(path);
    if (!match) return undefined;
    const table = this.lookupTable(match[1]!);
    if (!table) return undefined;
    const instance = Number(match[2]);
    const row = this.instantiate(table.schema, path, table.parent, table, instance);
    table.rows.set(instance, row);
    // Keep rows in instance order whatever order the snapshot listed them in.
    const ordered = [...table.rows.entries()].sort((a, b) => a[0] - b[0]);
    table.rows.clear();
    for (const [n, r] of ordered) table.rows.set(n, r);
    table.nextInstance = Math.max(table.nextInstance, instance + 1);
    return row;
  }
}

export function isNumberOfEntries(param: SchemaParam): boolean {
  return param.name.endsWith('NumberOfEntries') && param.object.children.get(param.name.slice(0, -'NumberOfEntries'.length))?.isTable === true;
}

export type { DmNode };
