// bench:catalog — verifying a 100 MB package (download from the local catalog server + hashing + unpacking)
// with berth's catalog client, side by side with `curl` + `sha256sum` + `tar -x` of the same file, in one run.
// The server runs in its own process; each berth verification runs in a fresh process with no trusted metadata
// beyond the shipped root (the worst case: a full TUF refresh). Also a 20 MB package, to show memory stays flat.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { addPublisher, initRepository } from '../../src/catalog/repository/repository.ts';
import { generateKeyPairPem } from '../../src/catalog/tuf/keys.ts';
import { packApp } from '../../src/catalog/package/package-writer.ts';
import { publishPackage } from '../../src/catalog/publisher/publish-package.ts';
import { appManifest, writeImageArchive } from '../helpers/catalog-fixture.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const work = await mkdtemp(join(tmpdir(), 'berth-bench-catalog-'));
const dir = join(work, 'catalog');
const server = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'catalog', 'serve', '--dir', dir, '--port', '0', '--log-level', 'warn'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  const { rootFile } = await initRepository(dir);
  const publisher = generateKeyPairPem();
  await addPublisher(dir, 'bench.example', publisher.publicPem);
  const catalogUrl = await new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout }).on('line', (line) => {
      const match = /at (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    server.once('exit', (code) => {
      reject(new Error(`catalog server exited (${code})`));
    });
  });

  async function publishOfSize(mb: number): Promise<{ url: string; file: string }> {
    const image = join(work, `image-${mb}.tar`);
    await writeImageArchive(image, mb * 1_000_000, `bench-${mb}`);
    const file = join(work, `bench-${mb}.berth`);
    await packApp({ manifest: appManifest(`bench-${mb}`, '1.0.0', 'bench.example'), imagePath: image, outPath: file });
    await rm(image);
    const { url } = await publishPackage({ catalogUrl, packageFile: file, privateKeyPem: publisher.privatePem });
    return { url, file };
  }

  function runBerth(url: string): { totalMs: number; refreshMs: number; downloadMs: number; peakRssMiB: number } {
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test/bench/catalog-verify.child.ts'), catalogUrl, rootFile, url, join(work, 'gateway')], {
      cwd: root,
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`berth verification failed: ${result.stderr}`);
    return JSON.parse(result.stdout.trim()) as ReturnType<typeof runBerth>;
  }

  function runShell(downloadUrl: string): number {
    const scratch = join(work, 'shell');
    const script = `set -e; rm -rf ${scratch}; mkdir -p ${scratch}/x; cd ${scratch}; curl -sf -o p.berth '${downloadUrl}'; sha256sum p.berth > /dev/null; tar -xf p.berth -C x`;
    const started = performance.now();
    const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    const elapsed = performance.now() - started;
    if (result.status !== 0) throw new Error(`shell pipeline failed: ${result.stderr}`);
    return elapsed;
  }

  async function downloadUrlOf(url: string): Promise<string> {
    // The hash-prefixed file name consistent snapshots serve, read from the signed role (what curl would be told).
    const { createCatalogClient } = await import('../../src/catalog/client/catalog-client.ts');
    const client = createCatalogClient({ url: catalogUrl, rootFile, stateDir: join(work, 'probe'), berthVersion: '0.1.0' });
    return (await client.resolve(url)).downloadUrl;
  }

  console.log(`bench:catalog on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}; ${ROUNDS} rounds each, medians`);
  for (const mb of [20, 100]) {
    const { url } = await publishOfSize(mb);
    const downloadUrl = await downloadUrlOf(url);
    runBerth(url);
    runShell(downloadUrl); // warm-up: page cache and JIT
    const berth: ReturnType<typeof runBerth>[] = [];
    const shell: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      berth.push(runBerth(url));
      shell.push(runShell(downloadUrl));
    }
    const berthMs = median(berth.map((r) => r.totalMs));
    const shellMs = median(shell);
    const speed = shellMs / berthMs;
    console.log(`\n${mb} MB package`);
    console.log(`  berth (TUF refresh + download + sha256 + unpack): ${berthMs.toFixed(0)} ms  (refresh ${median(berth.map((r) => r.refreshMs)).toFixed(0)} ms, download+verify+unpack ${median(berth.map((r) => r.downloadMs)).toFixed(0)} ms)`);
    console.log(`  curl + sha256sum + tar -x:                        ${shellMs.toFixed(0)} ms`);
    console.log(`  berth runs at ${(speed * 100).toFixed(0)} % of the shell pipeline's speed (target ≥ 80 %): ${speed >= 0.8 ? 'met' : 'MISSED'}`);
    console.log(`  berth peak RSS: ${median(berth.map((r) => r.peakRssMiB)).toFixed(1)} MiB`);
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  await rm(work, { recursive: true, force: true });
}
