// Deployment Unit UUIDs as TR-181 Annex C defines them: RFC 4122 version 5 (SHA-1, name-based) in the DNS
// namespace, over `<Name>.<Vendor>.` where every character of Name outside [0-9A-Za-z_-] is percent-encoded
// (lower-case hex: `sample.1` → `sample%2e1`). Stable across versions, so an update keeps the DU's UUID.
import { createHash } from 'node:crypto';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

function toBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function format(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(toBytes(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return format(bytes);
}

/** The name Annex C hashes: `<Name with unsafe characters %-encoded>.<Vendor>.` */
export function duUuidName(name: string, vendor: string): string {
  const encoded = [...Buffer.from(name, 'utf8')]
    .map((byte) => (/[0-9A-Za-z_-]/.test(String.fromCharCode(byte)) && byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`))
    .join('');
  return `${encoded}.${vendor}.`;
}

export function duUuid(name: string, vendor: string): string {
  return uuidV5(DNS_NAMESPACE, duUuidName(name, vendor));
}

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** InstallDU's UUID argument must be a version 5 UUID (TR-181): anything else is an input error. */
export function isUuidV5(value: string): boolean {
  return UUID_V5.test(value);
}
