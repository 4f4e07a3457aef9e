// `berth app pack`: app.json + a `docker save` archive → `<name>-<version>.berth`. The image is streamed (it can
// be hundreds of MB), its size and sha256 go into the package's manifest.json, and the tar is deterministic
// (mtime 0, uid/gid 0, no user names): packing the same inputs twice gives the same bytes, hence the same hash.
// The tar is written by berth's own tar code (tar-writer.ts), the code that reads it back (package-reader.ts): a
// tar library (tar-stream) reads headers far more leniently than a package reader must (README: Libraries).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImageArchiveError, untaggedImageArchive } from '../../runtime/image-archive.ts';
import { parseAppManifest, parsePackageManifest } from './manifest.ts';
import type { PackageManifest } from './manifest.ts';
import { PackageError } from './package-error.ts';
import { SourceChangedError, tarBytes } from './tar-writer.ts';

export interface PackResult {
  manifest: PackageManifest;
  packageSize: number;
  packageSha256: string;
  unpackedSize: number;
}

const READ_CHUNK = 1024 * 1024;

async function sha256File(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * The image must be what the gateway will load: a `docker save` archive that passes the same checks as at
 * install (image-archive.ts), so a package that could never be installed is refused here, with the reason.
 */
async function checkDockerSaveArchive(imagePath: string): Promise<void> {
  try {
    // Read to the end and dropped: the checks run as the bytes go through.
    await pipeline(untaggedImageArchive(createReadStream(imagePath, { highWaterMark: READ_CHUNK })), new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    }));
  } catch (error) {
    if (error instanceof ImageArchiveError) throw new PackageError('BAD_IMAGE', `${imagePath} is not a \`docker save\` archive a gateway can load: ${error.message}`);
    throw new PackageError('BAD_IMAGE', `${imagePath} cannot be read (${(error as Error).message})`);
  }
}

export async function packApp(options: { manifest: unknown; imagePath: string; outPath: string }): Promise<PackResult> {
  const app = parseAppManifest(options.manifest);
  await checkDockerSaveArchive(options.imagePath);
  const image = await sha256File(options.imagePath);
  const manifest = parsePackageManifest({ ...app, image: { file: 'image.tar', size: image.size, sha256: image.sha256 } });
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const temp = join(dirname(options.outPath), `.${basename(options.outPath)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const entries = [
      { name: 'manifest.json', content: manifestBytes },
      { name: 'image.tar', source: options.imagePath, size: image.size },
    ];
    await pipeline(Readable.from(tarBytes(entries)), createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    const written = await sha256File(temp);
    await rename(temp, options.outPath);
    return { manifest, packageSize: written.size, packageSha256: written.sha256, unpackedSize: manifestBytes.length + image.size };
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof SourceChangedError) throw new PackageError('BAD_IMAGE', `${options.imagePath} changed while it was being packed`);
    throw error;
  }
}
