// A package's image goes to Docker without the names it carries. `docker load` names the loaded image after the
// archive's manifest.json (RepoTags), or its legacy `repositories` file, or (newer Dockers) its OCI index.json —
// taking each name from whatever image had it: a package could rename the gateway's own `debian:12` to its own
// image. Docker has no "load but do not tag", so the archive is rewritten on its way in: manifest.json loses its
// RepoTags, `repositories`, `index.json` and `oci-layout` are dropped, every other member passes through byte for
// byte. Docker extracts the archive into a folder before it reads manifest.json, so what matters is the file
// that ends up there: the rewriting refuses whatever could put another manifest.json in that folder (a second
// one, one that is not a regular file, a member reached through a symbolic link) and headers tar readers could
// read differently (tar-header.ts). Streaming, with flat memory; only manifest.json (at most 1 MiB) is gathered.
import { Readable } from 'node:stream';
import { applyPaxRecords, BLOCK, checksumMatches, decodeHeader, fileHeader, parsePaxRecords, quoted } from '../catalog/package/tar-header.ts';
import type { TarHeader } from '../catalog/package/tar-header.ts';
import { PackageError } from '../catalog/package/package-error.ts';
import { BerthError } from '../errors/berth-error.ts';

export class ImageArchiveError extends BerthError {
  constructor(message: string) {
    super('BAD_IMAGE_ARCHIVE', message);
    this.name = 'ImageArchiveError';
  }
}

const MANIFEST = 'manifest.json';
// Where Docker (or a newer one) would find names for the image.
const DROPPED = new Set(['repositories', 'index.json', 'oci-layout']);
// `docker save` writes ~300 bytes per image into manifest.json; one image is accepted.
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_PAX_BYTES = 64 * 1024;
// What `docker save` writes: regular files, directories, and symbolic or hard links between layers.
const MEMBER_TYPES = new Map([['0', 'file'], ['\0', 'file'], ['1', 'hardlink'], ['2', 'symlink'], ['5', 'directory']]);
const GZIP_MAGIC = [0x1f, 0x8b];

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #pending: Buffer = Buffer.alloc(0);

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  async #pull(): Promise<boolean> {
    const next = await this.#iterator.next();
    if (next.done) return false;
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    return true;
  }

  /** Exactly n bytes; undefined when the stream ends first. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.#pending.length < n) if (!(await this.#pull())) return undefined;
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
  }

  /** Up to n bytes, left to be read again. */
  async peek(n: number): Promise<Buffer> {
    while (this.#pending.length < n && (await this.#pull()));
    return this.#pending.subarray(0, n);
  }

  async skip(n: number, what: string): Promise<void> {
    const chunks = this.pass(n, what);
    while (!(await chunks.next()).done);
  }

  /** n bytes as they arrive. */
  async *pass(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#pending.length === 0 && !(await this.#pull())) throw new ImageArchiveError(`the image archive ends in the middle of ${what}`);
      const chunk = this.#pending.subarray(0, Math.min(left, this.#pending.length));
      this.#pending = this.#pending.subarray(chunk.length);
      left -= chunk.length;
      yield chunk;
    }
  }

  async close(): Promise<void> {
    await this.#iterator.return?.();
  }
}

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/** The member's path as it lands in the extraction folder: `./a/b/` is `a/b`. */
function normalName(name: string): string {
  let path = name;
  while (path.startsWith('./')) path = path.slice(2);
  while (path.endsWith('/')) path = path.slice(0, -1);
  if (path === '.') path = '';
  if (path.startsWith('/') || path.split('/').some((segment) => segment === '..' || segment === '.' || (segment === '' && path !== ''))) {
    throw new ImageArchiveError(`image archive member ${quoted(name)}: not a plain relative path`);
  }
  return path;
}

/** manifest.json without names: exactly one image, its config and layers as they are. */
function untaggedManifest(data: Buffer): Buffer {
  let entries: unknown;
  try {
    entries = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new ImageArchiveError(`the image archive's manifest.json is not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(entries) || entries.length !== 1) {
    throw new ImageArchiveError(`the image archive must hold exactly one image; its manifest.json lists ${Array.isArray(entries) ? entries.length : 'none'}`);
  }
  const entry = entries[0] as unknown;
  if (typeof entry !== 'object' || entry === null || typeof (entry as { Config?: unknown }).Config !== 'string' || !Array.isArray((entry as { Layers?: unknown }).Layers)) {
    throw new ImageArchiveError("the image archive's manifest.json does not name the image's Config and Layers");
  }
  const untagged: Record<string, unknown> = { ...entry };
  delete untagged['RepoTags'];
  return Buffer.from(JSON.stringify([untagged]));
}

async function nextHeader(bytes: ByteReader, first: boolean): Promise<{ header: TarHeader; raw: Buffer[] } | undefined> {
  if (first) {
    const magic = await bytes.peek(2);
    if (magic[0] === GZIP_MAGIC[0] && magic[1] === GZIP_MAGIC[1]) throw new ImageArchiveError('the image archive is compressed: pack the plain output of `docker save`');
  }
  const block = await bytes.read(BLOCK);
  if (!block) throw new ImageArchiveError(first ? 'the image is not a tar archive (`docker save` output)' : 'the image archive ends without a tar end marker');
  if (block.every((byte) => byte === 0)) return undefined;
  if (!checksumMatches(block)) throw new ImageArchiveError(first ? 'the image is not a tar archive (`docker save` output)' : 'the image archive has a corrupt tar header');
  const header = decodeHeader(block);
  if (header.type !== 'x') return { header, raw: [block] };
  // A pax extended header applies to the member after it: both go on (or are dropped) together.
  if (header.size > MAX_PAX_BYTES) throw new ImageArchiveError(`the image archive has a pax header of ${header.size} bytes (at most ${MAX_PAX_BYTES})`);
  const pax = await bytes.read(padded(header.size));
  const next = await bytes.read(BLOCK);
  if (!pax || !next) throw new ImageArchiveError('the image archive ends in a pax header');
  if (!checksumMatches(next)) throw new ImageArchiveError('the image archive has a corrupt tar header');
  const member = decodeHeader(next);
  if (member.type === 'x') throw new ImageArchiveError(`image archive member ${quoted(member.name)}: two pax headers in a row`);
  return { header: { ...member, size: applyPaxRecords(parsePaxRecords(pax.subarray(0, header.size), member.name), member) }, raw: [block, pax, next] };
}

async function* rewrite(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const bytes = new ByteReader(source);
  try {
    const symlinks: string[] = [];
    let manifestSeen = false;
    for (let first = true; ; first = false) {
      const next = await nextHeader(bytes, first);
      if (!next) {
        if (!manifestSeen) throw new ImageArchiveError('the image archive has no manifest.json (berth loads `docker save` archives)');
        // The end marker; nothing after it reaches Docker.
        yield Buffer.alloc(2 * BLOCK);
        return;
      }
      const { header, raw } = next;
      const kind = MEMBER_TYPES.get(header.type);
      if (!kind) throw new ImageArchiveError(`image archive member ${quoted(header.name)}: tar entry type ${quoted(header.type)} is not accepted`);
      // Go's tar reader (Docker's) reads no data after a link or directory header, whatever its size field says.
      if (kind !== 'file' && header.size !== 0) throw new ImageArchiveError(`image archive member ${quoted(header.name)}: a ${kind} with a size`);
      const name = normalName(header.name);
      const through = symlinks.find((link) => name === link || name.startsWith(`${link}/`));
      if (through !== undefined) throw new ImageArchiveError(`image archive member ${quoted(header.name)}: replaces or goes through the symbolic link ${quoted(through)}`);
      if (kind === 'symlink') symlinks.push(name);
      const dataBytes = kind === 'file' ? padded(header.size) : 0;
      if (name === MANIFEST) {
        if (kind !== 'file') throw new ImageArchiveError('the image archive\'s manifest.json is not a regular file');
        if (manifestSeen) throw new ImageArchiveError('the image archive has two manifest.json');
        if (header.size > MAX_MANIFEST_BYTES) throw new ImageArchiveError(`the image archive's manifest.json is ${header.size} bytes (at most ${MAX_MANIFEST_BYTES})`);
        manifestSeen = true;
        const data = await bytes.read(dataBytes);
        if (!data) throw new ImageArchiveError('the image archive ends in manifest.json');
        const manifest = untaggedManifest(data.subarray(0, header.size));
        yield fileHeader(MANIFEST, manifest.length);
        yield Buffer.concat([manifest, Buffer.alloc(padded(manifest.length) - manifest.length)]);
      } else if (DROPPED.has(name)) {
        await bytes.skip(dataBytes, name);
      } else {
        yield* raw;
        yield* bytes.pass(dataBytes, quoted(header.name));
      }
    }
  } catch (error) {
    // A header tar readers could read differently (tar-header.ts's rules).
    if (error instanceof PackageError) throw new ImageArchiveError(`image archive member ${error.message}`);
    throw error;
  } finally {
    await bytes.close();
  }
}

/** The archive as Docker should load it: no names; an ImageArchiveError (stream error) for an archive refused. */
export function untaggedImageArchive(source: AsyncIterable<Uint8Array>): Readable {
  return Readable.from(rewrite(source), { objectMode: false });
}
