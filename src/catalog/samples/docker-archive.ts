// Writes a container image as a `docker save` archive without Docker (no registry, no daemon): one layer tar
// made from the given entries, an image config, and the archive's manifest.json. Deterministic: fixed times and
// owners, entries in the given order, so the same inputs give the same bytes (the same image ID).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';

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

async function writeLayer(entries: readonly LayerEntry[], outPath: string): Promise<string> {
  const archive = pack();
  const hash = createHash('sha256');
  const writing = pipeline(
    archive,
    async function* (source: AsyncIterable<unknown>) {
      for await (const chunk of source) {
        hash.update(chunk as Buffer);
        yield chunk as Buffer;
      }
    },
    createWriteStream(outPath, { flags: 'wx' }),
  );
  for (const entry of entries) {
    const base = { name: entry.path, mtime: EPOCH, uname: '', gname: '' };
    switch (entry.type) {
      case 'directory':
        archive.entry({ ...base, type: 'directory', mode: entry.mode, uid: entry.uid ?? 0, gid: entry.gid ?? 0 });
        break;
      case 'symlink':
        archive.entry({ ...base, type: 'symlink', linkname: entry.target, mode: 0o777, uid: 0, gid: 0 });
        break;
      case 'file':
        archive.entry({ ...base, mode: entry.mode, uid: 0, gid: 0 }, typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content);
        break;
      case 'file-from': {
        const size = (await stat(entry.source)).size;
        await pipeline(createReadStream(entry.source), archive.entry({ ...base, mode: entry.mode, uid: 0, gid: 0, size }));
        break;
      }
    }
  }
  archive.finalize();
  await writing;
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
    const outer = pack();
    const writing = pipeline(outer, createWriteStream(temp, { flags: 'wx' }));
    const fixed = { mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '', mode: 0o644 };
    outer.entry({ ...fixed, name: 'manifest.json' }, manifest);
    outer.entry({ ...fixed, name: `${imageId}.json` }, config);
    outer.entry({ ...fixed, name: `${diffId}/`, type: 'directory', mode: 0o755 });
    await pipeline(createReadStream(layerFile), outer.entry({ ...fixed, name: `${diffId}/layer.tar`, size: (await stat(layerFile)).size }));
    outer.finalize();
    await writing;
    await rename(temp, options.outPath);
    return { imageId: `sha256:${imageId}`, size: (await stat(options.outPath)).size };
  } finally {
    await rm(layerFile, { force: true });
    await rm(temp, { force: true });
  }
}
