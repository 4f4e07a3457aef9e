// The publish request on the wire, shared by `berth app publish` and the catalog server:
//   POST /api/v1/publish/<vendor>   Content-Type: application/vnd.berth.publish
//   body = 4-byte big-endian length N | N bytes of the signed role JSON | the package bytes
// The role (the credential) comes first so the server can refuse a bad signature before the package arrives.

export const PUBLISH_CONTENT_TYPE = 'application/vnd.berth.publish';
export const MAX_ROLE_BYTES = 4 * 1024 * 1024;

export function publishPath(vendor: string): string {
  return `/api/v1/publish/${encodeURIComponent(vendor)}`;
}

export function encodePublishHead(roleJson: unknown): Buffer {
  const role = Buffer.from(JSON.stringify(roleJson), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(role.length);
  return Buffer.concat([head, role]);
}

export class PublishFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishFramingError';
  }
}

/**
 * Reads the role from the front of a body stream; returns it and the rest of the stream (the package), without
 * buffering more than the role and one chunk.
 */
export async function decodePublishHead(
  body: AsyncIterable<Uint8Array>,
): Promise<{ roleJson: unknown; rest: AsyncIterable<Uint8Array> }> {
  const iterator = body[Symbol.asyncIterator]();
  let buffered = Buffer.alloc(0);
  let roleLength: number | undefined;
  for (;;) {
    if (roleLength === undefined && buffered.length >= 4) {
      roleLength = buffered.readUInt32BE(0);
      if (roleLength === 0 || roleLength > MAX_ROLE_BYTES) throw new PublishFramingError(`role metadata length ${roleLength} is outside 1..${MAX_ROLE_BYTES}`);
    }
    if (roleLength !== undefined && buffered.length >= 4 + roleLength) break;
    const next = await iterator.next();
    if (next.done) throw new PublishFramingError('body ended before the role metadata was complete');
    buffered = Buffer.concat([buffered, next.value]);
  }
  let roleJson: unknown;
  try {
    roleJson = JSON.parse(buffered.subarray(4, 4 + roleLength).toString('utf8'));
  } catch {
    throw new PublishFramingError('role metadata is not JSON');
  }
  const leftover = buffered.subarray(4 + roleLength);
  const rest = (async function* (): AsyncGenerator<Uint8Array> {
    if (leftover.length > 0) yield leftover;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  return { roleJson, rest };
}
