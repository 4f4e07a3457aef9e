// Child of catalog-scale.bench.ts: one long-running gateway-side catalog client (as in the agent: one client, a
// new TUF refresh per resolve). Reads package URLs on stdin, one a line; for each prints JSON with the time of
// resolve() (refresh + target lookup) and the process's memory: resident now, resident and heap in use after a
// full GC (what stays), and the peak so far. Run with --expose-gc.
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { createCatalogClient } from '../../src/catalog/client/catalog-client.ts';

const [catalogUrl, rootFile, stateDir] = process.argv.slice(2) as [string, string, string];
const client = createCatalogClient({ url: catalogUrl, rootFile, stateDir, berthVersion: '0.1.0' });
const MiB = 1024 * 1024;
const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

collect();
process.stdout.write(`${JSON.stringify({ ready: true, rssMiB: process.memoryUsage.rss() / MiB, heapMiB: process.memoryUsage().heapUsed / MiB })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const url = line.trim();
  if (!url) continue;
  try {
    const started = performance.now();
    const resolved = await client.resolve(url);
    const ms = performance.now() - started;
    const rssMiB = process.memoryUsage.rss() / MiB;
    collect();
    process.stdout.write(
      `${JSON.stringify({ ms, version: resolved.custom.version, rssMiB, steadyRssMiB: process.memoryUsage.rss() / MiB, heapMiB: process.memoryUsage().heapUsed / MiB, peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MiB })}\n`,
    );
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: (error as Error).message })}\n`);
  }
}
