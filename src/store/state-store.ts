// The agent's persisted state (data-model snapshot and bookkeeping) in one JSON file under dataDir.
// Saves are serialized and coalesced: a burst of changes costs one write of the newest state, and
// save() resolves only once a write that includes the caller's state is on disk.
import { join } from 'node:path';
import { readdir, rm } from 'node:fs/promises';
import { readFileIfExists, writeFileAtomic } from './atomic-file.ts';

export interface StateStore<T> {
  load(): Promise<T | undefined>;
  /** Persists `state`; resolves when it (or a newer state) is durably on disk. */
  save(state: T): Promise<void>;
  readonly path: string;
}

export function createJsonStateStore<T>(dataDir: string, fileName = 'state.json'): StateStore<T> {
  const path = join(dataDir, fileName);
  let pending: { state: T; waiters: { resolve: () => void; reject: (error: unknown) => void }[] } | undefined;
  let writing: Promise<void> | undefined;

  const drain = async (): Promise<void> => {
    while (pending) {
      const batch = pending;
      pending = undefined;
      try {
        await writeFileAtomic(path, `${JSON.stringify(batch.state, null, 1)}\n`);
        for (const waiter of batch.waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of batch.waiters) waiter.reject(error);
      }
    }
    writing = undefined;
  };

  return {
    path,
    async load() {
      // Leftover temp files are from a write cut short by a crash: the target file is still whole.
      const leftovers = (await readdir(dataDir).catch(() => [] as string[])).filter((name) => name.startsWith(`.${fileName}.`) && name.endsWith('.tmp'));
      await Promise.all(leftovers.map((name) => rm(join(dataDir, name), { force: true })));
      const text = await readFileIfExists(path);
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new Error(`state file ${path} is not valid JSON (${(error as Error).message}); move it away to start from the config`, { cause: error });
      }
    },
    save(state) {
      return new Promise<void>((resolve, reject) => {
        if (pending) {
          pending.state = state;
          pending.waiters.push({ resolve, reject });
        } else {
          pending = { state, waiters: [{ resolve, reject }] };
        }
        writing ??= drain();
      });
    },
  };
}
