// Runs `berth ctl` as a user does (bin/berth.js from the sources), without $BERTH_BROKER / $BERTH_AGENT from the
// test's environment. Killed after `killAfterMs` (a ctl that waits for ever fails the test instead of hanging it).
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'berth.js');

export interface CtlRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCtl(args: readonly string[], options: { killAfterMs?: number } = {}): Promise<CtlRun> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, BERTH_FROM_SOURCE: '1' };
    delete env['BERTH_BROKER'];
    delete env['BERTH_AGENT'];
    const child = spawn(process.execPath, [berth, 'ctl', ...args], { env });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
