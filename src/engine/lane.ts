// The serial lane: USP requests are handled one at a time (like obuspa's single data-model thread).
// Invariant: a data-model transaction is only ever open inside a task of this lane, or inside a synchronous
// DataModel.update() — so two transactions can never interleave.
//
// Fairness: each Controller has its own queue and the lane takes one task from each waiting Controller in turn, so
// a Controller that sends a burst of requests delays the others by at most one request each, not by its whole burst.
// Within one Controller, requests run in arrival order.

export interface Lane {
  /** Runs `task` in `key`'s turn, after `key`'s earlier tasks; its result or error goes to the returned promise only. */
  run<T>(key: string, task: () => Promise<T> | T): Promise<T>;
  /** Tasks of `key` queued or running. */
  pending(key: string): number;
  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void>;
}

export function createLane(): Lane {
  // Map order is the turn order: the first key has waited longest; a key that still has work goes to the back.
  const queues = new Map<string, (() => Promise<void>)[]>();
  const counts = new Map<string, number>();
  let running = false;
  let idleWaiters: (() => void)[] = [];

  const takeNext = (): (() => Promise<void>) | undefined => {
    for (const [key, queue] of queues) {
      queues.delete(key);
      const task = queue.shift();
      if (queue.length > 0) queues.set(key, queue);
      return task;
    }
    return undefined;
  };

  const pump = (): void => {
    if (running) return;
    const next = takeNext();
    if (!next) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    running = true;
    void next().finally(() => {
      running = false;
      pump();
    });
  };

  return {
    run<T>(key: string, task: () => Promise<T> | T): Promise<T> {
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return new Promise<T>((resolve, reject) => {
        const release = (): void => {
          const left = (counts.get(key) ?? 1) - 1;
          if (left === 0) counts.delete(key);
          else counts.set(key, left);
        };
        const wrapped = (): Promise<void> => {
          const outcome = Promise.resolve().then(task);
          outcome.then(resolve, reject);
          // The lane goes on whatever the task's outcome: its error belongs to its caller only.
          return outcome.then(release, release);
        };
        const queue = queues.get(key);
        if (queue) queue.push(wrapped);
        else queues.set(key, [wrapped]);
        // Started from a microtask, never inside the caller's own turn (the MTP's message callback).
        queueMicrotask(pump);
      });
    },
    pending(key) {
      return counts.get(key) ?? 0;
    },
    idle() {
      if (!running && queues.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
