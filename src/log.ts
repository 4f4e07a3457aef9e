// One pino logger for the process; components take a child (DESIGN.md §6.7). Secrets are redacted by key name.
import { pino } from 'pino';
import type { Logger } from 'pino';
import { createLogThrottle } from './log-throttle.ts';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream, now: () => number = Date.now): Logger {
  const throttle = createLogThrottle(now);
  const options = {
    level,
    base: null,
    redact: { paths: ['password', '*.password', 'mqtt.password', 'key', '*.key'], censor: '[redacted]' },
    hooks: {
      // Warnings and errors a peer can cause are bounded (log-throttle.ts); children share the one throttle.
      logMethod(this: Logger, args: unknown[], method: (...args: unknown[]) => void, level: number) {
        const message = args.find((arg): arg is string => typeof arg === 'string') ?? '';
        const { write, suppressed } = throttle.admit(level, message);
        if (!write) return;
        if (suppressed > 0) {
          const first = args[0];
          const hasFields = typeof first === 'object' && first !== null;
          const fields = first instanceof Error ? { err: first } : hasFields ? first : {};
          method.apply(this, [{ ...fields, suppressedLikeThis: suppressed }, ...(hasFields ? args.slice(1) : args)]);
          return;
        }
        method.apply(this, args);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that writes nothing: for unit tests and library use. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
