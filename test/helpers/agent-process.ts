// Runs `berth agent` as a real child process (the way users run it), with a config in a temp dir.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface AgentProcess {
  readonly dataDir: string;
  readonly configFile: string;
  readonly child: ChildProcess;
  /** Everything the agent logged so far. */
  output(): string;
  /** Waits for a log line containing `text`. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-agent-'));
}

/**
 * What bin/berth.js's shebang line (`#!/usr/bin/env -S VAR=value node --flag …`) gives the process: its environment
 * variables and node flags. Read from the file so a bundle under test runs exactly as the launcher would run it.
 */
export function launcherSettings(): { env: Record<string, string>; nodeFlags: string[] } {
  const shebang = readFileSync(join(root, 'bin', 'berth.js'), 'utf8').split('\n', 1)[0]!;
  const words = shebang.replace(/^#!\S+\s+-S\s+/, '').split(/\s+/).filter(Boolean);
  const node = words.indexOf('node');
  if (node < 0) throw new Error(`bin/berth.js: no node in its shebang line: ${shebang}`);
  const env = Object.fromEntries(words.slice(0, node).map((word) => word.split('=', 2) as [string, string]));
  return { env, nodeFlags: words.slice(node + 1) };
}

/**
 * `entry`: the CLI to run instead of bin/berth.js from the sources, e.g. a production bundle's main.js (started
 * with the environment and node flags bin/berth.js gives it).
 */
export async function startAgentProcess(config: Record<string, unknown>, options: { dataDir?: string; entry?: string | undefined } = {}): Promise<AgentProcess> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  const configFile = join(dataDir, 'config.json');
  await writeFile(configFile, JSON.stringify({ dataDir, log: { level: 'debug' }, ...config }, null, 2));
  const launcher = options.entry ? launcherSettings() : { env: {}, nodeFlags: [] };
  const command = options.entry ? [...launcher.nodeFlags, options.entry] : [join(root, 'bin', 'berth.js')];
  const child = spawn(process.execPath, [...command, 'agent', '--config', configFile], {
    cwd: options.entry ? dirname(options.entry) : root,
    env: { ...process.env, ...launcher.env, BERTH_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of [...waiters]) {
      if (output.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    live.delete(child);
    resolve(code);
  }));
  const agent: AgentProcess = {
    dataDir,
    configFile,
    child,
    output: () => output,
    waitForLog(text, timeoutMs = 15_000) {
      if (output.includes(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`agent did not log "${text}" within ${timeoutMs} ms; output:\n${output.slice(-3000)}`)); }, timeoutMs);
        waiters.push({ text, resolve: () => {
          clearTimeout(timer);
          resolve();
        } });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`agent exited (${String(code)}) before logging "${text}"; output:\n${output.slice(-3000)}`));
        });
      });
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  return agent;
}

export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}
