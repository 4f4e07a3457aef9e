// A real catalog for tests: a TUF repository in a temp folder, served by the real fastify server on a free
// loopback port, with one publisher and a helper to pack small apps. Everything is removed by close().
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { pack as tarPack } from 'tar-stream';
import type { FastifyInstance } from 'fastify';
import { buildCatalogServer } from '../../src/catalog/server/catalog-server.ts';
import { addPublisher, initRepository } from '../../src/catalog/repository/repository.ts';
import type { ExpiryPolicy } from '../../src/catalog/repository/repository.ts';
import { generateKeyPairPem } from '../../src/catalog/tuf/keys.ts';
import { packApp } from '../../src/catalog/package/package-writer.ts';
import { createCatalogClient } from '../../src/catalog/client/catalog-client.ts';
import type { CatalogClient } from '../../src/catalog/client/catalog-client.ts';

export const VENDOR = 'acme.example';

/** A small `docker save`-shaped archive: manifest.json, a config and one layer of `size` pseudo-random bytes. */
export async function writeImageArchive(path: string, size = 64 * 1024, seed = 'image'): Promise<void> {
  const layer = Buffer.alloc(size);
  for (let offset = 0, counter = 0; offset < size; counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    offset += block.copy(layer, offset);
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [`test/${seed}:1`], Layers: ['layer/layer.tar'] }]));
  const archive = tarPack();
  archive.entry({ name: 'manifest.json', size: manifest.length, mtime: new Date(0) }, manifest);
  archive.entry({ name: configName, size: config.length, mtime: new Date(0) }, config);
  archive.entry({ name: 'layer/layer.tar', size: layer.length, mtime: new Date(0) }, layer);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  await writeFile(path, Buffer.concat(chunks));
}

export function appManifest(name: string, version: string, vendor = VENDOR): Record<string, unknown> {
  return {
    name,
    vendor,
    version,
    description: `${name} for tests`,
    requires: { berth: '>=0.1.0' },
    executionUnits: [{ name: 'main', command: ['/bin/sh', '-c', 'sleep 1000'], resources: { memoryKiB: 8192, cpuPercent: 10, diskKiB: 1024 } }],
  };
}

export interface CatalogFixture {
  dir: string;
  url: string;
  work: string;
  publisherKeyPem: string;
  server: FastifyInstance;
  /** Packs an app into work/; returns the package path. */
  packApp(name: string, version: string, options?: { imageSize?: number; vendor?: string }): Promise<string>;
  /** A fresh gateway-side client with its own trusted-metadata folder (or a given one). */
  client(stateDir?: string): CatalogClient;
  close(): Promise<void>;
}

export async function startCatalog(options: { expiry?: ExpiryPolicy; now?: () => number; rootKeys?: number; rootThreshold?: number } = {}): Promise<CatalogFixture> {
  const work = await mkdtemp(join(tmpdir(), 'berth-catalog-test-'));
  const dir = join(work, 'catalog');
  const { rootFile } = await initRepository(dir, {
    ...(options.expiry ? { expiry: options.expiry } : {}),
    ...(options.rootKeys ? { rootKeys: options.rootKeys } : {}),
    ...(options.rootThreshold ? { rootThreshold: options.rootThreshold } : {}),
  });
  const publisher = generateKeyPairPem();
  await addPublisher(dir, VENDOR, publisher.publicPem, options.expiry ? { expiry: options.expiry } : {});
  const server = buildCatalogServer({ dir, ...(options.expiry ? { expiry: options.expiry } : {}), ...(options.now ? { now: options.now } : {}) });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('catalog server has no port');
  const url = `http://127.0.0.1:${address.port}`;
  let clients = 0;
  return {
    dir,
    url,
    work,
    publisherKeyPem: publisher.privatePem,
    server,
    async packApp(name, version, packOptions = {}) {
      const image = join(work, `${name}-${version}.image.tar`);
      await writeImageArchive(image, packOptions.imageSize, `${name}-${version}`);
      const out = join(work, `${name}-${version}.berth`);
      await packApp({ manifest: appManifest(name, version, packOptions.vendor), imagePath: image, outPath: out });
      return out;
    },
    client(stateDir) {
      return createCatalogClient({ url, rootFile, stateDir: stateDir ?? join(work, `gateway-${++clients}`), berthVersion: '0.1.0', idleTimeoutMs: 5_000 });
    },
    async close() {
      await server.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}
