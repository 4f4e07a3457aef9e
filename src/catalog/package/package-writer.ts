// `berth app pack`: app.json + a `docker save` archive → `<name>-<version>.berth`. The image is streamed (it can
// be hundreds of MB), its size and sha256 go into the package's manifest.json, and the tar is deterministic
// (mtime 0, uid/gid 0, no user names): packing the same inputs twice gives the same bytes, hence the same hash.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-stream';
import { parseAppManifest, parsePackageManifest } from './manifest.ts';
import type { PackageManifest } from './manifest.ts';
import { PackageError } from './package-error.ts';

export interface PackResult {
  manifest: PackageManifest;
  packageSize: number;
  packageSha256: string;
  unpackedSize: number;
}

async function sha256File(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { size, sha256: hash.digest('hex') };
}

/** A `docker save` archive has a manifest.json at its root; refuse anything else before packing it. */
async function checkDockerSaveArchive(imagePath: string): Promise<void> {
  const archive = extract();
  let found = false;
  try {
    const reading = pipeline(createReadStream(imagePath), archive);
    for await (const entry of archive) {
      if (entry.header.name === 'manifest.json' || entry.header.name === './manifest.json') found = true;
      entry.resume();
    }
    await reading;
  } catch (error) {
    throw new PackageError('BAD_IMAGE', `${imagePath} is not a tar archive (${(error as Error).message}); give the output of \`docker save\``);
  }
  if (!found) throw new PackageError('BAD_IMAGE', `${imagePath} has no manifest.json at its root: it is not a \`docker save\` archive`);
}

export async function packApp(options: { manifest: unknown; imagePath: string; outPath: string }): Promise<PackResult> {
  const app = parseAppManifest(options.manifest);
  await checkDockerSaveArchive(options.imagePath);
  const image = await sha256File(options.imagePath);
  const manifest = parsePackageManifest({ ...app, image: { file: 'image.tar', size: image.size, sha256: image.sha256 } });
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const fixed = { mtime: new Date(0), mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' };

  const temp = join(dirname(options.outPath), `.${basename(options.outPath)}.${randomBytes(4).toString('hex')}.tmp`);
  const archive = pack();
  const writing = pipeline(archive, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
  try {
    archive.entry({ ...fixed, name: 'manifest.json', size: manifestBytes.length }, manifestBytes);
    const entry = archive.entry({ ...fixed, name: 'image.tar', size: image.size });
    await pipeline(createReadStream(options.imagePath, { highWaterMark: 1024 * 1024 }), entry);
    archive.finalize();
    await writing;
    const written = await sha256File(temp);
    if ((await stat(options.imagePath)).size !== image.size) throw new PackageError('BAD_IMAGE', `${options.imagePath} changed while it was being packed`);
    await rename(temp, options.outPath);
    return { manifest, packageSize: written.size, packageSha256: written.sha256, unpackedSize: manifestBytes.length + image.size };
  } catch (error) {
    archive.destroy();
    await writing.catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
