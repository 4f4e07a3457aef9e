// Reading an app package is hostile-input parsing. A package is a tar of exactly `manifest.json` then
// `image.tar` (optionally gzip-compressed as a whole). This is a small tar parser of its own, rather than a
// general extractor, so that every header is checked before any byte is written: only those two regular files,
// in that order, with names that are exactly those (after pax and GNU long-name headers are applied); no links,
// devices, directories or other members; sizes as declared (image.tar exactly as the manifest says, checked
// while streaming); total bytes bounded (decompression bombs); only zero padding after the end marker.
// It runs in one streaming pass over bytes as they arrive, with flat memory, and writes only
// `<workDir>/image.tar`, which it removes again on any failure.
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

export interface ReadPackageOptions {
  /** The private folder image.tar is written to (created if missing). */
  workDir: string;
  /** Upper bound on the bytes the tar stream may expand to. */
  maxUnpackedBytes: number;
  maxManifestBytes?: number;
}

export interface ReadPackageResult {
  manifest: PackageManifest;
  imagePath: string;
  /** Bytes of the members (manifest.json + image.tar). */
  unpackedSize: number;
}

const BLOCK = 512;
const MANIFEST = 'manifest.json';
const IMAGE = 'image.tar';
const MAX_EXTENSION_BYTES = 64 * 1024;
const WRITE_BATCH = 1024 * 1024;

/** Pulls exact byte counts out of a chunked stream, counting every byte against a limit. */
class ByteSource {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #pending: Buffer = Buffer.alloc(0);
  #total = 0;
  readonly #limit: number;

  constructor(source: AsyncIterable<Uint8Array>, limit: number) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#limit = limit;
  }

  async #pull(): Promise<boolean> {
    const next = await this.#iterator.next();
    if (next.done) return false;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#total += chunk.length;
    if (this.#total > this.#limit) {
      throw new PackageError('TOO_LARGE', `package unpacks to more than the ${this.#limit} bytes allowed`);
    }
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    return true;
  }

  /** Exactly n bytes, or undefined at a clean end of stream before any of them. */
  async read(n: number, what: string): Promise<Buffer | undefined> {
    while (this.#pending.length < n) {
      if (!(await this.#pull())) {
        if (this.#pending.length === 0) return undefined;
        throw new PackageError('TRUNCATED', `package ends in the middle of ${what}`);
      }
    }
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
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
      const take = Math.min(left, this.#pending.length);
      const chunk = this.#pending.subarray(0, take);
      this.#pending = this.#pending.subarray(take);
      left -= take;
      await sink(chunk);
    }
  }

  /** After the end marker only zero padding may follow. */
  async expectOnlyZeros(): Promise<void> {
    for (;;) {
      if (this.#pending.some((byte) => byte !== 0)) throw new PackageError('TRAILING_DATA', 'data after the end of the archive');
      this.#pending = Buffer.alloc(0);
      if (!(await this.#pull())) return;
    }
  }

  async close(): Promise<void> {
    await this.#iterator.return?.();
  }
}

interface Header {
  name: string;
  size: number;
  type: string;
}

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readNumber(block: Buffer, offset: number, length: number, member: string): number {
  const field = block.subarray(offset, offset + length);
  if ((field[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian binary after the marker bit. Negative values are refused.
    if ((field[0]! & 0x40) !== 0) throw new PackageError('CORRUPT', 'negative size in tar header', member);
    let value = field[0]! & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value)) throw new PackageError('TOO_LARGE', 'size in tar header too large', member);
    return value;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new PackageError('CORRUPT', `invalid number '${text}' in tar header`, member);
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = readString(block, 148, 8).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  const value = Number.parseInt(stored, 8);
  return value === unsigned || value === signed;
}

function parsePax(data: Buffer, member: string): Map<string, string> {
  // Records are "<length> <key>=<value>\n", length counting the whole record.
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = Number.parseInt(data.subarray(offset, space).toString('latin1'), 10);
    if (space === -1 || !Number.isInteger(length) || length <= 0 || offset + length > data.length) {
      throw new PackageError('CORRUPT', 'malformed pax extended header', member);
    }
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals === -1) throw new PackageError('CORRUPT', 'malformed pax record', member);
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

const UNSAFE_TYPES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
  g: 'a pax global header',
  K: 'a GNU long link name',
};

function checkName(name: string): void {
  if (name.startsWith('/')) throw new PackageError('UNSAFE_MEMBER', 'absolute path', name);
  const segments = name.split('/');
  if (segments.includes('..')) throw new PackageError('UNSAFE_MEMBER', 'path escapes the package (..)', name);
  if (name.includes('\0') || name.includes('\\')) throw new PackageError('UNSAFE_MEMBER', 'invalid characters in name', name);
}

/** Reads headers (applying pax and GNU long-name extensions) until a member header or the end marker. */
async function nextHeader(source: ByteSource, previous: string | undefined): Promise<Header | undefined> {
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  for (;;) {
    const block = await source.read(BLOCK, 'a tar header');
    if (!block) throw new PackageError(previous ? 'TRUNCATED' : 'NOT_A_PACKAGE', previous ? 'package ends without a tar end marker' : 'empty package');
    if (block.every((byte) => byte === 0)) {
      // End of archive: a second zero block may follow, then only zero padding.
      return undefined;
    }
    if (!checksumOk(block)) {
      if (!previous) throw new PackageError('NOT_A_PACKAGE', 'not a tar archive (bad header checksum)');
      throw new PackageError('CORRUPT', 'the next tar header is corrupt: the member is longer than its header says, or the package is damaged', previous);
    }
    const rawName = readString(block, 0, 100);
    const prefix = block.subarray(257, 263).toString('latin1').startsWith('ustar') ? readString(block, 345, 155) : '';
    const headerName = prefix ? `${prefix}/${rawName}` : rawName;
    const type = String.fromCharCode(block[156]!);
    const size = readNumber(block, 124, 12, headerName || '(unnamed member)');
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L') {
      if (size > MAX_EXTENSION_BYTES) throw new PackageError('TOO_LARGE', 'extension header too large', headerName);
      const data = await source.readExact(padded, 'an extension header');
      if (type === 'x') pax = parsePax(data.subarray(0, size), headerName);
      else longName = readString(data, 0, size);
      continue;
    }
    const name = pax?.get('path') ?? longName ?? headerName;
    checkName(name);
    const unsafe = UNSAFE_TYPES[type];
    if (unsafe) throw new PackageError('UNSAFE_MEMBER', `is ${unsafe}; only regular files are allowed`, name);
    if (type !== '0' && type !== '\0' && type !== '7') throw new PackageError('UNSAFE_MEMBER', `unsupported tar entry type '${type}'`, name);
    if (pax?.has('linkpath')) throw new PackageError('UNSAFE_MEMBER', 'carries a link target', name);
    const paxSize = pax?.get('size');
    const finalSize = paxSize === undefined ? size : Number(paxSize);
    if (!Number.isSafeInteger(finalSize) || finalSize < 0) throw new PackageError('CORRUPT', 'invalid size', name);
    return { name, size: finalSize, type };
  }
}

async function* gunzipIfCompressed(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const rest = (async function* (): AsyncGenerator<Uint8Array> {
    yield first.value;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  try {
    if (first.value[0] === 0x1f && first.value[1] === 0x8b) {
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

/** Collects writes into large batches: one syscall per MiB, not per network chunk. */
class BatchedWriter {
  readonly #handle: FileHandle;
  #batch: Buffer[] = [];
  #size = 0;
  constructor(handle: FileHandle) {
    this.#handle = handle;
  }
  async write(chunk: Buffer): Promise<void> {
    this.#batch.push(chunk);
    this.#size += chunk.length;
    if (this.#size >= WRITE_BATCH) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.#size === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#size = 0;
    await this.#handle.writev(batch);
  }
}

export async function readPackage(source: AsyncIterable<Uint8Array>, options: ReadPackageOptions): Promise<ReadPackageResult> {
  const maxManifestBytes = options.maxManifestBytes ?? 64 * 1024;
  // Tar framing adds headers and padding to the members: allow for them on top of the unpacked limit.
  const bytes = new ByteSource(gunzipIfCompressed(source), options.maxUnpackedBytes + maxManifestBytes + 64 * BLOCK);
  const imagePath = join(options.workDir, IMAGE);
  let imageCreated = false;
  let handle: FileHandle | undefined;
  try {
    const first = await nextHeader(bytes, undefined);
    if (!first) throw new PackageError('MISSING_MEMBER', 'package is an empty tar archive', MANIFEST);
    if (first.name !== MANIFEST) {
      throw new PackageError(first.name === IMAGE ? 'UNEXPECTED_MEMBER' : 'UNEXPECTED_MEMBER', `manifest.json must be the first member; found ${JSON.stringify(first.name)}`, first.name);
    }
    if (first.size > maxManifestBytes) throw new PackageError('TOO_LARGE', `larger than ${maxManifestBytes} bytes`, MANIFEST);
    const manifestBytes = await bytes.readExact(Math.ceil(first.size / BLOCK) * BLOCK, MANIFEST);
    let manifestJson: unknown;
    try {
      manifestJson = JSON.parse(manifestBytes.subarray(0, first.size).toString('utf8'));
    } catch {
      throw new PackageError('MANIFEST_INVALID', 'not valid JSON', MANIFEST);
    }
    const manifest = parsePackageManifest(manifestJson);
    if (first.size + manifest.image.size > options.maxUnpackedBytes) {
      throw new PackageError('TOO_LARGE', `declares ${manifest.image.size} bytes; the limit is ${options.maxUnpackedBytes - first.size}`, IMAGE);
    }

    const second = await nextHeader(bytes, MANIFEST);
    if (!second) throw new PackageError('MISSING_MEMBER', 'package has no image', IMAGE);
    if (second.name === MANIFEST) throw new PackageError('DUPLICATE_MEMBER', 'appears twice', MANIFEST);
    if (second.name !== IMAGE) throw new PackageError('UNEXPECTED_MEMBER', 'not part of a berth package (expected image.tar)', second.name);
    if (second.size !== manifest.image.size) {
      throw new PackageError('SIZE_MISMATCH', `is ${second.size} bytes; the manifest declares ${manifest.image.size}`, IMAGE);
    }
    await mkdir(options.workDir, { recursive: true });
    handle = await open(imagePath, 'wx', 0o600);
    imageCreated = true;
    const writer = new BatchedWriter(handle);
    const hash = createHash('sha256');
    await bytes.stream(second.size, IMAGE, async (chunk) => {
      hash.update(chunk);
      await writer.write(chunk);
    });
    await writer.flush();
    await handle.close();
    handle = undefined;
    const sha256 = hash.digest('hex');
    if (sha256 !== manifest.image.sha256) throw new PackageError('HASH_MISMATCH', `sha256 ${sha256} differs from the manifest's ${manifest.image.sha256}`, IMAGE);
    const padding = Math.ceil(second.size / BLOCK) * BLOCK - second.size;
    if (padding > 0) await bytes.readExact(padding, 'the padding after image.tar');

    const third = await nextHeader(bytes, IMAGE);
    if (third) {
      const code = third.name === MANIFEST || third.name === IMAGE ? 'DUPLICATE_MEMBER' : 'UNEXPECTED_MEMBER';
      throw new PackageError(code, code === 'DUPLICATE_MEMBER' ? 'appears twice' : 'not part of a berth package', third.name);
    }
    await bytes.expectOnlyZeros();
    return { manifest, imagePath, unpackedSize: first.size + second.size };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    if (imageCreated) await rm(imagePath, { force: true });
    await bytes.close().catch(() => undefined);
    throw error;
  }
}

export function readPackageFile(path: string, options: ReadPackageOptions): Promise<ReadPackageResult> {
  return readPackage(createReadStream(path, { highWaterMark: 1024 * 1024 }), options);
}
