// `berth agent --config <file>`: runs the agent in the foreground until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { stat } from 'node:fs/promises';
import { loadConfig, ConfigError } from '../config/config.ts';
import { createLogger } from '../log.ts';
import { createAgent } from '../app.ts';
import { startIdleCollector } from '../idle-collector.ts';
import type { CommandHelp } from './commands.ts';
import { UsageError } from './usage.ts';
import { octal } from '../store/private-dir.ts';

export const AGENT_HELP: CommandHelp = {
  usage: 'usage: berth agent --config <file.json>     run the agent in the foreground until SIGTERM or SIGINT\n',
};

export async function runAgentCommand(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string', short: 'c' } }, strict: true });
  if (!values.config) throw new UsageError('berth agent needs --config <file.json>');
  let config;
  try {
    config = await loadConfig(values.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`berth: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = createLogger(config.log.level);
  // The operator's file, so berth does not change it; but it holds the broker password in clear.
  const configMode = (await stat(values.config)).mode & 0o777;
  const secret = config.mqtt?.password !== undefined ? 'mqtt.password' : config.stomp?.password !== undefined ? 'stomp.password' : undefined;
  if (secret !== undefined && (configMode & 0o044) !== 0) {
    logger.warn({ file: values.config, mode: octal(configMode) }, `the config file holds ${secret} and other users may read it: chmod 600 it`);
  }
  // No Buffer pool in the long-running agent. Node carves small Buffers (< 4 KiB: frame headers, small Records) out
  // of shared 8 KiB slabs; a slab that is current across two minor collections moves to the old generation and is
  // freed only at the next full collection, so under traffic hundreds of dead slabs pile up in glibc's heap between
  // full collections, and the holes they leave between live allocations stay resident. Measured with bench:mtp: the
  // idle agent's malloc heap after 3,500 STOMP requests was 10.9 MiB with the pool and 5.3 without (malloc_stats:
  // 3.4 MiB of 12 in use); the idle RSS with MQTT, STOMP and WebSocket in use fell from 65.2–66.0 to 62.4–62.6 MiB.
  // Without the pool each small Buffer is its own malloc, which glibc's per-thread cache serves.
  Buffer.poolSize = 0;
  const agent = await createAgent(config, logger);
  agent.start();
  // bin/berth.js starts node with --expose-gc; run some other way, the agent simply keeps what V8 keeps.
  const collect = globalThis.gc;
  const idleCollector = collect
    ? startIdleCollector({
      collect: () => { collect(); },
      lastActivityAt: () => agent.lastActivityAt,
      heapUsed: () => process.memoryUsage().heapUsed,
      onCollected: ({ heapBefore, heapAfter, ms }) => {
        logger.debug({ heapBeforeMiB: toMiB(heapBefore), heapAfterMiB: toMiB(heapAfter), ms }, 'heap collected while idle');
      },
    })
    : undefined;
  if (!idleCollector) logger.debug('node runs without --expose-gc: no collection while idle');
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      logger.info({ signal }, 'stopping');
      process.off('SIGINT', shutdown);
      process.off('SIGTERM', shutdown);
      idleCollector?.stop();
      agent.stop().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        resolve();
      });
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  return 0;
}

const toMiB = (bytes: number): number => Math.round(bytes / 10_485.76) / 100;
