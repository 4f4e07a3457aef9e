// Writes a container image as a `docker save` archive without Docker (no registry, no daemon): one layer tar
// made from the given entries, an image config, and the archive's manifest.json. Deterministic: fixed times and
// owners, entries in the given order, so the same inputs give the same bytes (the same image ID).
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tarBytes } from '../package/tar-writer.ts';
import type { TarEntry } from '../package/tar-writer.ts';

export type LayerEntry =
  | { type: 'directory'; path: string; mode: number; uid?: number; gid?: number }
  | { type: 'file'; path: string; mode: number; content: Buffer | string }
  | { type: 'file-from'; path: string; mode: number; source: string }
  | { type: 'symlink'; path: string; target: string };

export interface ImageConfig {
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
  labels: Record<string, string>;
}

const EPOCH = new Date(0);

async function toTarEntry(entry: LayerEntry): Promise<TarEntry> {
  switch (entry.type) {
    case 'directory':
      return { name: entry.path, type: 'directory', mode: entry.mode, uid: entry.uid ?? 0, gid: entry.gid ?? 0 };
    case 'symlink':
      return { name: entry.path, type: 'symlink', linkName: entry.target, mode: 0o777 };
    case 'file':
      return { name: entry.path, mode: entry.mode, content: typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content };
    case 'file-from':
      return { name: entry.path, mode: entry.mode, source: entry.source, size: (await stat(entry.source)).size };
  }
}

/** Writes the layer tar; returns its sha256 (the layer's diff ID). */
async function writeLayer(entries: readonly LayerEntry[], outPath: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(
    Readable.from(tarBytes(await Promise.all(entries.map(toTarEntry)))),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(outPath, { flags: 'wx' }),
  );
  return hash.digest('hex');
}

/** Returns the image ID (sha256 of the config), which is what `docker load` reports. */
export async function writeDockerArchive(options: { outPath: string; repoTag: string; entries: readonly LayerEntry[]; config: ImageConfig }): Promise<{ imageId: string; size: number }> {
  const temp = join(dirname(options.outPath), `.${basename(options.outPath)}.${randomBytes(4).toString('hex')}`);
  const layerFile = `${temp}.layer`;
  try {
    const diffId = await writeLayer(options.entries, layerFile);
    const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    const config = Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        created: EPOCH.toISOString(),
        config: { Cmd: options.config.cmd, Env: options.config.env, User: options.config.user, WorkingDir: options.config.workingDir, Labels: options.config.labels },
        rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
        history: [{ created: EPOCH.toISOString(), created_by: 'berth sample image builder (no Docker)' }],
      }),
    );
    const imageId = createHash('sha256').update(config).digest('hex');
    const manifest = Buffer.from(JSON.stringify([{ Config: `${imageId}.json`, RepoTags: [options.repoTag], Layers: [`${diffId}/layer.tar`] }]));
    const outer: TarEntry[] = [
      { name: 'manifest.json', content: manifest },
      { name: `${imageId}.json`, content: config },
      { name: `${diffId}/`, type: 'directory', mode: 0o755 },
      { name: `${diffId}/layer.tar`, source: layerFile, size: (await stat(layerFile)).size },
    ];
    await pipeline(Readable.from(tarBytes(outer)), createWriteStream(temp, { flags: 'wx' }));
    await rename(temp, options.outPath);
    return { imageId: `sha256:${imageId}`, size: (await stat(options.outPath)).size };
  } finally {
    await rm(layerFile, { force: true });
    await rm(temp, { force: true });
  }
}
