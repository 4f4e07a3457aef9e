// `npm run samples [-- --serve] [-- --port N]`: builds the sample apps' images offline (no Docker, no registry),
// packs them, and publishes them, signed by the sample publisher, to a catalog in build/sample-catalog.
// With --serve the catalog keeps running (Ctrl-C stops it); the package URLs are printed for InstallDU.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { ensureBusybox, ensureNodeModules } from './ensure-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureNodeModules();
ensureBusybox({ required: true });
register();
const { startSampleCatalog } = await import('../src/catalog/samples/sample-catalog.ts');
const args = process.argv.slice(2);
const portIndex = args.indexOf('--port');
const catalog = await startSampleCatalog({
  dir: join(root, 'build', 'sample-catalog'),
  catalogSourceDir: join(root, 'catalog'),
  port: portIndex >= 0 ? Number(args[portIndex + 1]) : 0,
});
console.log(`sample catalog at ${catalog.url} (trust root: ${catalog.rootFile})`);
for (const [release, url] of catalog.packages) console.log(`  ${release.padEnd(26)} ${url}`);
if (args.includes('--serve')) {
  console.log('serving; Ctrl-C stops');
  await new Promise((resolve) => process.once('SIGINT', resolve));
}
await catalog.close();
