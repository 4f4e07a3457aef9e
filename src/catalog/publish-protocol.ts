// The publish request on the wire, shared by `berth app publish` and the catalog server:
//   POST /api/v1/publish/<vendor>   Content-Type: application/vnd.berth.publish
//   body = 4-byte big-endian length N | N bytes of the signed role (canonical JSON) | the package bytes
// The role (the credential) comes first so the server can refuse a bad signature before the package arrives.
import { canonicalBytes } from './tuf/signed-metadata.ts';
import type { Envelope, Json } from './tuf/signed-metadata.ts';
import { BerthError } from '../errors/berth-error.ts';

export const PUBLISH_CONTENT_TYPE = 'application/vnd.berth.publish';
export const MAX_ROLE_BYTES = 4 * 1024 * 1024;
const LENGTH_BYTES = 4;

export function publishPath(vendor: string): string {
  return `/api/v1/publish/${encodeURIComponent(vendor)}`;
}

export class PublishFramingError extends BerthError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
    this.name = 'PublishFramingError';
  }
}

/**
 * The head of a publish body. The role goes as the canonical JSON of its envelope, so that the server can check
 * its signature on the bytes as they arrive, before it parses any of them (tuf/canonical-envelope.ts).
 */
export function encodePublishHead(role: Envelope): Buffer {
  const bytes = canonicalBytes(role as unknown as Json);
  if (bytes.length > MAX_ROLE_BYTES) {
    throw new PublishFramingError(`the signed role is ${bytes.length} bytes; a catalog accepts at most ${MAX_ROLE_BYTES}`);
  }
  const head = Buffer.alloc(LENGTH_BYTES);
  head.writeUInt32BE(bytes.length);
  return Buffer.concat([head, bytes]);
}

/** The largest body a publish of a package of `maxPackageBytes` can have. */
export function maxPublishBodyBytes(maxPackageBytes: number): number {
  return LENGTH_BYTES + MAX_ROLE_BYTES + maxPackageBytes;
}

/**
 * Reads the role from the front of a body stream and returns its bytes, unparsed, and the rest of the stream (the
 * package). It buffers no more than the role and one chunk, and parses nothing: the server checks the role's
 * signature on these bytes before it parses them.
 */
export async function decodePublishHead(
  body: AsyncIterable<Uint8Array>,
): Promise<{ roleBytes: Buffer; rest: AsyncIterable<Uint8Array> }> {
  // A manual iterator, never returned: ending a for-await early would destroy the request and its socket before
  // the server could answer.
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let received = 0;
  let roleLength: number | undefined;
  while (roleLength === undefined || received < LENGTH_BYTES + roleLength) {
    const next = await iterator.next();
    if (next.done) throw new PublishFramingError('body ended before the role metadata was complete');
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    chunks.push(chunk);
    received += chunk.length;
    if (roleLength === undefined && received >= LENGTH_BYTES) {
      roleLength = Buffer.concat(chunks).readUInt32BE(0);
      if (roleLength === 0 || roleLength > MAX_ROLE_BYTES) throw new PublishFramingError(`role metadata length ${roleLength} is outside 1..${MAX_ROLE_BYTES}`);
    }
  }
  // One copy of the role at the end, not one per chunk.
  const buffered = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
  const roleBytes = buffered.subarray(LENGTH_BYTES, LENGTH_BYTES + roleLength);
  const leftover = Buffer.from(buffered.subarray(LENGTH_BYTES + roleLength));
  const rest = (async function* (): AsyncGenerator<Uint8Array> {
    if (leftover.length > 0) yield leftover;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  return { roleBytes, rest };
}
