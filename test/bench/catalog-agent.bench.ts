// bench:catalog-agent — what a refresh of a large catalog costs the real agent's memory: the production agent
// (dist/, started by bin/berth.js with its node flags) on Mosquitto, its catalog a `berth catalog serve` of the
// 10,000-publisher catalog bench:catalog-scale generates (the same cache, BENCH_CACHE; run that bench once first).
// The generated packages have metadata but no bytes, so an InstallDU of one runs the whole catalog path of an
// install (lazy load of the catalog client, TUF refresh, lookup through targets, bin and role, admission on the
// signed summary) and then fails at the download (404): nothing is installed. Measured: the agent's resident
// memory at idle (after its idle collection, src/idle-collector.ts) before the first InstallDU, after it, and
// after each of BENCH_ROUNDS more (refreshes with nothing changed); with BENCH_MALLOC_STATS=1, glibc's view of
// its heap at each point (gdb: malloc_stats(), then malloc_trim(0) to show what is free but resident).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startLocalBroker } from '../../src/cli/local-broker.ts';
import { connectController } from '../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../src/controller/controller-client.ts';
import { residentMemory } from './process-memory.ts';
import { untilAnswering } from './round-trips.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = process.env['BENCH_CACHE'] ?? join(tmpdir(), 'berth-bench-catalog-scale');
const CATALOG = process.env['BENCH_CATALOG'] ?? 'p10000-k100000-b256';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const MALLOC_STATS = process.env['BENCH_MALLOC_STATS'] === '1';
const AGENT = 'os::012345-BENCHCATALOG';
const CONTROLLER = 'proto::bench';
const QUIET_MS = 6_000;

const cacheDir = join(CACHE, CATALOG);
if (!existsSync(join(cacheDir, 'generated.json'))) {
  console.error(`no generated catalog in ${cacheDir}: run npm run bench:catalog-scale once first`);
  process.exit(1);
}
const generated = JSON.parse(await readFile(join(cacheDir, 'generated.json'), 'utf8')) as { readVendor: string };
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(1);

function startServer(dir: string): { url: Promise<string>; child: ChildProcess } {
  const child = spawn(process.execPath, [join(root, 'bin', 'berth.js'), 'catalog', 'serve', '--dir', dir, '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /at (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => { reject(new Error(`catalog server exited (${code})`)); });
  });
  return { url, child };
}

/** glibc's arena totals, printed by malloc_stats() to the agent's stderr, then what malloc_trim(0) gives back. */
async function mallocStats(pid: number, agentLog: () => string): Promise<string> {
  const before = agentLog().length;
  const rssBefore = spawnSync('grep', ['VmRSS', `/proc/${pid}/status`], { encoding: 'utf8' }).stdout.trim();
  spawnSync('gdb', ['-p', String(pid), '-batch', '-ex', 'call (void)malloc_stats()', '-ex', 'call (int)malloc_trim(0)'], { stdio: 'ignore' });
  const rssAfter = spawnSync('grep', ['VmRSS', `/proc/${pid}/status`], { encoding: 'utf8' }).stdout.trim();
  // The agent's stderr reaches this process through a pipe, after gdb returns.
  await new Promise((r) => setTimeout(r, 300));
  const total = /Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)/.exec(agentLog().slice(before));
  const mib = (bytes: string | undefined): string => (Number(bytes) / 2 ** 20).toFixed(1);
  return `malloc: ${mib(total?.[2])} MiB in use of ${mib(total?.[1])} MiB from the system; malloc_trim(0): ${rssBefore} → ${rssAfter}`;
}

const work = await mkdtemp(join(tmpdir(), 'berth-bench-catalog-agent-'));
const dir = join(work, 'catalog');
// Hard links: nothing in the catalog is rewritten in place, so the cache stays as generated.
if (spawnSync('cp', ['-al', join(cacheDir, 'catalog'), dir]).status !== 0) throw new Error('cp -al failed');
const broker = await startLocalBroker();
const server = startServer(dir);
let agent: ChildProcess | undefined;
let controller: ControllerClient | undefined;
try {
  const catalogUrl = await server.url;
  const dataDir = join(work, 'agent');
  await mkdir(dataDir);
  const configFile = join(work, 'agent.json');
  await writeFile(configFile, JSON.stringify({
    endpointId: AGENT,
    dataDir,
    mqtt: { url: broker.url, version: 5 },
    controllers: [{ endpointId: CONTROLLER, topic: `usp/controller/${CONTROLLER}` }],
    catalog: { url: catalogUrl, root: join(dir, 'root.json') },
    execEnvs: [{ name: 'bench', memoryKiB: 2_097_152, cpuPercent: 100, diskKiB: 20_971_520 }],
    log: { level: 'debug' },
  }));
  agent = spawn(join(root, 'bin', 'berth.js'), ['agent', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  agent.stdout!.on('data', (chunk: Buffer) => { log += chunk.toString(); });
  agent.stderr!.on('data', (chunk: Buffer) => { log += chunk.toString(); });
  const pid = agent.pid!;
  controller = await connectController({ brokerUrl: broker.url, endpointId: CONTROLLER, agentEndpointId: AGENT, agentTopic: `usp/agent/${AGENT}`, replyTopic: `usp/controller/${CONTROLLER}` });
  await untilAnswering(controller);
  const idle = async (what: string): Promise<void> => {
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const memory = await residentMemory(pid);
    const collections = log.match(/heap collected while idle/g)?.length ?? 0;
    const peak = Number(/VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
    const heapAfter = [...log.matchAll(/"heapAfterMiB":([\d.]+)/g)].pop()?.[1] ?? '?';
    console.log(`  ${what}: ${memory.mib.toFixed(1)} MiB (${memory.parts}); V8 heap in use after the last idle collection ${heapAfter} MiB (${collections} so far); peak so far ${peak.toFixed(1)} MiB`);
    if (MALLOC_STATS) console.log(`    ${await mallocStats(pid, () => log)}`);
  };
  const installOnce = async (): Promise<{ ms: number; failure: string }> => {
    const url = `${catalogUrl}/targets/${generated.readVendor}/app-0/app-0-1.0.0.berth`;
    const failuresBefore = log.match(/"install failed"/g)?.length ?? 0;
    const started = performance.now();
    await controller!.request({ operate: { command: 'Device.SoftwareModules.InstallDU()', commandKey: 'bench', sendResp: true, inputArgs: { URL: url, ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.1' } } }, { timeoutMs: 120_000 });
    while ((log.match(/"install failed"/g)?.length ?? 0) === failuresBefore) {
      if (performance.now() - started > 120_000) throw new Error(`the install did not end; agent log:\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const line = log.split('\n').filter((l) => l.includes('"install failed"')).pop() ?? '';
    return { ms: performance.now() - started, failure: /"reason":"([^"]*)"/.exec(line)?.[1] ?? line };
  };

  console.log(`bench:catalog-agent on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}; catalog ${CATALOG}`);
  console.log('the agent\'s resident memory at idle, ' + `${QUIET_MS / 1000} s after its last work:`);
  await idle('before any install (catalog client not loaded)');
  const first = await installOnce();
  console.log(`  InstallDU → catalog refresh (first: root, timestamp, snapshot, targets, bin, role) → ends at the download in ${first.ms.toFixed(0)} ms: ${first.failure}`);
  await idle('after the first refresh');
  for (let round = 1; round <= ROUNDS; round++) {
    const again = await installOnce();
    console.log(`  InstallDU #${round + 1} (refresh, nothing changed) in ${again.ms.toFixed(0)} ms`);
    await idle(`after refresh #${round + 1}`);
  }
} finally {
  await controller?.close();
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
  }
  if (server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
  await broker.stop();
  await rm(work, { recursive: true, force: true });
}
