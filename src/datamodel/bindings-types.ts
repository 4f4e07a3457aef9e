// What a binding attaches to a declared object or command. Bindings live in src/datamodel/bindings/.
import type { DmObject } from './instances.ts';
import type { SchemaCommand } from './schema-tree.ts';
import type { DataModel } from './data-model.ts';
import type { Transaction } from './transaction.ts';
import type { Access } from '../access/access.ts';

/** Who is changing the data model: a Controller's Endpoint ID, or undefined for the agent itself. */
export interface ChangeContext {
  readonly originator: string | undefined;
  /** The Controller's access (undefined for the agent's own changes): for checks that depend on who asks. */
  readonly access?: Access | undefined;
}

export interface ObjectBinding {
  /** Computed parameters: read from live state on every Get. */
  readonly get?: Readonly<Record<string, (obj: DmObject) => string>>;
  /** Read-only parameters the agent stores itself (written through DataModel.update / Transaction.setInternal). */
  readonly internal?: readonly string[];
  /** On Add, before the Controller's values are applied: fill agent-assigned parameters (e.g. Subscription.Recipient). */
  readonly initRow?: (row: DmObject, ctx: ChangeContext, tx: Transaction) => void;
  /**
   * Checks an added or changed object once all of one CreateObject/UpdateObject's parameters are applied.
   * `previous` holds the values before this transaction of the parameters that changed. Throw a UspError to refuse.
   */
  readonly validate?: (obj: DmObject, previous: ReadonlyMap<string, string | undefined>, ctx: ChangeContext, isNew: boolean) => void;
  /** Throw a UspError to refuse deleting this row. */
  readonly validateDelete?: (row: DmObject, ctx: ChangeContext) => void;
  /** After commit. Side effects only (reconnect, timers); the data model is consistent here. */
  readonly onAdded?: (row: DmObject) => void;
  readonly onDeleted?: (row: DmObject) => void;
  readonly onChanged?: (obj: DmObject, names: readonly string[]) => void;
  /** Whether a row is kept across restarts (default: the table's persistent flag). */
  readonly persistRow?: (row: DmObject) => boolean;
}

export interface CommandContext {
  readonly dm: DataModel;
  /** The object the command runs on (an instance, for commands of table rows). */
  readonly obj: DmObject;
  readonly command: SchemaCommand;
  /** Input arguments: checked against the declaration, defaults filled in, unknown ones dropped (R-OPR.6/7). */
  readonly args: Readonly<Record<string, string>>;
  readonly originator: string;
  /** The requesting Controller's access, for checks on arguments (e.g. the ExecEnv InstallDU() installs into). */
  readonly access?: Access | undefined;
  readonly commandKey: string;
  /** Aborted when a Controller calls Request.{i}.Cancel() (async commands only). */
  readonly signal: AbortSignal;
}

/** Runs a command. Returns output arguments; throws a UspError for a cmd_failure. */
export type CommandHandler = (ctx: CommandContext) => Promise<Record<string, string>> | Record<string, string>;

/** Synchronous checks of an async command (arguments, state): throw a UspError to refuse it in the OperateResp. */
export type CommandValidator = (ctx: CommandContext) => void;
