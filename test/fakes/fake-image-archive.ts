// What the in-memory runtime learns from a `docker save` archive, checked the way Docker checks it: the archive
// first goes through berth's own rewriting (image-archive.ts, so a refused archive is refused with the same
// message), then manifest.json must name a config file and layers whose sha256 (of the uncompressed tar) are the
// config's diff_ids. The image ID is the sha256 of the config, as Docker computes it.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { untaggedImageArchive } from '../../src/runtime/image-archive.ts';

export class FakeImageLoadError extends Error {
  /** True when berth's own rewriting refused the archive, before "Docker" saw it. */
  readonly beforeEngine: boolean;
  constructor(message: string, beforeEngine: boolean) {
    super(message);
    this.name = 'FakeImageLoadError';
    this.beforeEngine = beforeEngine;
  }
}

export interface LoadedImage {
  imageId: string;
  volumes: string[];
}

// Big enough for the test images (a static busybox layer); a test that loads more is doing something else.
const MAX_MEMBER_BYTES = 64 * 1024 * 1024;

async function membersOf(archive: Readable): Promise<Map<string, Buffer>> {
  const members = new Map<string, Buffer>();
  const reader = extract();
  const untagged = untaggedImageArchive(archive);
  const failure = new Promise<never>((_, reject) => {
    untagged.once('error', (error: Error) => {
      reject(new FakeImageLoadError(error.message, true));
    });
  });
  failure.catch(() => undefined);
  untagged.pipe(reader);
  const reading = (async () => {
    for await (const entry of reader) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of entry) {
        size += (chunk as Buffer).length;
        if (size > MAX_MEMBER_BYTES) throw new FakeImageLoadError(`archive member ${entry.header.name} is larger than the fake loads`, false);
        chunks.push(chunk as Buffer);
      }
      if (entry.header.type === 'file') members.set(entry.header.name.replace(/^\.\//, ''), Buffer.concat(chunks));
    }
  })();
  // Whichever loses the race must not surface later as an unhandled rejection.
  reading.catch(() => undefined);
  try {
    await Promise.race([reading, failure]);
  } finally {
    reader.destroy();
    untagged.destroy();
  }
  return members;
}

export async function readImageArchive(archive: Readable): Promise<LoadedImage> {
  const members = await membersOf(archive);
  const manifest = JSON.parse(members.get('manifest.json')!.toString('utf8')) as [{ Config: string; Layers: string[] }];
  const entry = manifest[0];
  const config = members.get(entry.Config);
  if (!config) throw new FakeImageLoadError(`open ${entry.Config}: no such file or directory`, false);
  let parsed: { rootfs?: { diff_ids?: string[] }; config?: { Volumes?: Record<string, unknown> | null } };
  try {
    parsed = JSON.parse(config.toString('utf8')) as typeof parsed;
  } catch (error) {
    throw new FakeImageLoadError(`invalid image config: ${(error as Error).message}`, false);
  }
  const diffIds = parsed.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) throw new FakeImageLoadError('invalid manifest, layers length mismatch', false);
  entry.Layers.forEach((path, index) => {
    const layer = members.get(path);
    if (!layer) throw new FakeImageLoadError(`open ${path}: no such file or directory`, false);
    const plain = layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer;
    const digest = `sha256:${createHash('sha256').update(plain).digest('hex')}`;
    if (digest !== diffIds[index]) throw new FakeImageLoadError(`layer digest mismatch: ${path} is ${digest}, the config says ${diffIds[index]}`, false);
  });
  return { imageId: `sha256:${createHash('sha256').update(config).digest('hex')}`, volumes: Object.keys(parsed.config?.Volumes ?? {}) };
}
