// The in-memory runtime's event subscriptions. Like Docker's /events, a subscription sees only what happens after
// it, filtered by one label; events reach it on a later turn of the event loop, never inside the call that caused
// them (a caller must not depend on an event having arrived when its call returns, nor on its not having). When
// the runtime "goes away" every stream ends with the error the adapter gives for a dropped connection.
import type { RuntimeEvent } from '../../src/runtime/container-runtime.ts';

interface Subscription {
  matches(event: RuntimeEvent): boolean;
  queue: RuntimeEvent[];
  failure: Error | undefined;
  done: boolean;
  wake: (() => void) | undefined;
}

/** `key=value` or `key` alone (the object carries the label, whatever its value), as Docker's label filter. */
export function labelMatches(labels: Readonly<Record<string, string>>, filter: string): boolean {
  const equals = filter.indexOf('=');
  if (equals < 0) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, equals)] === filter.slice(equals + 1);
}

export class FakeEventHub {
  readonly #subscriptions = new Set<Subscription>();

  subscribe(label: string, ownLabels: (event: RuntimeEvent) => Readonly<Record<string, string>>, signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    const subscription: Subscription = { matches: (event) => labelMatches(ownLabels(event), label), queue: [], failure: undefined, done: false, wake: undefined };
    this.#subscriptions.add(subscription);
    const finish = (): void => {
      subscription.done = true;
      this.#subscriptions.delete(subscription);
      subscription.wake?.();
    };
    if (signal.aborted) finish();
    else signal.addEventListener('abort', finish, { once: true });
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<RuntimeEvent> => ({
        next: async (): Promise<IteratorResult<RuntimeEvent>> => {
          for (;;) {
            const event = subscription.queue.shift();
            if (event) return { value: event, done: false };
            if (subscription.failure && !signal.aborted) {
              const failure = subscription.failure;
              subscription.failure = undefined;
              throw failure;
            }
            if (subscription.done) return { value: undefined, done: true };
            await new Promise<void>((resolve) => {
              subscription.wake = resolve;
            });
            subscription.wake = undefined;
          }
        },
        return: (): Promise<IteratorResult<RuntimeEvent>> => {
          finish();
          return Promise.resolve({ value: undefined, done: true });
        },
      }),
    };
  }

  /** Delivers on a later turn of the event loop, in the order emitted. */
  emit(event: RuntimeEvent): void {
    const targets = [...this.#subscriptions].filter((subscription) => subscription.matches(event));
    setImmediate(() => {
      for (const subscription of targets) {
        if (subscription.done) continue;
        subscription.queue.push(event);
        subscription.wake?.();
      }
    });
  }

  /** Every stream ends with `error` (after what was already delivered to it). */
  failAll(error: Error): void {
    const targets = [...this.#subscriptions];
    this.#subscriptions.clear();
    setImmediate(() => {
      for (const subscription of targets) {
        subscription.failure = error;
        subscription.done = true;
        subscription.wake?.();
      }
    });
  }
}
