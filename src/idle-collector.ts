// Gives memory back once the agent has gone quiet after a burst of work.
//
// Why: V8 runs a full (old-generation) collection when the heap grows, not when the program goes idle. A burst of
// Controller requests or an install leaves a few MiB of garbage in the old generation, and a quiet agent allocates
// too little to trigger the next full collection, so those pages stay resident for hours (V8's own memory reducer
// did not reclaim them within 30 s in our measurements). On a gateway the agent is quiet most of the time, so that is
// the memory it is judged by. Two full collections once the agent has been quiet for a second give back ~2.5 MiB
// (npm run bench:usp: 61.2 → 58.6 MiB) and cost ~20 ms of CPU when no one is waiting. Two, because one alone gave
// back little or nothing in our measurements: the pages the first one empties are released by the second.
//
// The collection is global.gc, which node exposes only when started with --expose-gc (bin/berth.js does so). The
// checks are cheap (a timestamp and process.memoryUsage every second) and the timer never keeps the process alive.

export interface IdleCollectorOptions {
  /** One full garbage collection (global.gc). */
  readonly collect: () => void;
  /** When the agent last worked (a message sent or received, a DU operation running), in ms since the epoch (0: never). */
  readonly lastActivityAt: () => number;
  /** Bytes in use in the V8 heap now. */
  readonly heapUsed: () => number;
  /** How long the agent must have been quiet before collecting. */
  readonly quietMs?: number;
  /** Collect only when the heap has grown by this much since the last collection: a quiet agent is left alone. */
  readonly minGrowthBytes?: number;
  readonly checkEveryMs?: number;
  readonly now?: () => number;
  /** Told about each collection (logged at debug level). */
  readonly onCollected?: (report: { readonly heapBefore: number; readonly heapAfter: number; readonly ms: number }) => void;
}

export interface IdleCollector {
  /** One check, as the timer runs it; returns whether it collected. */
  check(): boolean;
  stop(): void;
}

export function startIdleCollector(options: IdleCollectorOptions): IdleCollector {
  const quietMs = options.quietMs ?? 1000;
  const minGrowthBytes = options.minGrowthBytes ?? 1024 * 1024;
  const now = options.now ?? Date.now;
  // 0 so that the first quiet moment after start-up collects the garbage start-up left.
  let heapAfterLastCollection = 0;

  const check = (): boolean => {
    const at = now();
    if (at - options.lastActivityAt() < quietMs) return false;
    const heapBefore = options.heapUsed();
    if (heapBefore - heapAfterLastCollection < minGrowthBytes) return false;
    options.collect();
    options.collect();
    heapAfterLastCollection = options.heapUsed();
    options.onCollected?.({ heapBefore, heapAfter: heapAfterLastCollection, ms: now() - at });
    return true;
  };

  const timer = setInterval(check, options.checkEveryMs ?? 1000);
  timer.unref();
  return {
    check,
    stop: () => {
      clearInterval(timer);
    },
  };
}
