// TUF metadata as plain JSON: the `{ signed, signatures }` envelope, canonical bytes, signing, expiry dates.
// Building JSON directly (rather than through @tufjs/models' classes) keeps signing linear in the number of
// entries; the models library is used where it verifies (Metadata.fromJSON / verifyDelegate) like tuf-js does.
import { canonicalize } from '@tufjs/canonical-json';
import type { TufSigningKey } from './keys.ts';

export const SPEC_VERSION = '1.0.31';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Signature {
  keyid: string;
  sig: string;
}

export interface Envelope<T extends JsonObject = JsonObject> {
  signed: T;
  signatures: Signature[];
}

export function canonicalBytes(value: Json): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

/** Signs `signed` with every key given (root rotation signs with old and new keys). */
export function signEnvelope<T extends JsonObject>(signed: T, keys: readonly TufSigningKey[]): Envelope<T> {
  const bytes = canonicalBytes(signed);
  return { signed, signatures: keys.map((key) => ({ keyid: key.keyId, sig: key.sign(bytes) })) };
}

/** TUF writes expiry as `YYYY-MM-DDTHH:MM:SSZ`; some clients refuse milliseconds. */
export function expiryIn(milliseconds: number, now = Date.now()): string {
  return new Date(now + milliseconds).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** File bytes as written to the repository: stable formatting so equal metadata gives equal hashes. */
export function toFileBytes(envelope: Envelope): Buffer {
  return Buffer.from(`${JSON.stringify(envelope, null, 1)}\n`, 'utf8');
}

/** The same without indentation, for metadata whose size grows with the number of publishers (snapshot, targets, bins). */
export function toCompactFileBytes(envelope: Envelope): Buffer {
  return Buffer.from(`${JSON.stringify(envelope)}\n`, 'utf8');
}
