// The audit trail: an entry for every state-changing request a Controller made (from the engine's audit hook) and
// one more when an asynchronous command it started finishes, numbered, stamped, bounded and written to the log
// before anyone is told. The two entries of one command are linked (the second's refSeq is the first's seq) and
// kept in that order, even when the command finishes before its OperateResp has gone out.
import type { RequestAudit } from '../engine/engine.ts';
import type { OperationResult } from '../engine/requests.ts';
import { utcTimestamp } from '../usp/values.ts';
import type { JsonLinesLog } from '../store/json-lines-log.ts';
import { boundEntry, completionRecord, requestRecord } from './audit-entry.ts';
import type { AuditEntry, AuditRecord } from './audit-entry.ts';
import type { Masker } from './audit-mask.ts';

/** Who started a finished command, and the Request row that tracked it. */
export interface CompletedRequest {
  readonly originator: string;
  readonly requestPath: string;
}

/** How long a finished command's entry waits for the entry of the Operate that started it (normally milliseconds). */
const OPERATE_ENTRY_WAIT_MS = 10_000;

export interface AuditTrail {
  /** The engine's audit hook: a state-changing request was answered. */
  request(audit: RequestAudit): void;
  /** An asynchronous command finished (Device.LocalAgent.Request's OperationComplete). */
  operationComplete(command: string, result: OperationResult, request: CompletedRequest): void;
  /** Called with every entry once it is written. */
  onEntry(listener: (entry: AuditEntry) => void): void;
  /** The entries on disk at start, oldest first. */
  readonly recent: readonly AuditEntry[];
  /** Writes what is still waiting and closes the log. */
  close(): void;
}

export function createAuditTrail(log: JsonLinesLog<AuditEntry>, mask: Masker, now: () => Date = () => new Date()): AuditTrail {
  const listeners: ((entry: AuditEntry) => void)[] = [];
  /** Request rows of started commands → the seq of the Operate entry (until the command finishes). */
  const operateSeq = new Map<string, number>();
  /** Commands that finished before their Operate entry was written: written right after it. */
  const early = new Map<string, { command: string; result: OperationResult; request: CompletedRequest; timer: NodeJS.Timeout }>();

  const write = (record: AuditRecord): AuditEntry => {
    const entry = log.append((seq) => boundEntry({ seq, time: utcTimestamp(now()), ...record }));
    for (const listener of listeners) listener(entry);
    return entry;
  };

  const writeCompletion = (command: string, result: OperationResult, request: CompletedRequest, refSeq: number): void => {
    write(completionRecord({ originator: request.originator, command, requestPath: request.requestPath, result, refSeq }, mask));
  };

  return {
    recent: log.recent,
    request(audit) {
      const { record, started } = requestRecord(audit, mask);
      const entry = write(record);
      for (const path of started) {
        const waiting = early.get(path);
        if (waiting) {
          clearTimeout(waiting.timer);
          early.delete(path);
          writeCompletion(waiting.command, waiting.result, waiting.request, entry.seq);
        } else {
          operateSeq.set(path, entry.seq);
        }
      }
    },
    operationComplete(command, result, request) {
      const refSeq = operateSeq.get(request.requestPath);
      if (refSeq !== undefined) {
        operateSeq.delete(request.requestPath);
        writeCompletion(command, result, request, refSeq);
        return;
      }
      // Not yet answered (the command was quicker than the write of the agent's state), or an Operate the engine
      // never reported: written unlinked if its entry does not come.
      const timer = setTimeout(() => {
        early.delete(request.requestPath);
        writeCompletion(command, result, request, 0);
      }, OPERATE_ENTRY_WAIT_MS);
      timer.unref();
      early.set(request.requestPath, { command, result, request, timer });
    },
    onEntry(listener) {
      listeners.push(listener);
    },
    close() {
      for (const [path, waiting] of early) {
        clearTimeout(waiting.timer);
        early.delete(path);
        writeCompletion(waiting.command, waiting.result, waiting.request, 0);
      }
      log.close();
    },
  };
}
