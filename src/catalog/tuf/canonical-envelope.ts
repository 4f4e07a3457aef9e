// A role as a publisher sends it: the canonical JSON of its envelope, `{"signatures":[…],"signed":{…}}`. Canonical
// JSON sorts keys ("signatures" before "signed") and adds no whitespace, so the bytes of `signed` inside it are
// exactly the bytes that were signed. Their signature can then be checked before they are parsed: parsing a
// stranger's 4 MiB of JSON costs tens of MiB of heap, checking an Ed25519 signature over it costs a hash.
import { verifyEd25519 } from './keys.ts';

const PREFIX = Buffer.from('{"signatures":');
const BOUNDARY = Buffer.from('],"signed":');
/** Room for far more signatures than a publisher role has (one, ~200 bytes). */
const MAX_SIGNATURES_BYTES = 16 * 1024;

export type EnvelopeVerdict = 'signed' | 'unsigned' | 'not-canonical';

/**
 * Whether `bytes`, a canonical envelope, carries valid signatures over its `signed` bytes by at least `threshold`
 * of `keys` (keyid → raw Ed25519 public key, hex). Only the signature list is parsed. A non-canonical layout is
 * reported as such; the caller still verifies the parsed role in full, so this check can only refuse.
 */
export function verifyCanonicalEnvelope(bytes: Buffer, keys: ReadonlyMap<string, string>, threshold: number): EnvelopeVerdict {
  if (!bytes.subarray(0, PREFIX.length).equals(PREFIX) || bytes.at(-1) !== 0x7d /* } */) return 'not-canonical';
  // Inside a canonical string every '"' is escaped, so the first `],"signed":` ends the signature list (a stranger's
  // nested arrays could fool this only into a refusal).
  const end = bytes.subarray(0, PREFIX.length + MAX_SIGNATURES_BYTES + BOUNDARY.length).indexOf(BOUNDARY, PREFIX.length);
  if (end < 0) return 'not-canonical';
  let signatures: unknown;
  try {
    signatures = JSON.parse(bytes.subarray(PREFIX.length, end + 1).toString('utf8'));
  } catch {
    return 'not-canonical';
  }
  if (!Array.isArray(signatures)) return 'not-canonical';
  const signed = bytes.subarray(end + BOUNDARY.length, bytes.length - 1);
  const valid = new Set<string>();
  for (const signature of signatures as unknown[]) {
    const { keyid, sig } = (signature ?? {}) as { keyid?: unknown; sig?: unknown };
    if (typeof keyid !== 'string' || typeof sig !== 'string' || valid.has(keyid)) continue;
    const publicKey = keys.get(keyid);
    if (publicKey !== undefined && verifyEd25519(publicKey, signed, sig)) valid.add(keyid);
  }
  return valid.size >= threshold ? 'signed' : 'unsigned';
}

/**
 * Parses a canonical envelope. Canonical JSON escapes only '"' and '\\' in strings, so a control character may
 * stand there raw, which JSON.parse refuses; with no whitespace outside strings, every such byte is in a string
 * and is escaped here first.
 */
export function parseCanonicalJson(bytes: Buffer): unknown {
  // eslint-disable-next-line no-control-regex
  const text = bytes.toString('utf8').replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return JSON.parse(text);
}
