// Asynchronous commands and Device.LocalAgent.Request.{i} (TR-369 §Operate, reference §2.11): a row per
// running command (Requested → Active → Success/Error, or Canceling → Canceled), OperationComplete when it
// ends, then the row is removed. Commands run off the serial lane; their data-model changes go through
// DataModel.update(), which is synchronous, so they never interleave with a Controller's transaction.
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { SchemaCommand } from '../datamodel/schema-tree.ts';
import type { CommandContext } from '../datamodel/bindings-types.ts';
import { ErrorCode, UspError } from '../usp/errors.ts';
import { toUspFailure } from '../usp/usp-failure.ts';
import type { Access } from '../access/access.ts';
import type { Logger } from '../log.ts';

export const REQUEST_TABLE = 'Device.LocalAgent.Request.';
/** Asynchronous commands one Controller may have running at once; one more fails with 7005 (cmd_failure). */
export const MAX_REQUESTS_PER_CONTROLLER = 32;
/** All asynchronous commands running at once (rows of Device.LocalAgent.Request.). */
export const MAX_REQUESTS = 256;

export type OperationResult = { readonly outputArgs: Readonly<Record<string, string>> } | { readonly errCode: number; readonly errMsg: string };

export interface OperationCompleteListener {
  /** `requestPath`: the command's Request row (gone once the listeners have run). */
  (obj: DmObject, commandName: string, commandKey: string, result: OperationResult, originator: string, requestPath: string): void;
}

export interface StartRequest {
  readonly obj: DmObject;
  readonly command: SchemaCommand;
  readonly args: Readonly<Record<string, string>>;
  readonly originator: string;
  /** The requesting Controller's access when the command was accepted (its argument checks use it again). */
  readonly access?: Access | undefined;
  readonly commandKey: string;
}

export interface RequestManager {
  /** Creates the Request row and starts the command in the background; returns the row's path. */
  start(request: StartRequest): string;
  /** Request.{i}.Cancel(): asks the running command to stop (its handler sees the AbortSignal). */
  cancel(row: DmObject): void;
  /** Resolves when every running command has finished (used at shutdown and in tests). */
  settled(): Promise<void>;
  onOperationComplete(listener: OperationCompleteListener): void;
}

export function createRequestManager(dm: DataModel, logger: Logger): RequestManager {
  const running = new Map<DmObject, { controller: AbortController; promise: Promise<void> }>();
  const listeners: OperationCompleteListener[] = [];

  const setStatus = (row: DmObject, status: string): void => {
    if (!row.deleted) dm.update((tx) => { tx.setInternal(row, 'Status', status); });
  };

  const finish = (row: DmObject, request: StartRequest, result: OperationResult): void => {
    // Tell subscribers first, then remove the row: a Controller polling the row never sees it vanish silently.
    for (const listener of listeners) {
      try {
        listener(request.obj, request.command.name, request.commandKey, result, request.originator, row.path);
      } catch (error) {
        logger.error({ err: error }, 'OperationComplete listener failed');
      }
    }
    if (!row.deleted) dm.update((tx) => { tx.deleteRow(row); });
  };

  const run = async (row: DmObject, request: StartRequest, abort: AbortController): Promise<void> => {
    const handler = dm.commandHandler(request.command);
    await Promise.resolve(); // let the OperateResp go out before the command starts
    let result: OperationResult;
    try {
      if (!handler) throw new UspError(ErrorCode.CommandFailure, `${request.command.name} has no handler`);
      setStatus(row, 'Active');
      const context: CommandContext = {
        dm,
        obj: request.obj,
        command: request.command,
        args: request.args,
        originator: request.originator,
        access: request.access,
        commandKey: request.commandKey,
        signal: abort.signal,
      };
      const outputArgs = await handler(context);
      if (abort.signal.aborted) throw new UspError(ErrorCode.CommandCanceled, `${request.command.name} was canceled`);
      setStatus(row, 'Success');
      result = { outputArgs };
    } catch (error) {
      const canceled = abort.signal.aborted;
      setStatus(row, canceled ? 'Canceled' : 'Error');
      if (canceled) {
        result = { errCode: ErrorCode.CommandCanceled, errMsg: `${request.obj.path}${request.command.name} was canceled` };
      } else {
        const failure = toUspFailure(error, logger, { command: `${request.obj.path}${request.command.name}`, request: row.path }, ErrorCode.CommandFailure);
        result = { errCode: failure.code, errMsg: failure.message };
      }
    }
    finish(row, request, result);
  };

  return {
    start(request) {
      const table = dm.table(REQUEST_TABLE);
      // Rows of running commands are state a Controller makes the agent keep (a ScheduleTimer() can wait for years).
      let mine = 0;
      for (const started of running.keys()) if (dm.read(started, 'Originator') === request.originator) mine += 1;
      if (mine >= MAX_REQUESTS_PER_CONTROLLER) {
        throw new UspError(ErrorCode.ResourcesExceeded, `${mine} asynchronous commands of this Controller are running, the most it may have; wait for one to complete or cancel one`);
      }
      if (running.size >= MAX_REQUESTS) throw new UspError(ErrorCode.ResourcesExceeded, `${running.size} asynchronous commands are running, the most this agent keeps`);
      const row = dm.update((tx) => {
        const created = tx.addRow(table);
        tx.setInternal(created, 'Originator', request.originator);
        tx.setInternal(created, 'Command', `${request.obj.path}${request.command.name}`);
        tx.setInternal(created, 'CommandKey', request.commandKey);
        tx.setInternal(created, 'Status', 'Requested');
        return created;
      });
      const abort = new AbortController();
      const promise = run(row, request, abort).finally(() => running.delete(row));
      running.set(row, { controller: abort, promise });
      return row.path;
    },
    cancel(row) {
      const entry = running.get(row);
      if (!entry) throw new UspError(ErrorCode.CommandFailure, `${row.path} is not running`);
      if (entry.controller.signal.aborted) return;
      setStatus(row, 'Canceling');
      entry.controller.abort(new UspError(ErrorCode.CommandCanceled, 'canceled by Request.Cancel()'));
    },
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running.values()].map((entry) => entry.promise));
    },
    onOperationComplete(listener) {
      listeners.push(listener);
    },
  };
}
