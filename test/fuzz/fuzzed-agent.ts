// The agent under fuzz: `berth agent` as its own process, started the way users start it (the production bundle
// with bin/berth.js's node flags and environment, so --expose-gc and the idle collection are on), or from the
// TypeScript sources with the same flags. Its log is read line by line and only a tail is kept (a long run logs
// a line for most inputs); what the fuzzer checks is extracted as the lines arrive: error-level lines and the
// idle collections. Memory and CPU come from /proc.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { launcherSettings } from '../helpers/agent-process.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TAIL_LINES = 200;

export interface IdleCollection {
  readonly at: number;
  readonly heapBeforeMiB: number;
  readonly heapAfterMiB: number;
}

export interface FuzzedAgent {
  readonly pid: number;
  readonly dataDir: string;
  /** Error and fatal lines (pino level ≥ 50) logged since the last call. */
  takeErrorLines(): string[];
  /** The last lines the agent logged. */
  tail(): string[];
  /** The last lines other than the per-input "dropped …" / "refused …" / "ignored …" warnings and debug lines. */
  notableTail(): string[];
  /** Idle collections logged after `since` (ms since the epoch). */
  collectionsSince(since: number): IdleCollection[];
  /** Waits for an idle collection logged after `since`; undefined when none came within `timeoutMs`. */
  waitForCollection(since: number, timeoutMs: number): Promise<IdleCollection | undefined>;
  exitCode(): number | null;
  /** VmRSS in MiB, and its anonymous and file-backed parts. */
  rss(): Promise<{ mib: number; anonMiB: number; fileMiB: number }>;
  /** CPU seconds used so far (user + system). */
  cpuSeconds(): Promise<number>;
  /** SIGTERM; resolves with the exit code (SIGKILL after `timeoutMs`, then null). */
  stop(timeoutMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

/** Builds the production bundle into a temp folder (esbuild, no type-check): what `npm run build` ships. */
export async function buildBundle(): Promise<{ entry: string; dir: string; remove: () => Promise<void> }> {
  const outdir = await mkdtemp(join(tmpdir(), 'berth-fuzz-dist-'));
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', outdir, '--no-check'], { encoding: 'utf8' });
  if (built.status !== 0) {
    await rm(outdir, { recursive: true, force: true });
    throw new Error(`building the agent failed:\n${built.stderr}`);
  }
  return { entry: join(outdir, 'main.js'), dir: outdir, remove: () => rm(outdir, { recursive: true, force: true }) };
}

/**
 * `entry`: the bundle's main.js; undefined runs bin/berth.js on the sources (through tsx). Either way with the
 * launcher's environment and flags, as production runs it.
 */
export async function startFuzzedAgent(config: Record<string, unknown>, options: { dataDir: string; entry: string | undefined }): Promise<FuzzedAgent> {
  const configFile = join(options.dataDir, 'config.json');
  await writeFile(configFile, JSON.stringify({ dataDir: options.dataDir, log: { level: 'debug' }, ...config }, null, 2));
  const launcher = launcherSettings();
  const script = options.entry ?? join(root, 'bin', 'berth.js');
  const child: ChildProcess = spawn(process.execPath, [...launcher.nodeFlags, script, 'agent', '--config', configFile], {
    cwd: options.entry ? dirname(options.entry) : root,
    env: {
      ...process.env,
      ...launcher.env,
      ...(options.entry === undefined && { BERTH_FROM_SOURCE: '1' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    process.off('exit', killOnExit);
    resolve(code);
  }));
  const tail: string[] = [];
  const notable: string[] = [];
  let errors: string[] = [];
  const collections: IdleCollection[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (!/"level":(10|20)|"msg":"(dropped|refused|ignored) /.test(line)) {
      notable.push(line);
      if (notable.length > TAIL_LINES) notable.shift();
    }
    if (/"level":(5|6)0/.test(line)) errors.push(line);
    if (line.includes('"heap collected while idle"')) {
      try {
        const parsed = JSON.parse(line) as { time: number; heapBeforeMiB: number; heapAfterMiB: number };
        collections.push({ at: parsed.time, heapBeforeMiB: parsed.heapBeforeMiB, heapAfterMiB: parsed.heapAfterMiB });
        if (collections.length > 1000) collections.shift();
        for (const wake of waiters) wake();
      } catch {
        // A line cut by a crash: the crash is what gets reported.
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', (line) => {
    // Anything on stderr (an uncaught exception's stack, a node warning) is worth reading in a report.
    onLine(line);
    if (!line.startsWith('{')) errors.push(line);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the agent process did not start');
  const status = async (): Promise<string> => readFile(`/proc/${pid}/status`, 'utf8');
  const since = (t: number): IdleCollection[] => collections.filter((c) => c.at > t);
  return {
    pid,
    dataDir: options.dataDir,
    takeErrorLines() {
      const taken = errors;
      errors = [];
      return taken;
    },
    tail: () => [...tail],
    notableTail: () => [...notable],
    collectionsSince: since,
    waitForCollection(t, timeoutMs) {
      const found = since(t)[0];
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const wake = (): void => {
          const next = since(t)[0];
          if (!next) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(next);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          resolve(undefined);
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    exitCode: () => child.exitCode ?? (child.signalCode !== null ? -1 : null),
    async rss() {
      const text = await status();
      const mib = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) / 1024;
      return { mib: mib('VmRSS'), anonMiB: mib('RssAnon'), fileMiB: mib('RssFile') };
    },
    async cpuSeconds() {
      // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the parenthesised command name.
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
