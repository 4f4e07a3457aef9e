// One pino logger for the process; components take a child (DESIGN.md §6.7). Secrets are redacted by key name.
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: null,
    redact: { paths: ['password', '*.password', 'mqtt.password', 'key', '*.key'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that writes nothing: for unit tests and library use. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
