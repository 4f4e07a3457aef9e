// `npm run fuzz` options: command-line flags, each also readable from an environment variable (FUZZ_SEED, …),
// flags winning. Pure: argv and env in, settings (or a usage error) out.
import { parseArgs } from 'node:util';
import type { FuzzBounds } from './usp-messages.ts';
import type { FuzzOptions } from './fuzz-runner.ts';

/** How far the oversized generators go. `full` reaches the sizes that hurt an agent without bounds; `smoke` is CI's. */
export const PROFILES: Readonly<Record<string, FuzzBounds>> = {
  full: { maxPaths: 10_000, maxObjects: 20_000, maxParamSettings: 10_000, maxStringBytes: 4_000_000 },
  smoke: { maxPaths: 1000, maxObjects: 100, maxParamSettings: 1000, maxStringBytes: 1_000_000 },
};

/**
 * What the command line asks for: the runner's options as the user gave them (paths not yet resolved, the replay
 * folder not yet loaded), plus how the seed and profile were chosen.
 */
export type CliSettings = Omit<FuzzOptions, 'weights' | 'replay' | 'log'> & {
  readonly seedGiven: boolean;
  readonly profile: string;
  /** A folder of saved inputs to send again. */
  readonly replay?: string;
};

export const USAGE = `npm run fuzz -- [options]      (each option also as an environment variable, e.g. FUZZ_SEED=7)

  --seed N               seed of the run (default: random, printed)             FUZZ_SEED
  --records M            most inputs to send (default 2000)                    FUZZ_RECORDS
  --seconds S            stop generating after S seconds (default 120)         FUZZ_SECONDS
  --batch-size N         inputs between state and memory checks (default 200)  FUZZ_BATCH_SIZE
  --profile full|smoke   how far oversized inputs go (default full)            FUZZ_PROFILE
  --max-paths N, --max-objects N, --max-settings N, --max-string-bytes N       override the profile's bounds
  --stall-ms N           longest wait for an answer after inputs (default 5000)
  --rss-margin-mib N     idle RSS may exceed the baseline by this (default 16)
  --heap-margin-mib N    the V8 heap after the idle collection may exceed the baseline by this (default 4)
  --max-rows N           most rows a table may hold after a batch (default 1024, the agent's largest table bound)
  --batch B [--record I] only batch B (and only input I of it): what a finding prints to reproduce it
  --replay DIR           send the inputs a finding saved, then check
  --keep-going           after a finding, start a fresh agent and go on
  --from-source          run the TypeScript sources instead of the production bundle
  --entry FILE           run this built CLI (e.g. dist/main.js) instead of building the bundle
  --out DIR              where findings are saved (default build/fuzz-failures)`;

export class UsageError extends Error {}

function integer(name: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name}: not a whole number: ${text}`);
  const value = Number(text);
  if (value < min) throw new UsageError(`--${name}: must be at least ${min}`);
  return value;
}

export function parseFuzzOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, randomSeed: () => number): CliSettings {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        seed: { type: 'string' }, records: { type: 'string' }, seconds: { type: 'string' }, 'batch-size': { type: 'string' }, profile: { type: 'string' },
        'max-paths': { type: 'string' }, 'max-objects': { type: 'string' }, 'max-settings': { type: 'string' }, 'max-string-bytes': { type: 'string' },
        'stall-ms': { type: 'string' }, 'rss-margin-mib': { type: 'string' }, 'heap-margin-mib': { type: 'string' }, 'max-rows': { type: 'string' }, batch: { type: 'string' }, record: { type: 'string' },
        replay: { type: 'string' }, entry: { type: 'string' }, 'keep-going': { type: 'boolean' }, 'from-source': { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) throw new UsageError('');
  const pick = (flag: string | undefined, variable: string): string | undefined => flag ?? env[variable];
  const seedText = pick(values.seed, 'FUZZ_SEED');
  const seedGiven = seedText !== undefined && seedText !== '';
  const seed = seedGiven ? integer('seed', seedText, 0) : randomSeed();
  if (seed > 0xffffffff) throw new UsageError('--seed: must be below 2^32');
  const profile = pick(values.profile, 'FUZZ_PROFILE') ?? 'full';
  const base = PROFILES[profile];
  if (!base) throw new UsageError(`--profile: ${profile} is not one of ${Object.keys(PROFILES).join(', ')}`);
  const bounds: FuzzBounds = {
    maxPaths: integer('max-paths', values['max-paths'], base.maxPaths),
    maxObjects: integer('max-objects', values['max-objects'], base.maxObjects),
    maxParamSettings: integer('max-settings', values['max-settings'], base.maxParamSettings),
    maxStringBytes: integer('max-string-bytes', values['max-string-bytes'], base.maxStringBytes),
  };
  const batchSize = integer('batch-size', pick(values['batch-size'], 'FUZZ_BATCH_SIZE'), 200, 1);
  const batchText = values.batch;
  const recordText = values.record;
  if (recordText !== undefined && batchText === undefined) throw new UsageError('--record needs --batch');
  if (values.entry !== undefined && values['from-source']) throw new UsageError('--entry and --from-source exclude each other');
  const only = batchText === undefined ? undefined : { batch: integer('batch', batchText, 0), ...(recordText !== undefined && { record: integer('record', recordText, 0) }) };
  const boundFlags = (Object.keys(bounds) as (keyof FuzzBounds)[])
    .filter((key) => bounds[key] !== base[key])
    .map((key) => `--${{ maxPaths: 'max-paths', maxObjects: 'max-objects', maxParamSettings: 'max-settings', maxStringBytes: 'max-string-bytes' }[key]} ${bounds[key]}`);
  const reproduceCommand = ['npm run fuzz --', `--seed ${seed}`, ...(batchSize !== 200 ? [`--batch-size ${batchSize}`] : []), ...(profile !== 'full' ? [`--profile ${profile}`] : []), ...boundFlags].join(' ');
  return {
    seed,
    seedGiven,
    records: integer('records', pick(values.records, 'FUZZ_RECORDS'), 2000, 1),
    seconds: integer('seconds', pick(values.seconds, 'FUZZ_SECONDS'), 120, 1),
    batchSize,
    profile,
    bounds,
    stallMs: integer('stall-ms', pick(values['stall-ms'], 'FUZZ_STALL_MS'), 5000, 100),
    probeTimeoutMs: 5000,
    rssMarginMiB: integer('rss-margin-mib', pick(values['rss-margin-mib'], 'FUZZ_RSS_MARGIN_MIB'), 16, 1),
    heapMarginMiB: integer('heap-margin-mib', pick(values['heap-margin-mib'], 'FUZZ_HEAP_MARGIN_MIB'), 4, 1),
    maxRowsPerTable: integer('max-rows', pick(values['max-rows'], 'FUZZ_MAX_ROWS'), 1024, 1),
    fromSource: values['from-source'] ?? env['FUZZ_FROM_SOURCE'] === '1',
    keepGoing: values['keep-going'] ?? env['FUZZ_KEEP_GOING'] === '1',
    outDir: pick(values.out, 'FUZZ_OUT') ?? 'build/fuzz-failures',
    ...(only !== undefined && { only }),
    ...(values.replay !== undefined && { replay: values.replay }),
    ...(values.entry !== undefined && { entry: values.entry }),
    reproduceCommand,
  };
}
