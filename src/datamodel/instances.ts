// The instantiated data model: objects (single-instance objects and table rows) and tables, as a tree.
// Stored parameter values are kept as TR-106 strings; computed ones come from bindings (see registry.ts).
import type { SchemaObject } from './schema-tree.ts';

export class DmTable {
  readonly schema: SchemaObject; // the row schema ('...Controller.{i}.')
  readonly path: string; // instance path of the table: 'Device.LocalAgent.Controller.'
  readonly parent: DmObject;
  readonly rows = new Map<number, DmObject>();
  nextInstance = 1;

  constructor(schema: SchemaObject, parent: DmObject) {
    this.schema = schema;
    this.parent = parent;
    this.path = `${parent.path}${schema.name}.`;
  }

  /** Rows in instance-number order (instance numbers only grow, and Map keeps insertion order). */
  sortedRows(): DmObject[] {
    return [...this.rows.values()];
  }
}

export class DmObject {
  readonly schema: SchemaObject;
  readonly path: string; // 'Device.LocalAgent.' or 'Device.LocalAgent.Controller.3.'
  readonly parent: DmObject | undefined;
  readonly table: DmTable | undefined; // set for table rows
  readonly instance: number | undefined; // set for table rows
  readonly values = new Map<string, string>();
  readonly objects = new Map<string, DmObject>(); // single-instance children by name
  readonly tables = new Map<string, DmTable>(); // child tables by name
  /** Set once the row is deleted, so late callbacks (async commands) can tell. */
  deleted = false;

  constructor(schema: SchemaObject, path: string, parent: DmObject | undefined, table?: DmTable, instance?: number) {
    this.schema = schema;
    this.path = path;
    this.parent = parent;
    this.table = table;
    this.instance = instance;
  }

  /** The nearest enclosing table row (itself if it is one), or undefined for objects outside tables. */
  get row(): DmObject | undefined {
    return this.table ? this : this.parent?.row;
  }
}

export type DmNode = DmObject | DmTable;

export function isTable(node: DmNode): node is DmTable {
  return node instanceof DmTable;
}
