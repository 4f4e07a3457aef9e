// The shape of data-model declarations (the files in /datamodel). Declarations say what TR-181 defines:
// types, access, enums, defaults, unique keys, commands and events. Behaviour is bound separately (bindings/);
// a `note` says in a sentence what berth does with the element beyond TR-181's words, for the data-model
// reference (docs/data-model.md, generated from these declarations).
import type { ParamType } from '../usp/values.ts';

export type ParamAccess = 'readOnly' | 'readWrite' | 'writeOnceReadOnly';

export interface ParamDecl {
  readonly type: ParamType;
  readonly access?: ParamAccess; // default readOnly
  readonly list?: boolean;
  readonly enum?: readonly string[];
  readonly range?: { readonly min?: number | bigint; readonly max?: number | bigint };
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly default?: string;
  /** TR-181 "secured": reads back as "" (passwords). */
  readonly secured?: boolean;
  /** TR-181 reference target (documentation and reference following). */
  readonly reference?: 'strong' | 'weak';
  /** Values that change constantly (UpTime, counters): GSDM reports VALUE_CHANGE_WILL_IGNORE and no ValueChange is sent. */
  readonly volatile?: boolean;
  /** What berth does with it beyond TR-181's definition, for docs/data-model.md. */
  readonly note?: string;
}

export interface ArgDecl {
  readonly type: ParamType;
  readonly list?: boolean;
  readonly mandatory?: boolean;
  readonly enum?: readonly string[];
  readonly range?: { readonly min?: number | bigint; readonly max?: number | bigint };
  readonly maxLength?: number;
  readonly default?: string;
  /** What berth does with it beyond TR-181's definition, for docs/data-model.md. */
  readonly note?: string;
}

export interface CommandDecl {
  readonly async: boolean;
  readonly input?: Readonly<Record<string, ArgDecl>>;
  readonly output?: Readonly<Record<string, ArgDecl>>;
  /** What berth does with it beyond TR-181's definition, for docs/data-model.md. */
  readonly note?: string;
}

export interface EventDecl {
  readonly args?: Readonly<Record<string, ArgDecl>>;
  /** What berth does with it beyond TR-181's definition, for docs/data-model.md. */
  readonly note?: string;
}

/**
 * One object of the supported data model, keyed by its supported path ('Device.LocalAgent.Controller.{i}.').
 * A path ending in '{i}.' is a table. `access` for tables: readWrite = Controllers may Add and Delete rows.
 */
export interface ObjectDecl {
  readonly access?: 'readOnly' | 'readWrite';
  readonly uniqueKeys?: readonly (readonly string[])[];
  readonly enableParameter?: string;
  readonly params?: Readonly<Record<string, ParamDecl>>;
  readonly commands?: Readonly<Record<string, CommandDecl>>;
  readonly events?: Readonly<Record<string, EventDecl>>;
  /** Rows of this table are kept across restarts (default true for readWrite tables, false otherwise). */
  readonly persistent?: boolean;
  /**
   * berth's bound on the rows of this table (of each instance, for a nested table): an Add beyond it fails with
   * 7005 Resources exceeded. Every writable table has one, so no Controller can grow the state without limit.
   */
  readonly maxRows?: number;
  /**
   * Parameters of a non-functional unique key (TR-181 `functional="false"`) that a Controller may write: TR-369
   * R-KEY.1 forbids changing them once the row exists, so Set may only repeat the current value.
   */
  readonly immutableKeys?: readonly string[];
  /** What berth does with it beyond TR-181's definition, for docs/data-model.md. */
  readonly note?: string;
}

export type ModelDecl = Readonly<Record<string, ObjectDecl>>;

/** Identity for declaration files: keeps literal paths type-checked as a ModelDecl. */
export function defineModel<T extends ModelDecl>(model: T): T {
  return model;
}
