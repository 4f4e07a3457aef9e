// Child of catalog-verify.bench.ts: one gateway-side verification (fresh trusted metadata: a full TUF refresh,
// then download + hash + unpack in one pass), timed inside the process; prints JSON with the peak RSS.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createCatalogClient } from '../../src/catalog/client/catalog-client.ts';

const [catalogUrl, rootFile, packageUrl, work] = process.argv.slice(2) as [string, string, string, string];
await rm(work, { recursive: true, force: true });
await mkdir(join(work, 'unpacked'), { recursive: true });
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 5);
const client = createCatalogClient({ url: catalogUrl, rootFile, stateDir: join(work, 'trusted'), berthVersion: '0.1.0' });
const started = performance.now();
const resolved = await client.resolve(packageUrl);
const refreshed = performance.now();
await client.download(resolved, { workDir: join(work, 'unpacked') });
const finished = performance.now();
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
process.stdout.write(`${JSON.stringify({ totalMs: finished - started, refreshMs: refreshed - started, downloadMs: finished - refreshed, peakRssMiB: peakRss / 1048576 })}\n`);
await rm(work, { recursive: true, force: true });
