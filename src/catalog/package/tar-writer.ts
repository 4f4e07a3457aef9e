// Writes a tar as a stream of buffers, from headers (tar-header.ts) and contents in memory or streamed from files:
// packages (package-writer.ts) and the sample apps' `docker save` archives (samples/docker-archive.ts).
// Deterministic: the same entries give the same bytes.
import { createReadStream } from 'node:fs';
import { BerthError } from '../../errors/berth-error.ts';
import { BLOCK, encodeHeader } from './tar-header.ts';
import type { HeaderFields } from './tar-header.ts';

export type TarEntry =
  | (Omit<HeaderFields, 'size'> & { content?: Buffer })
  /** A file's contents streamed from `source`, which must still be `size` bytes long. */
  | (Omit<HeaderFields, 'size' | 'type'> & { type?: 'file'; source: string; size: number });

const READ_CHUNK = 1024 * 1024;

/** A file streamed into a tar was not the size its header already gave. */
export class SourceChangedError extends BerthError {
  constructor(source: string) {
    super('TAR_SOURCE_CHANGED', `${source} changed while it was being written into a tar`);
    this.name = 'SourceChangedError';
  }
}

const padding = (size: number): Buffer => Buffer.alloc(Math.ceil(size / BLOCK) * BLOCK - size);

async function* fileContents(source: string, size: number): AsyncGenerator<Buffer> {
  let copied = 0;
  for await (const chunk of createReadStream(source, { highWaterMark: READ_CHUNK })) {
    copied += (chunk as Buffer).length;
    if (copied > size) break;
    yield chunk as Buffer;
  }
  // The header already said how long it is (and a package's manifest its hash).
  if (copied !== size) throw new SourceChangedError(source);
}

/** The tar of `entries`, in their order, with its end marker. */
export async function* tarBytes(entries: Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if ('source' in entry) {
      yield encodeHeader(entry);
      yield* fileContents(entry.source, entry.size);
      yield padding(entry.size);
    } else {
      const content = entry.content ?? Buffer.alloc(0);
      yield encodeHeader({ ...entry, size: content.length });
      if (content.length > 0) yield Buffer.concat([content, padding(content.length)]);
    }
  }
  yield Buffer.alloc(2 * BLOCK);
}
