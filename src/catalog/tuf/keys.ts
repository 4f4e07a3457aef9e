// Ed25519 keys for the catalog: generation, PEM files, the TUF key object and its keyid (TUF spec: sha256 of the
// canonical JSON of the public key object). tuf-js never recomputes keyids, but other TUF clients do.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { BerthError } from '../../errors/berth-error.ts';

export interface TufPublicKey {
  readonly keyId: string;
  /** The key as it appears in root/targets metadata (`keys` maps keyid → this). */
  readonly json: { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } };
}

export interface TufSigningKey extends TufPublicKey {
  /** Hex signature over the canonical bytes of a `signed` object. */
  sign(bytes: Uint8Array): string;
}

export class KeyError extends BerthError {
  constructor(message: string) {
    super('BAD_KEY', message);
    this.name = 'KeyError';
  }
}

export function generateKeyPairPem(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

function toTufPublicKey(publicKey: KeyObject): TufPublicKey {
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new KeyError(`expected an Ed25519 key, got ${publicKey.asymmetricKeyType ?? 'a symmetric key'}`);
  }
  // The raw 32-byte public key is the tail of its SPKI DER encoding.
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const json = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } } as const;
  const keyId = createHash('sha256').update(canonicalize(json)).digest('hex');
  return { keyId, json };
}

export function publicKeyFromPem(pem: string, what = 'public key'): TufPublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new KeyError(`${what} is not a PEM public key (${(error as Error).message})`);
  }
  return toTufPublicKey(key);
}

export function signingKeyFromPem(pem: string, what = 'private key'): TufSigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new KeyError(`${what} is not a PEM private key (${(error as Error).message})`);
  }
  const pub = toTufPublicKey(createPublicKey(privateKey));
  return { ...pub, sign: (bytes) => sign(null, bytes, privateKey).toString('hex') };
}

// An Ed25519 public key's SPKI DER encoding is this prefix and the 32 raw bytes.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Checks a hex Ed25519 signature over `bytes` by a TUF key's raw public key (hex); false for anything malformed. */
export function verifyEd25519(publicKeyHex: string, bytes: Uint8Array, signatureHex: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicKeyHex, 'hex')]), format: 'der', type: 'spki' });
    return verify(null, bytes, key, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}
