// A ready catalog with the sample apps published: used by `npm run samples`, the demo and the tests. Creates the
// catalog and the sample publisher's key on first use (kept in `dir`, so URLs and keys stay stable between runs;
// the catalog's offline keys in `dir/offline-keys`, beside the folder the server reads), serves it on 127.0.0.1,
// builds the sample images and publishes every release not yet published.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { addPublisher, initRepository } from '../repository/repository.ts';
import { buildCatalogServer } from '../server/catalog-server.ts';
import { generateKeyPairPem } from '../tuf/keys.ts';
import { buildSamples, publishSamples, SAMPLE_VENDOR } from './sample-apps.ts';

export interface SampleCatalog {
  url: string;
  /** The trust root a gateway ships (config `catalog.root`). */
  rootFile: string;
  /** `<app>@<version>` → package URL for InstallDU. */
  packages: Map<string, string>;
  server: FastifyInstance;
  close(): Promise<void>;
}

export async function startSampleCatalog(options: { dir: string; catalogSourceDir: string; port?: number; logger?: Logger }): Promise<SampleCatalog> {
  const catalogDir = join(options.dir, 'catalog');
  const offlineKeysDir = join(options.dir, 'offline-keys');
  const keyFile = join(options.dir, 'samples-publisher.pem');
  if (!existsSync(join(catalogDir, 'root.json'))) {
    await initRepository(catalogDir, { offlineKeysDir });
    const pair = generateKeyPairPem();
    await writeFile(keyFile, pair.privatePem, { mode: 0o600 });
    await addPublisher(catalogDir, SAMPLE_VENDOR, pair.publicPem, { offlineKeysDir });
  }
  const server = buildCatalogServer({ dir: catalogDir, ...(options.logger ? { logger: options.logger } : {}) });
  await server.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('sample catalog has no port');
  const url = `http://127.0.0.1:${address.port}`;
  try {
    const samples = await buildSamples({ catalogSourceDir: options.catalogSourceDir, outDir: join(options.dir, 'packages') });
    const packages = await publishSamples({ catalogUrl: url, privateKeyPem: await readFile(keyFile, 'utf8'), samples });
    return { url, rootFile: join(catalogDir, 'root.json'), packages, server, close: () => server.close() };
  } catch (error) {
    await server.close();
    throw error;
  }
}
