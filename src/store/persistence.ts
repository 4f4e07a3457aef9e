// When the agent's state reaches the disk: changes mark it dirty, flush() writes the newest state once. Callers that
// must not answer before their change is durable (a Set, an operation's result) await flush(); everything else
// flushes soon after. Writes never overlap (the store coalesces them) and a failed write leaves the state dirty, so
// the next flush tries again.
import type { StateStore } from './state-store.ts';

export interface Persistence {
  /** Something persistent changed: the next flush writes. */
  readonly markDirty: () => void;
  /** Resolves once the newest state is on disk, also when another caller started that write. */
  readonly flush: () => Promise<void>;
}

/** `dirty`: whether the state on disk is already stale (e.g. the config changed since it was written). */
export function createPersistence<T>(store: StateStore<T>, snapshot: () => T, dirty: boolean): Persistence {
  let stale = dirty;
  let lastSave: Promise<void> = Promise.resolve();
  return {
    markDirty: () => {
      stale = true;
    },
    flush: () => {
      if (!stale) return lastSave;
      stale = false;
      const attempt = store.save(snapshot()).catch((error: unknown) => {
        stale = true;
        throw error;
      });
      lastSave = attempt.catch(() => undefined);
      return attempt;
    },
  };
}
