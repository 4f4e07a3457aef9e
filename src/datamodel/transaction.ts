// One data-model transaction: every change is recorded in an undo log so that a failed object (or the whole
// message, for allow_partial=false) can be rolled back exactly. Notifications and persistence happen on commit.
import type { DataModel } from './data-model.ts';
import type { DmObject, DmTable } from './instances.ts';
import type { ChangeContext } from './bindings-types.ts';
import { canonicalValue } from '../usp/values.ts';
import { resolvePath } from './resolve.ts';
import { isTable } from './instances.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';

type UndoEntry =
  | { readonly kind: 'set'; readonly obj: DmObject; readonly name: string; readonly before: string | undefined }
  | { readonly kind: 'add'; readonly table: DmTable; readonly row: DmObject; readonly nextBefore: number }
  | { readonly kind: 'delete'; readonly table: DmTable; readonly row: DmObject; readonly position: number };

/** TR-181's Alias data type: non-empty and starting with a letter (what Controllers give; 'cpe-N' is the agent's). */
const ALIAS = /^[A-Za-z]/;

/** How a value arrives: from a Controller's Set, from a Controller's Add (write-once allowed), or from the agent. */
export type WriteMode = 'set' | 'add' | 'internal';

export class Transaction {
  readonly ctx: ChangeContext;
  private readonly dm: DataModel;
  private readonly log: UndoEntry[] = [];
  private readonly onClose: () => void;
  private closed = false;

  constructor(dm: DataModel, ctx: ChangeContext, onClose: () => void) {
    this.dm = dm;
    this.ctx = ctx;
    this.onClose = onClose;
  }

  /** A point to roll back to (allow_partial: undo one failed object, keep the others). */
  savepoint(): number {
    return this.log.length;
  }

  rollbackTo(savepoint: number): void {
    while (this.log.length > savepoint) this.undo(this.log.pop()!);
  }

  /**
   * Writes a parameter after checking it exists (7010), may be written in this mode (7013) and has a valid
   * value (7011/7012). Returns the canonical value stored.
   */
  setParam(obj: DmObject, name: string, value: string, mode: WriteMode): string {
    this.assertOpen();
    const param = obj.schema.params.get(name);
    if (!param) throw new UspError(ErrorCode.UnsupportedParameter, `${obj.path}${name} is not a parameter of this object`);
    const binding = this.dm.binding(obj.schema);
    if (mode !== 'internal') {
      if (!param.writable) throw new UspError(ErrorCode.NotWritable, `${obj.path}${name} is read-only`);
      if (param.decl.access === 'writeOnceReadOnly' && mode === 'set') {
        throw new UspError(ErrorCode.NotWritable, `${obj.path}${name} can only be written when the object is created`);
      }
    } else if (!this.dm.isStored(param, binding)) {
      throw new Error(`${obj.path}${name} is computed; the agent cannot store it`);
    }
    let canonical = canonicalValue(param.spec, value);
    if (param.decl.reference === 'strong' && mode !== 'internal') canonical = this.canonicalReferences(`${obj.path}${name}`, canonical, param.decl.list ?? false);
    if (mode !== 'internal' && name === 'Alias' && !ALIAS.test(canonical)) {
      throw new UspError(ErrorCode.InvalidValue, `${obj.path}Alias: "${canonical.slice(0, 40)}" is not an Alias: it must start with a letter (TR-181 Alias)`);
    }
    if (mode === 'set' && obj.schema.decl.immutableKeys?.includes(name) && canonical !== this.dm.read(obj, name)) {
      throw new UspError(ErrorCode.NotWritable, `${obj.path}${name} is a non-functional unique key: it cannot change once the object exists (TR-369 R-KEY.1)`);
    }
    const before = obj.values.get(name);
    this.log.push({ kind: 'set', obj, name, before });
    obj.values.set(name, canonical);
    return canonical;
  }

  /**
   * Strong references must name existing objects (R-ARC.12). They may be written with unique-key addressing
   * (R-ARC.11) but are stored, and read back, with instance numbers and without the trailing dot.
   */
  private canonicalReferences(where: string, value: string, list: boolean): string {
    const items = list ? value.split(',').map((item) => item.trim()).filter((item) => item !== '') : value === '' ? [] : [value];
    const resolved = items.map((item) => {
      let target = this.dm.lookup(item);
      if (!target && item.includes('[')) {
        try {
          const nodes = resolvePath(this.dm, item.endsWith('.') ? item : `${item}.`).nodes;
          if (nodes.length === 1 && !isTable(nodes[0]!)) target = nodes[0];
        } catch {
          target = undefined;
        }
      }
      if (!target) throw new UspError(ErrorCode.InvalidValue, `${where}: '${item}' does not name an existing object`);
      return target.path.slice(0, -1);
    });
    return resolved.join(',');
  }

  /** Agent-side write of a stored parameter (read-only ones included). */
  setInternal(obj: DmObject, name: string, value: string): void {
    this.setParam(obj, name, value, 'internal');
  }

  /** Adds a row with the next instance number (or `instance` when the agent restores a known one). */
  addRow(table: DmTable, instance?: number): DmObject {
    this.assertOpen();
    const n = instance ?? table.nextInstance;
    if (table.rows.has(n)) throw new UspError(ErrorCode.ObjectNotCreated, `${table.path}${n}. already exists`);
    const nextBefore = table.nextInstance;
    const row = this.dm.instantiate(table.schema, `${table.path}${n}.`, table.parent, table, n);
    table.rows.set(n, row);
    table.nextInstance = Math.max(table.nextInstance, n + 1);
    this.log.push({ kind: 'add', table, row, nextBefore });
    if (row.schema.params.has('Alias') && this.dm.isStored(row.schema.params.get('Alias')!)) {
      // TR-181: the agent assigns an Alias when the Controller gives none; 'cpe-' marks agent-assigned ones.
      row.values.set('Alias', `cpe-${n}`);
    }
    this.dm.binding(table.schema)?.initRow?.(row, this.ctx, this);
    return row;
  }

  deleteRow(row: DmObject): void {
    this.assertOpen();
    const table = row.table;
    if (!table) throw new UspError(ErrorCode.DeleteFailure, `${row.path} is not a table row`);
    const position = [...table.rows.keys()].indexOf(row.instance!);
    table.rows.delete(row.instance!);
    this.dm.forget(row);
    this.log.push({ kind: 'delete', table, row, position });
  }

  /** Values before this transaction of the parameters changed on `obj` (for binding validation). */
  previousValues(obj: DmObject): Map<string, string | undefined> {
    const previous = new Map<string, string | undefined>();
    for (const entry of this.log) {
      if (entry.kind === 'set' && entry.obj === obj && !previous.has(entry.name)) previous.set(entry.name, entry.before);
    }
    return previous;
  }

  isNew(obj: DmObject): boolean {
    return this.log.some((entry) => entry.kind === 'add' && entry.row === obj);
  }

  /**
   * Checks an object once all its parameters of one request are applied: unique keys (7025) and the binding's
   * own rules. Throws a UspError; the caller rolls back to its savepoint.
   */
  validate(obj: DmObject): void {
    const row = obj.table ? obj : undefined;
    if (row) this.checkUniqueKeys(row);
    this.dm.binding(obj.schema)?.validate?.(obj, this.previousValues(obj), this.ctx, this.isNew(obj));
  }

  private checkUniqueKeys(row: DmObject): void {
    const table = row.table!;
    for (const keySet of row.schema.decl.uniqueKeys ?? []) {
      const mine = keySet.map((name) => this.dm.read(row, name));
      for (const other of table.rows.values()) {
        if (other === row) continue;
        if (keySet.every((name, i) => this.dm.read(other, name) === mine[i])) {
          throw new UspError(
            ErrorCode.DuplicateKey,
            `${table.path}: another row (${other.path}) already has ${keySet.map((name, i) => `${name}="${mine[i]!}"`).join(' and ')}`,
          );
        }
      }
    }
  }

  commit(): void {
    this.assertOpen();
    this.closed = true;
    this.onClose();
    const created: DmObject[] = [];
    const deleted: DmObject[] = [];
    const changed = new Map<DmObject, Map<string, string | undefined>>();
    let persistent = false;
    for (const entry of this.log) {
      if (entry.kind === 'add') {
        created.push(entry.row);
        persistent ||= this.dm.isPersistent(entry.row);
      } else if (entry.kind === 'delete') {
        const wasCreatedHere = created.indexOf(entry.row);
        if (wasCreatedHere >= 0) created.splice(wasCreatedHere, 1);
        else deleted.push(entry.row, ...descendantRows(entry.row));
        persistent ||= entry.row.schema.isPersistent;
      } else {
        if (created.includes(entry.obj.row ?? entry.obj)) continue; // a new row reports its values in ObjectCreation
        let previous = changed.get(entry.obj);
        if (!previous) changed.set(entry.obj, (previous = new Map<string, string | undefined>()));
        if (!previous.has(entry.name)) previous.set(entry.name, entry.before);
        if (entry.before !== entry.obj.values.get(entry.name)) persistent ||= this.dm.isPersistent(entry.obj);
      }
    }
    this.dm.publishCommit({ created, deleted, changed, persistent });
  }

  rollback(): void {
    if (this.closed) return;
    this.rollbackTo(0);
    this.closed = true;
    this.onClose();
  }

  private undo(entry: UndoEntry): void {
    switch (entry.kind) {
      case 'set':
        if (entry.before === undefined) entry.obj.values.delete(entry.name);
        else entry.obj.values.set(entry.name, entry.before);
        return;
      case 'add':
        entry.table.rows.delete(entry.row.instance!);
        entry.table.nextInstance = entry.nextBefore;
        this.dm.forget(entry.row);
        return;
      case 'delete': {
        const rows = [...entry.table.rows.entries()];
        rows.splice(entry.position, 0, [entry.row.instance!, entry.row]);
        entry.table.rows.clear();
        for (const [n, row] of rows) entry.table.rows.set(n, row);
        this.dm.remember(entry.row);
        return;
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('transaction already closed');
  }
}

function descendantRows(row: DmObject): DmObject[] {
  const rows: DmObject[] = [];
  const visit = (obj: DmObject): void => {
    for (const child of obj.objects.values()) visit(child);
    for (const table of obj.tables.values()) {
      for (const r of table.rows.values()) {
        rows.push(r);
        visit(r);
      }
    }
  };
  visit(row);
  return rows;
}
