// Reading an app package is hostile-input parsing. A package is a tar of exactly `manifest.json` then
// `image.tar` (optionally gzip-compressed as a whole). This is a small tar parser of its own, rather than a
// general extractor, so that every header is checked before any byte is written: only those two regular files,
// in that order, with names that are exactly those; no links, devices, directories, long-name, sparse or global
// headers, and headers only where every tar reader agrees on what they say (tar-header.ts); sizes as declared
// (image.tar exactly as the manifest says, checked while streaming); total bytes bounded (decompression bombs);
// only zero padding after the end marker.
// It runs in one streaming pass over bytes as they arrive, with flat memory, and writes only
// `<workDir>/image.tar`, which it removes again on any failure (checkPackage writes nothing at all).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parsePackageManifest } from './manifest.ts';
import type { PackageManifest } from './manifest.ts';
import { PackageError } from './package-error.ts';
import { applyPaxRecords, BLOCK, checksumMatches, decodeHeader, parsePaxRecords, quoted } from './tar-header.ts';
import type { TarHeader } from './tar-header.ts';

export interface ReadPackageOptions {
  /** The private folder image.tar is written to (created if missing). */
  workDir: string;
  /** Upper bound on the bytes of the members (manifest.json + image.tar). */
  maxUnpackedBytes: number;
  maxManifestBytes?: number;
}

export type CheckPackageOptions = Omit<ReadPackageOptions, 'workDir'>;

export interface ReadPackageResult {
  manifest: PackageManifest;
  imagePath: string;
  /** Bytes of the members (manifest.json + image.tar). */
  unpackedSize: number;
}

export type CheckPackageResult = Omit<ReadPackageResult, 'imagePath'>;

/** What `berth catalog serve` accepts by default, and so what `berth app publish` checks by default. */
export const DEFAULT_MAX_UNPACKED_BYTES = 4 * 1024 ** 3;
export const DEFAULT_MAX_MANIFEST_BYTES = 64 * 1024;
const MANIFEST = 'manifest.json';
const IMAGE = 'image.tar';
// A pax header of a berth member holds a few short records (GNU tar --format=pax writes ~120 bytes).
const MAX_PAX_BYTES = 8 * 1024;
// Tar framing on top of the members: two headers, two pax headers, the members' padding, the end marker and the
// zero padding tar writers add up to a 10 KiB record. 32 KiB covers it.
const FRAMING_BYTES = 64 * BLOCK;
const WRITE_BATCH = 1024 * 1024;

/** Pulls exact byte counts out of a chunked stream, counting every byte taken against a limit. */
class ByteSource {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #pending: Buffer = Buffer.alloc(0);
  #taken = 0;
  readonly #limit: number;
  readonly #unpackedLimit: number;

  /** `limit` is `unpackedLimit`, the limit on the members, plus what tar framing may add to them. */
  constructor(source: AsyncIterable<Uint8Array>, limit: number, unpackedLimit: number) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#limit = limit;
    this.#unpackedLimit = unpackedLimit;
  }

  // Bytes are pulled only as they are needed, so at most one chunk more than the limit is ever inflated.
  async #pull(): Promise<boolean> {
    const next = await this.#iterator.next();
    if (next.done) return false;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    return true;
  }

  #take(n: number): Buffer {
    this.#taken += n;
    if (this.#taken > this.#limit) throw new PackageError('TOO_LARGE', `package unpacks to more than the ${this.#unpackedLimit} bytes allowed`);
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
  }

  /** Exactly n bytes, or undefined at a clean end of stream before any of them. */
  async read(n: number, what: string): Promise<Buffer | undefined> {
    while (this.#pending.length < n) {
      if (!(await this.#pull())) {
        if (this.#pending.length === 0) return undefined;
        throw new PackageError('TRUNCATED', `package ends in the middle of ${what}`);
      }
    }
    return this.#take(n);
  }

  /** Exactly n bytes; the stream ending first is a truncated package. */
  async readExact(n: number, what: string): Promise<Buffer> {
    const bytes = await this.read(n, what);
    if (!bytes) throw new PackageError('TRUNCATED', `package ends before ${what}`);
    return bytes;
  }

  /** Hands n bytes to `sink` as they arrive, without gathering them. */
  async stream(n: number, what: string, sink: (chunk: Buffer) => Promise<void> | void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#pending.length === 0 && !(await this.#pull())) throw new PackageError('TRUNCATED', `package ends in the middle of ${what}`);
      const chunk = this.#take(Math.min(left, this.#pending.length));
      left -= chunk.length;
      await sink(chunk);
    }
  }

  /** After the end marker only zero padding may follow. */
  async expectOnlyZeros(): Promise<void> {
    for (;;) {
      if (this.#pending.some((byte) => byte !== 0)) throw new PackageError('TRAILING_DATA', 'data after the end of the archive');
      this.#take(this.#pending.length);
      if (!(await this.#pull())) return;
    }
  }

  async close(): Promise<void> {
    await this.#iterator.return?.();
  }
}

const REFUSED_TYPES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
  g: 'a pax global header, which would apply to every member after it',
  L: 'a GNU long-name header, which renames the next member',
  K: 'a GNU long-link header, which gives the next member a link target',
  S: 'a GNU sparse file, whose contents tar rebuilds from a map',
  M: 'a GNU multi-volume continuation',
  V: 'a GNU volume label',
  D: 'a GNU dump directory',
  X: 'a Solaris extended header, which tar applies to the next member',
};
// '0' and NUL are regular files; '7' (contiguous file) is a regular file to every reader.
const REGULAR_TYPES = new Set(['0', '\0', '7']);

function checkName(name: string): void {
  if (name.startsWith('/')) throw new PackageError('UNSAFE_MEMBER', 'absolute path', name);
  const segments = name.split('/');
  if (segments.includes('..')) throw new PackageError('UNSAFE_MEMBER', 'path escapes the package (..)', name);
  if (name.includes('\0') || name.includes('\\')) throw new PackageError('UNSAFE_MEMBER', 'invalid characters in name', name);
}

/** The next header block, decoded; undefined at the end marker. `previous` names the member before it. */
async function readHeader(source: ByteSource, previous: string | undefined): Promise<TarHeader | undefined> {
  const block = await source.read(BLOCK, 'a tar header');
  if (!block) throw new PackageError(previous ? 'TRUNCATED' : 'NOT_A_PACKAGE', previous ? 'package ends without a tar end marker' : 'empty package');
  // End of archive: a second zero block may follow, then only zero padding.
  if (block.every((byte) => byte === 0)) return undefined;
  if (!checksumMatches(block)) {
    if (!previous) throw new PackageError('NOT_A_PACKAGE', 'not a tar archive (bad header checksum)');
    throw new PackageError('CORRUPT', 'the next tar header is corrupt: the member is longer than its header says, or the package is damaged', previous);
  }
  return decodeHeader(block);
}

function refuseUnlessRegularFile(header: TarHeader): void {
  const name = header.name || '(unnamed member)';
  const refused = REFUSED_TYPES[header.type];
  if (refused) throw new PackageError('UNSAFE_MEMBER', `is ${refused}; only regular files are allowed`, name);
  if (!REGULAR_TYPES.has(header.type)) throw new PackageError('UNSAFE_MEMBER', `unsupported tar entry type ${quoted(header.type)}`, name);
}

/** Reads the next member's header (with its pax extended header, if any); undefined at the end marker. */
async function nextMember(source: ByteSource, previous: string | undefined): Promise<TarHeader | undefined> {
  let header = await readHeader(source, previous);
  if (!header) return undefined;
  let paxData: Buffer | undefined;
  if (header.type === 'x') {
    const paxName = header.name || '(unnamed pax header)';
    if (header.size > MAX_PAX_BYTES) throw new PackageError('TOO_LARGE', `pax extended header is ${header.size} bytes; at most ${MAX_PAX_BYTES} are accepted`, paxName);
    paxData = (await source.readExact(Math.ceil(header.size / BLOCK) * BLOCK, 'a pax extended header')).subarray(0, header.size);
    header = await readHeader(source, paxName);
    if (!header) throw new PackageError('CORRUPT', 'pax extended header is not followed by a member', paxName);
    if (header.type === 'x') throw new PackageError('UNSAFE_MEMBER', 'is a second pax extended header in a row (tar would apply only the last)', header.name || paxName);
  }
  refuseUnlessRegularFile(header);
  checkName(header.name);
  if (header.linkName !== '') throw new PackageError('UNSAFE_MEMBER', `carries a link target (${quoted(header.linkName)})`, header.name);
  // Errors in the pax records name the member they describe, not the pax header's own (made-up) name.
  if (paxData) return { ...header, size: applyPaxRecords(parsePaxRecords(paxData, header.name), header) };
  return header;
}

/** Yields the stream inflated if it starts with the gzip magic bytes, else as it is. */
async function* gunzipIfCompressed(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  // The magic is two bytes, and a network stream may deliver them in two chunks.
  const head: Uint8Array[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < 2) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  const start = Buffer.concat(head);
  const rest = (async function* (): AsyncGenerator<Uint8Array> {
    if (start.length > 0) yield start;
    for (;;) {
      if (ended) return;
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  try {
    if (start[0] === 0x1f && start[1] === 0x8b) {
      const gunzip = Readable.from(rest).pipe(createGunzip());
      try {
        for await (const chunk of gunzip) yield chunk as Buffer;
      } catch (error) {
        if (error instanceof PackageError) throw error;
        throw new PackageError('CORRUPT', `gzip data is damaged (${(error as Error).message})`);
      } finally {
        gunzip.destroy();
      }
    } else {
      yield* rest;
    }
  } finally {
    await iterator.return?.();
  }
}

/** Where image.tar's bytes go: a file in the work folder, or nowhere (only hashed and counted). */
interface ImageSink {
  write(chunk: Buffer): Promise<void>;
  /** All bytes are in: flush and close. */
  finish(): Promise<void>;
  /** Something failed: remove whatever was written. */
  discard(): Promise<void>;
}

/** Collects writes into large batches: one syscall per MiB, not per network chunk. */
async function fileSink(workDir: string): Promise<ImageSink & { path: string }> {
  const path = join(workDir, IMAGE);
  await mkdir(workDir, { recursive: true });
  let handle: FileHandle | undefined = await open(path, 'wx', 0o600);
  let batch: Buffer[] = [];
  let batchSize = 0;
  const flush = async (): Promise<void> => {
    if (batchSize === 0) return;
    const writing = batch;
    batch = [];
    batchSize = 0;
    await handle!.writev(writing);
  };
  return {
    path,
    async write(chunk) {
      batch.push(chunk);
      batchSize += chunk.length;
      if (batchSize >= WRITE_BATCH) await flush();
    },
    async finish() {
      await flush();
      await handle!.close();
      handle = undefined;
    },
    async discard() {
      await handle?.close().catch(() => undefined);
      handle = undefined;
      await rm(path, { force: true });
    },
  };
}

const nullSink: ImageSink = {
  async write() {},
  async finish() {},
  async discard() {},
};

/** Reads the first member, which must be manifest.json, and parses it. */
async function readManifestMember(bytes: ByteSource, maxManifestBytes: number): Promise<{ manifest: PackageManifest; size: number }> {
  const first = await nextMember(bytes, undefined);
  if (!first) throw new PackageError('MISSING_MEMBER', 'package is an empty tar archive', MANIFEST);
  if (first.name !== MANIFEST) throw new PackageError('UNEXPECTED_MEMBER', `manifest.json must be the first member; found ${quoted(first.name)}`, first.name);
  if (first.size > maxManifestBytes) throw new PackageError('TOO_LARGE', `larger than ${maxManifestBytes} bytes`, MANIFEST);
  const manifestBytes = await bytes.readExact(Math.ceil(first.size / BLOCK) * BLOCK, MANIFEST);
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(manifestBytes.subarray(0, first.size).toString('utf8'));
  } catch {
    throw new PackageError('MANIFEST_INVALID', 'not valid JSON', MANIFEST);
  }
  return { manifest: parsePackageManifest(manifestJson), size: first.size };
}

async function readMembers(source: AsyncIterable<Uint8Array>, options: CheckPackageOptions, makeSink: () => Promise<ImageSink>): Promise<CheckPackageResult> {
  const maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  const bytes = new ByteSource(gunzipIfCompressed(source), options.maxUnpackedBytes + maxManifestBytes + FRAMING_BYTES, options.maxUnpackedBytes);
  let sink: ImageSink | undefined;
  try {
    const { manifest, size: manifestSize } = await readManifestMember(bytes, maxManifestBytes);
    const imageLimit = Math.max(options.maxUnpackedBytes - manifestSize, 0);
    if (manifest.image.size > imageLimit) {
      throw new PackageError('TOO_LARGE', `declares ${manifest.image.size} bytes; the limit is ${imageLimit}`, IMAGE);
    }

    const second = await nextMember(bytes, MANIFEST);
    if (!second) throw new PackageError('MISSING_MEMBER', 'package has no image', IMAGE);
    if (second.name === MANIFEST) throw new PackageError('DUPLICATE_MEMBER', 'appears twice', MANIFEST);
    if (second.name !== IMAGE) throw new PackageError('UNEXPECTED_MEMBER', 'not part of a berth package (expected image.tar)', second.name);
    if (second.size !== manifest.image.size) {
      throw new PackageError('SIZE_MISMATCH', `is ${second.size} bytes; the manifest declares ${manifest.image.size}`, IMAGE);
    }
    sink = await makeSink();
    const hash = createHash('sha256');
    const writing = sink;
    await bytes.stream(second.size, IMAGE, async (chunk) => {
      hash.update(chunk);
      await writing.write(chunk);
    });
    await sink.finish();
    const sha256 = hash.digest('hex');
    if (sha256 !== manifest.image.sha256) throw new PackageError('HASH_MISMATCH', `sha256 ${sha256} differs from the manifest's ${manifest.image.sha256}`, IMAGE);
    const padding = Math.ceil(second.size / BLOCK) * BLOCK - second.size;
    if (padding > 0) await bytes.readExact(padding, 'the padding after image.tar');

    const third = await nextMember(bytes, IMAGE);
    if (third) {
      const code = third.name === MANIFEST || third.name === IMAGE ? 'DUPLICATE_MEMBER' : 'UNEXPECTED_MEMBER';
      throw new PackageError(code, code === 'DUPLICATE_MEMBER' ? 'appears twice' : 'not part of a berth package', third.name);
    }
    await bytes.expectOnlyZeros();
    return { manifest, unpackedSize: manifestSize + second.size };
  } catch (error) {
    await sink?.discard();
    await bytes.close().catch(() => undefined);
    throw error;
  }
}

/** Reads and checks a whole package, writing its image to `<workDir>/image.tar`. */
export async function readPackage(source: AsyncIterable<Uint8Array>, options: ReadPackageOptions): Promise<ReadPackageResult> {
  let imagePath = '';
  const result = await readMembers(source, options, async () => {
    const sink = await fileSink(options.workDir);
    imagePath = sink.path;
    return sink;
  });
  return { ...result, imagePath };
}

/** Reads and checks a whole package as readPackage does, writing nothing: for tools that need only the verdict. */
export function checkPackage(source: AsyncIterable<Uint8Array>, options: CheckPackageOptions): Promise<CheckPackageResult> {
  return readMembers(source, options, () => Promise.resolve(nullSink));
}

/** Reads only the first member, the manifest, and stops: the rest of the package is neither inflated nor checked. */
export async function readPackageManifest(source: AsyncIterable<Uint8Array>, options: { maxManifestBytes?: number } = {}): Promise<PackageManifest> {
  const maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  const bytes = new ByteSource(gunzipIfCompressed(source), maxManifestBytes + FRAMING_BYTES, maxManifestBytes);
  try {
    return (await readManifestMember(bytes, maxManifestBytes)).manifest;
  } finally {
    await bytes.close().catch(() => undefined);
  }
}

function fileStream(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: 1024 * 1024 });
}

export function readPackageFile(path: string, options: ReadPackageOptions): Promise<ReadPackageResult> {
  return readPackage(fileStream(path), options);
}

export function checkPackageFile(path: string, options: CheckPackageOptions): Promise<CheckPackageResult> {
  return checkPackage(fileStream(path), options);
}

export function readPackageManifestFile(path: string, options: { maxManifestBytes?: number } = {}): Promise<PackageManifest> {
  return readPackageManifest(fileStream(path), options);
}
