// The serial lane: USP requests are handled one at a time, in arrival order (like obuspa's single data-model
// thread). Invariant: a data-model transaction is only ever open inside a task of this lane, or inside a
// synchronous DataModel.update() — so two transactions can never interleave.

export interface Lane {
  /** Runs `task` after every earlier task has settled; its result or error goes to the returned promise only. */
  run<T>(task: () => Promise<T> | T): Promise<T>;
  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void>;
}

export function createLane(): Lane {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(task: () => Promise<T> | T): Promise<T> {
      const result = tail.then(task);
      tail = result.catch(() => undefined);
      return result;
    },
    async idle() {
      await tail;
    },
  };
}
