// A real Mosquitto for tests, on a free loopback port, optionally with TLS (throwaway CA made with openssl)
// and a password file. Always stopped on process exit, so a failing test leaves no broker behind.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMosquitto, freePort } from '../../src/cli/local-broker.ts';
import { connect as tcpConnect } from 'node:net';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function mosquittoAvailable(): boolean {
  return findMosquitto() !== undefined;
}

export interface Broker {
  readonly url: string;
  readonly port: number;
  /** With tls: the CA certificate that signed the broker's certificate. */
  readonly caFile?: string;
  /** Mosquitto's log (log_type all): why it closed a connection, for a failure report. */
  readonly logFile: string;
  /** Kills the broker (keeping its port and config) so that a test can restart it. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => { resolve(false); });
    });
    if (ok) return;
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`Mosquitto did not start on 127.0.0.1:${port}\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startMosquitto(options: { tls?: boolean; users?: readonly { username: string; password: string }[] } = {}): Promise<Broker> {
  const binary = findMosquitto();
  if (!binary) throw new Error('Mosquitto is required for integration tests: apt-get install -y mosquitto');
  const dir = await mkdtemp(join(tmpdir(), 'berth-mosquitto-'));
  const port = await freePort();
  const logFile = join(dir, 'mosquitto.log');
  // Run as root, Mosquitto drops to the 'mosquitto' user and could not read the private temp folder.
  const asUser = process.getuid?.() === 0 ? ['user root'] : [];
  const lines = [...asUser, `listener ${port} 127.0.0.1`, 'persistence false', `log_dest file ${logFile}`, 'log_type all', 'max_packet_size 10485760'];
  let caFile: string | undefined;
  if (options.tls) {
    caFile = join(dir, 'ca.pem');
    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=berth test CA');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    await writeFile(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
    lines.push(`cafile ${join(dir, 'ca.pem')}`, `certfile ${join(dir, 'server.pem')}`, `keyfile ${join(dir, 'server.key')}`);
  }
  if (options.users && options.users.length > 0) {
    const passwordFile = join(dir, 'passwd');
    await writeFile(passwordFile, '');
    for (const user of options.users) execFileSync('mosquitto_passwd', ['-b', passwordFile, user.username, user.password], { stdio: 'ignore' });
    lines.push('allow_anonymous false', `password_file ${passwordFile}`);
  } else {
    lines.push('allow_anonymous true');
  }
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `${lines.join('\n')}\n`);

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const started = spawn(binary, ['-c', conf], { stdio: 'ignore' });
    live.add(started);
    started.once('exit', () => live.delete(started));
    child = started;
    await waitForPort(port, started, logFile);
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${options.tls ? 'localhost' : '127.0.0.1'}:${port}`,
    port,
    logFile,
    ...(caFile !== undefined && { caFile }),
    pause: kill,
    resume: launch,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
