// bench:catalog-scale — an app store's catalog: BENCH_PUBLISHERS (10,000) publishers in BENCH_BINS (256) hash bins,
// BENCH_PACKAGES (100,000) packages among them. The catalog is generated (real keys, real signatures, real TUF
// metadata; no package bytes, which a refresh never reads) once per set of parameters and kept in BENCH_CACHE
// (default <tmp>/berth-bench-catalog-scale/); each run works on a hard-linked copy (metadata files are never
// rewritten, timestamp.json is replaced by a rename), so runs do not drift. `berth catalog serve` runs in its
// own process, and so does the gateway: one long-running catalog client, as in the agent.
// Measured: the gateway's first refresh (only the shipped root trusted), a refresh with nothing changed, a
// publish of one package (`berth app publish`'s code, end to end over HTTP), the refresh after it, resolving the
// new package (its publisher's new role), and the gateway's resident memory.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Interface } from 'node:readline';
import { addPublishers, commitRoles, initRepository, loadState } from '../../src/catalog/repository/repository.ts';
import { layoutOf } from '../../src/catalog/repository/repository-layout.ts';
import { binOfVendor } from '../../src/catalog/repository/hash-bins.ts';
import { generateKeyPairPem, signingKeyFromPem } from '../../src/catalog/tuf/keys.ts';
import { DAY, expiryIn, signEnvelope, SPEC_VERSION, toFileBytes } from '../../src/catalog/tuf/signed-metadata.ts';
import type { JsonObject } from '../../src/catalog/tuf/signed-metadata.ts';
import { packApp } from '../../src/catalog/package/package-writer.ts';
import { publishPackage } from '../../src/catalog/publisher/publish-package.ts';
import { appManifest, writeImageArchive } from '../helpers/catalog-fixture.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PUBLISHERS = Number(process.env['BENCH_PUBLISHERS'] ?? 10_000);
const PACKAGES = Number(process.env['BENCH_PACKAGES'] ?? 100_000);
const BINS = Number(process.env['BENCH_BINS'] ?? 256);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const CACHE = process.env['BENCH_CACHE'] ?? join(tmpdir(), 'berth-bench-catalog-scale');
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const vendorOf = (index: number): string => `publisher-${String(index).padStart(6, '0')}.example`;

interface Generated {
  /** The publisher whose app the gateway resolves. */
  readVendor: string;
  /** The publisher that publishes during the run. */
  publishVendor: string;
  publishKeyPem: string;
  generationMs: number;
}

/** The catalog for these parameters, generated unless the cache holds it. */
async function cachedCatalog(): Promise<{ cacheDir: string; generated: Generated; fromCache: boolean }> {
  const cacheDir = join(CACHE, `p${PUBLISHERS}-k${PACKAGES}-b${BINS}`);
  const doneFile = join(cacheDir, 'generated.json');
  if (existsSync(doneFile)) return { cacheDir, generated: JSON.parse(await readFile(doneFile, 'utf8')) as Generated, fromCache: true };
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(cacheDir, { recursive: true });
  const started = performance.now();
  const dir = join(cacheDir, 'catalog');
  const offlineKeysDir = join(cacheDir, 'offline-keys');
  await initRepository(dir, { offlineKeysDir, bins: BINS });
  const pairs = Array.from({ length: PUBLISHERS }, () => generateKeyPairPem());
  await addPublishers(dir, pairs.map((pair, index) => ({ vendor: vendorOf(index), publicKeyPem: pair.publicPem })), { offlineKeysDir });
  const layout = layoutOf(dir, offlineKeysDir);
  const roles = new Map<string, { version: number; bytes: Buffer }>();
  const expires = expiryIn(365 * DAY);
  for (let index = 0; index < PUBLISHERS; index++) {
    const vendor = vendorOf(index);
    const count = Math.floor(PACKAGES / PUBLISHERS) + (index < PACKAGES % PUBLISHERS ? 1 : 0);
    const targets: JsonObject = {};
    for (let app = 0; app < count; app++) {
      const name = `app-${app}`;
      const length = 1_000_000 + index + app;
      const custom = {
        name,
        vendor,
        version: '1.0.0',
        description: `${name} of ${vendor}`,
        requiresBerth: '>=0.1.0',
        packageSize: length,
        unpackedSize: 2 * length,
        executionUnits: [{ name: 'main', memoryKiB: 8192, cpuPercent: 10, diskKiB: 1024 }],
      };
      targets[`${vendor}/${name}/${name}-1.0.0.berth`] = { length, hashes: { sha256: (index * 1000 + app).toString(16).padStart(64, '0') }, custom };
    }
    const role = signEnvelope({ _type: 'targets', spec_version: SPEC_VERSION, version: 1, expires, targets }, [signingKeyFromPem(pairs[index]!.privatePem)]);
    roles.set(vendor, { version: 1, bytes: toFileBytes(role) });
  }
  await commitRoles(layout, await loadState(layout), roles);
  const generated: Generated = {
    readVendor: vendorOf(0),
    publishVendor: vendorOf(PUBLISHERS - 1),
    publishKeyPem: pairs[PUBLISHERS - 1]!.privatePem,
    generationMs: performance.now() - started,
  };
  await writeFile(doneFile, JSON.stringify(generated));
  return { cacheDir, generated, fromCache: false };
}

function startServer(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'catalog', 'serve', '--dir', dir, '--port', '0', '--log-level', 'warn'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = async (): Promise<void> => {
    if (server.exitCode !== null) return;
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  };
  return new Promise((resolve, reject) => {
    createInterface({ input: server.stdout }).on('line', (line) => {
      const match = /at (http:\/\/\S+)/.exec(line);
      if (match) resolve({ url: match[1]!, stop });
    });
    server.once('exit', (code) => {
      reject(new Error(`catalog server exited (${code})`));
    });
  });
}

interface Resolve {
  ms: number;
  version: string;
  rssMiB: number;
  steadyRssMiB: number;
  heapMiB: number;
  peakRssMiB: number;
}

interface Ready {
  rssMiB: number;
  heapMiB: number;
}

function startGateway(catalogUrl: string, rootFile: string, stateDir: string): { resolve: (url: string) => Promise<Resolve>; ready: Promise<Ready>; stop: () => Promise<void> } {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(root, 'test/bench/catalog-scale.child.ts'), catalogUrl, rootFile, stateDir], { cwd: root });
  child.stderr.pipe(process.stderr);
  const lines: Interface = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = (): Promise<string> => new Promise((resolve) => waiting.push(resolve));
  const ready = next().then((line) => JSON.parse(line) as Ready);
  return {
    ready,
    async resolve(url) {
      const answer = next();
      child.stdin.write(`${url}\n`);
      const result = JSON.parse(await answer) as Resolve & { error?: string };
      if (result.error) throw new Error(`gateway: ${result.error}`);
      return result;
    },
    async stop() {
      child.stdin.end();
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function fileSize(path: string): Promise<string> {
  return `${((await stat(path)).size / 1024).toFixed(1)} KiB`;
}

const { cacheDir, generated, fromCache } = await cachedCatalog();
const work = await mkdtemp(join(tmpdir(), 'berth-bench-catalog-scale-run-'));
const dir = join(work, 'catalog');
// Hard links: nothing in the catalog is ever rewritten in place, so the cached copy stays as generated.
const copy = spawnSync('cp', ['-al', join(cacheDir, 'catalog'), dir]);
if (copy.status !== 0) throw new Error(`cp -al failed: ${copy.stderr.toString()}`);
const server = await startServer(dir);
const gateway = startGateway(server.url, join(dir, 'root.json'), join(work, 'gateway'));
try {
  const layout = layoutOf(dir);
  const state = await loadState(layout);
  const snapshotVersion = state.snapshot.signed['version'] as number;
  const readBin = binOfVendor(generated.readVendor, BINS);
  console.log(`bench:catalog-scale on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}`);
  console.log(`catalog: ${PUBLISHERS} publishers in ${BINS} bins, ${PACKAGES} packages; ${fromCache ? 'from the cache' : 'generated'} in ${(generated.generationMs / 1000).toFixed(1)} s (${cacheDir})`);
  console.log(
    `metadata: snapshot ${await fileSize(layout.versionedMetadata(snapshotVersion, 'snapshot'))}, targets ${await fileSize(layout.versionedMetadata(state.targets.signed['version'] as number, 'targets'))}, ` +
      `a bin (${readBin}) ${await fileSize(layout.versionedMetadata(1, readBin))}, a publisher role ${await fileSize(layout.versionedMetadata(1, generated.readVendor))}`,
  );

  const readUrl = `${server.url}/targets/${generated.readVendor}/app-0/app-0-1.0.0.berth`;
  const ready = await gateway.ready;
  const first = await gateway.resolve(readUrl);
  const unchanged: Resolve[] = [];
  for (let round = 0; round < ROUNDS; round++) unchanged.push(await gateway.resolve(readUrl));

  const image = join(work, 'image.tar');
  await writeImageArchive(image, 64 * 1024, 'scale');
  const publishMs: number[] = [];
  const afterPublish: Resolve[] = [];
  const newTarget: Resolve[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const version = `1.1.${round}`;
    const file = join(work, `app-0-${version}.berth`);
    await packApp({ manifest: appManifest('app-0', version, generated.publishVendor), imagePath: image, outPath: file });
    const started = performance.now();
    const published = await publishPackage({ catalogUrl: server.url, packageFile: file, privateKeyPem: generated.publishKeyPem });
    publishMs.push(performance.now() - started);
    afterPublish.push(await gateway.resolve(readUrl));
    const resolved = await gateway.resolve(published.url);
    if (resolved.version !== version) throw new Error(`resolved ${resolved.version}, published ${version}`);
    newTarget.push(resolved);
  }
  const all = [first, ...unchanged, ...afterPublish, ...newTarget];
  const ms = (values: Resolve[]): string => `${median(values.map((r) => r.ms)).toFixed(0)} ms`;
  console.log(`\ngateway (one long-running client; medians of ${ROUNDS})`);
  console.log(`  first refresh + lookup (root, timestamp, snapshot, targets, bin, role):  ${first.ms.toFixed(0)} ms`);
  console.log(`  refresh with nothing changed + lookup:                                  ${ms(unchanged)}`);
  console.log(`  refresh after one publisher published + lookup (new snapshot):          ${ms(afterPublish)}`);
  console.log(`  resolving the newly published package (its publisher's new role):       ${ms(newTarget)}`);
  const range = (pick: (r: Resolve) => number): string => `${Math.min(...all.map(pick)).toFixed(1)}–${Math.max(...all.map(pick)).toFixed(1)} MiB`;
  console.log(`  resident memory: ${ready.rssMiB.toFixed(1)} MiB before the first refresh (heap in use ${ready.heapMiB.toFixed(1)} MiB); after each of the ${all.length} refreshes ${range((r) => r.rssMiB)}, ` +
    `after GC ${range((r) => r.steadyRssMiB)} (heap in use ${range((r) => r.heapMiB)}); peak ${Math.max(...all.map((r) => r.peakRssMiB)).toFixed(1)} MiB (${first.peakRssMiB.toFixed(1)} MiB after the first refresh)`);
  console.log(`\npublish of one package (berth app publish, end to end over HTTP; medians of ${ROUNDS}): ${median(publishMs).toFixed(0)} ms (all: ${publishMs.map((v) => v.toFixed(0)).join(', ')} ms)`);
} finally {
  await gateway.stop();
  await server.stop();
  await rm(work, { recursive: true, force: true });
}
