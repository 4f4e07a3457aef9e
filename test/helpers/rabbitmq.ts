// A real RabbitMQ (Debian's rabbitmq-server, with its rabbitmq_stomp plugin) for the STOMP tests: a PRIVATE node
// (own node name, epmd, cookie, database, logs and config in a temp dir; every listener on loopback, on free ports),
// RabbitMQ's defaults otherwise. A node takes seconds to boot, so a test file starts one (before) and shares it.
// The node and its epmd are killed on process exit and on SIGINT/SIGTERM, and the temp dir is removed.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/cli/local-broker.ts';
import { openStompConnection } from '../../src/mtp/stomp/stomp-connection.ts';
import { frameLimitsFor } from '../../src/mtp/stomp/stomp-frame.ts';

/** The broker's own start script (the one in /usr/sbin switches to the rabbitmq user and the system node). */
const SERVER_SCRIPTS = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/local/lib/rabbitmq/bin/rabbitmq-server'];
const START_TIMEOUT_MS = 90_000;

export function findRabbitmqServer(): string | undefined {
  return SERVER_SCRIPTS.find((path) => existsSync(path));
}

export function rabbitmqAvailable(): boolean {
  return findRabbitmqServer() !== undefined;
}

/** Why the STOMP integration tests would be skipped here, or undefined. With CI=true a missing RabbitMQ is a failure. */
export function rabbitmqSkipReason(): string | undefined {
  if (rabbitmqAvailable()) return undefined;
  if (process.env['CI'] === 'true') throw new Error('RabbitMQ is required for the STOMP integration tests in CI: apt-get install -y rabbitmq-server');
  return 'RabbitMQ is not installed (apt-get install -y rabbitmq-server)';
}

export interface RabbitmqUser {
  readonly username: string;
  readonly password: string;
}

export interface RabbitmqBroker {
  readonly host: '127.0.0.1';
  readonly stompPort: number;
  /** With tls: the STOMP-over-TLS port (certificate for localhost and 127.0.0.1) and the CA that signed it. */
  readonly stompTlsPort?: number;
  readonly caFile?: string;
  /** Who may log in: the given users, else RabbitMQ's default guest/guest (loopback only, as here). */
  readonly users: readonly RabbitmqUser[];
  /** RabbitMQ's log, for a failure report. */
  readonly logFile: string;
  /** Milliseconds the (last) boot took until STOMP answered. */
  readonly startMs: number;
  /** Kills the node (keeping its ports, data and config) so that a test can restart it with resume(). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** SIGSTOP / SIGCONT: the node keeps its sockets open but answers nothing (a hung broker). */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

const liveGroups = new Set<number>();
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();

function killEverything(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killEverything();
      process.kill(process.pid, signal);
    });
  }
}

/** RabbitMQ's rabbit_password_hashing_sha256: base64(salt ‖ SHA-256(salt ‖ password)) with a 4-byte salt. */
function passwordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

async function uniquePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => { resolve(false); });
  });
}

function makeCertificates(dir: string): void {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=berth test CA');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  execFileSync('sh', ['-c', 'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > san.ext'], { cwd: dir });
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
}

export async function startRabbitmq(options: { tls?: boolean; users?: readonly RabbitmqUser[] } = {}): Promise<RabbitmqBroker> {
  const script = findRabbitmqServer();
  if (!script) throw new Error('RabbitMQ is required for the STOMP integration tests: apt-get install -y rabbitmq-server');
  hookExit();
  const dir = await mkdtemp(join(tmpdir(), 'berth-rabbitmq-'));
  liveDirs.add(dir);
  const [amqpPort, stompPort, distPort, epmdPort, stompTlsPort] = await uniquePorts(5);
  const users = options.users && options.users.length > 0 ? options.users : [{ username: 'guest', password: 'guest' }];
  const logFile = join(dir, 'rabbit.log');
  const lines = [`listeners.tcp.1 = 127.0.0.1:${amqpPort!}`, `stomp.listeners.tcp.1 = 127.0.0.1:${stompPort!}`];
  let caFile: string | undefined;
  if (options.tls) {
    makeCertificates(dir);
    caFile = join(dir, 'ca.pem');
    lines.push(
      `stomp.listeners.ssl.1 = 127.0.0.1:${stompTlsPort!}`,
      `ssl_options.cacertfile = ${caFile}`,
      `ssl_options.certfile = ${join(dir, 'server.pem')}`,
      `ssl_options.keyfile = ${join(dir, 'server.key')}`,
      'ssl_options.verify = verify_none',
      'ssl_options.fail_if_no_peer_cert = false',
    );
  }
  if (options.users && options.users.length > 0) {
    // Users with passwords: loaded as definitions at the first boot (then RabbitMQ creates no guest user).
    const definitions = {
      users: options.users.map((user) => ({ name: user.username, password_hash: passwordHash(user.password), hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] })),
      vhosts: [{ name: '/' }],
      permissions: options.users.map((user) => ({ user: user.username, vhost: '/', configure: '.*', write: '.*', read: '.*' })),
    };
    await writeFile(join(dir, 'definitions.json'), JSON.stringify(definitions));
    lines.push(`load_definitions = ${join(dir, 'definitions.json')}`);
  }
  await writeFile(join(dir, 'rabbitmq.conf'), `${lines.join('\n')}\n`);
  await writeFile(join(dir, 'enabled_plugins'), '[rabbitmq_stomp].\n');
  const nodeName = `berth-test-${process.pid}-${randomBytes(3).toString('hex')}@localhost`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    LANG: 'C.UTF-8',
    // Erlang writes its cookie to $HOME/.erlang.cookie.
    HOME: dir,
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: dir,
    RABBITMQ_LOGS: logFile,
    RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };

  // Our own epmd, in the foreground, so that it is ours to stop (the node would start a daemonised one).
  const epmd = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore' });
  liveChildren.add(epmd);
  epmd.once('exit', () => liveChildren.delete(epmd));
  for (let waited = 0; !(await portAnswers(epmdPort!)); waited += 50) {
    if (epmd.exitCode !== null || waited > 5000) throw new Error(`epmd did not start on 127.0.0.1:${epmdPort!}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let node: ChildProcess | undefined;
  let startMs = 0;
  const probe = async (): Promise<boolean> => {
    try {
      const session = await openStompConnection(
        { host: '127.0.0.1', port: stompPort!, login: users[0]!.username, passcode: users[0]!.password, limits: frameLimitsFor(4096), timeoutMs: 2000 },
        { onMessage: () => undefined, onClose: () => undefined },
      );
      session.destroy();
      return true;
    } catch {
      return false;
    }
  };
  const launch = async (): Promise<void> => {
    const started = Date.now();
    const out = openSync(join(dir, 'stdout.log'), 'a');
    // Its own process group: the start script, beam.smp and its helpers go together.
    const child = spawn(script, [], { cwd: dir, env, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    node = child;
    liveGroups.add(child.pid!);
    child.once('exit', () => liveGroups.delete(child.pid!));
    for (;;) {
      if (await probe()) break;
      if (child.exitCode !== null || Date.now() - started > START_TIMEOUT_MS) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        const stdout = await readFile(join(dir, 'stdout.log'), 'utf8').catch(() => '');
        await kill();
        throw new Error(`RabbitMQ did not answer STOMP on 127.0.0.1:${stompPort!}\n${stdout.slice(-1500)}\n${log.slice(-2500)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    startMs = Date.now() - started;
  };
  const kill = async (): Promise<void> => {
    const running = node;
    node = undefined;
    if (!running || running.pid === undefined) return;
    try {
      process.kill(-running.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    liveGroups.delete(running.pid);
    if (running.exitCode === null && running.signalCode === null) await new Promise((resolve) => running.once('exit', resolve));
  };
  const signalNode = (signal: NodeJS.Signals): void => {
    if (node?.pid !== undefined) process.kill(-node.pid, signal);
  };

  try {
    await launch();
  } catch (error) {
    epmd.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw error;
  }
  return {
    host: '127.0.0.1',
    stompPort: stompPort!,
    ...(options.tls && { stompTlsPort: stompTlsPort!, caFile: caFile! }),
    users,
    logFile,
    get startMs() {
      return startMs;
    },
    pause: kill,
    resume: launch,
    freeze: () => { signalNode('SIGSTOP'); },
    thaw: () => { signalNode('SIGCONT'); },
    async stop() {
      signalNode('SIGCONT');
      await kill();
      epmd.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    },
  };
}
