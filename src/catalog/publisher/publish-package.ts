// `berth app publish`: the publisher's side. Reads and checks the package, fetches the publisher's current role
// from the catalog (trusting only targets that carry the publisher's own signature), adds the new target with its
// signed summary, signs the next version of the role with the publisher's key (which never leaves this machine)
// and streams role + package to the catalog's publish endpoint. The package is read as hostile input, within an
// unpacked-size bound, and nothing of it is written to disk; what the catalog answers is read within bounds too.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { readBoundedBody } from '../bounded-body.ts';
import { checkPackageFile, DEFAULT_MAX_UNPACKED_BYTES } from '../package/package-reader.ts';
import { encodePublishHead, publishPath, PUBLISH_CONTENT_TYPE } from '../publish-protocol.ts';
import { targetCustomOf, targetPathOf } from '../target-custom.ts';
import type { TargetCustom } from '../target-custom.ts';
import { signingKeyFromPem, verifyEd25519 } from '../tuf/keys.ts';
import type { TufSigningKey } from '../tuf/keys.ts';
import { canonicalBytes, DAY, expiryIn, signEnvelope, SPEC_VERSION } from '../tuf/signed-metadata.ts';
import type { Envelope, JsonObject } from '../tuf/signed-metadata.ts';
import { BerthError } from '../../errors/berth-error.ts';

export class PublishError extends BerthError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'PublishError';
  }
}

export interface PublishOptions {
  catalogUrl: string;
  packageFile: string;
  privateKeyPem: string;
  onProgress?: (sent: number, total: number) => void;
  /** Re-sign targets the catalog holds under a previous key of this publisher (after a key change). */
  adoptExisting?: boolean;
  /** Limit on the package's unpacked size (decompression bombs); default DEFAULT_MAX_UNPACKED_BYTES. */
  maxUnpackedBytes?: number;
  now?: number;
}

export interface PublishOutcome {
  url: string;
  targetPath: string;
  version: number;
  alreadyPublished: boolean;
  custom: TargetCustom;
}

// The bounds a gateway's TUF client (tuf-js's defaults) puts on each metadata file. The snapshot is read up to the
// length the timestamp signs (it grows with the number of publishers, ~40 bytes each), never past MAX_SNAPSHOT_BYTES.
const MAX_TIMESTAMP_BYTES = 16_384;
const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;
const MAX_ROLE_BYTES = 5_000_000;
// The catalog's answer to an upload is a short JSON object; more is cut off.
const MAX_ANSWER_BYTES = 64 * 1024;

async function getJson(url: string, maxBytes: number): Promise<Envelope | undefined> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new PublishError('UNREACHABLE', `catalog at ${new URL(url).origin} unreachable (${(error as Error).message})`);
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw new PublishError('UNREACHABLE', `catalog answered ${response.status} for ${url}`);
  const body = await readBoundedBody(response, maxBytes, () => new PublishError('BAD_METADATA', `${url} is larger than the ${maxBytes} bytes a gateway accepts`));
  try {
    return JSON.parse(body.toString('utf8')) as Envelope;
  } catch {
    throw new PublishError('BAD_METADATA', `${url} is not JSON`);
  }
}

/** The publisher's role as the catalog currently holds it (undefined before the first publish). */
async function fetchCurrentRole(base: string, vendor: string): Promise<Envelope | undefined> {
  const timestamp = await getJson(`${base}/metadata/timestamp.json`, MAX_TIMESTAMP_BYTES);
  if (!timestamp) throw new PublishError('NOT_A_CATALOG', `${base} serves no timestamp.json: is it a berth catalog?`);
  const snapshotEntry = (timestamp.signed['meta'] as JsonObject)['snapshot.json'] as { version: number; length?: number };
  const snapshotBytes = Math.min(typeof snapshotEntry.length === 'number' ? snapshotEntry.length : MAX_SNAPSHOT_BYTES, MAX_SNAPSHOT_BYTES);
  const snapshot = await getJson(`${base}/metadata/${snapshotEntry.version}.snapshot.json`, snapshotBytes);
  const entry = (snapshot?.signed['meta'] as JsonObject | undefined)?.[`${vendor}.json`] as { version: number } | undefined;
  if (!entry) return undefined;
  return getJson(`${base}/metadata/${entry.version}.${encodeURIComponent(vendor)}.json`, MAX_ROLE_BYTES);
}

function isSignedBy(role: Envelope, key: TufSigningKey): boolean {
  const signature = role.signatures.find((s) => s.keyid === key.keyId);
  return signature !== undefined && verifyEd25519(key.json.keyval.public, canonicalBytes(role.signed), signature.sig);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function post(url: URL, head: Buffer, packageFile: string | undefined, packageSize: number, onProgress?: (sent: number, total: number) => void): Promise<{ status: number; body: string }> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // agent: false — one upload, one connection, closed when the answer is in.
    const req = send(url, { method: 'POST', agent: false, headers: { 'content-type': PUBLISH_CONTENT_TYPE, 'content-length': head.length + packageSize } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < MAX_ANSWER_BYTES) body += chunk;
      });
      // A refused upload may end with the server closing the connection right after its answer.
      const settle = (): void => {
        resolve({ status: res.statusCode ?? 0, body });
      };
      res.on('end', settle);
      res.on('close', settle);
      res.on('error', settle);
    });
    req.on('error', (error) => {
      reject(new PublishError('UNREACHABLE', `upload to ${url.origin} failed (${error.message})`));
    });
    req.write(head);
    if (!packageFile) {
      req.end();
      return;
    }
    let sent = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        onProgress?.(sent, packageSize);
        done(null, chunk);
      },
    });
    // A refused upload ends with the server's answer; a broken pipe on our side is then not the story.
    pipeline(createReadStream(packageFile, { highWaterMark: 1024 * 1024 }), meter, req).catch(() => undefined);
  });
}

export async function publishPackage(options: PublishOptions): Promise<PublishOutcome> {
  const key = signingKeyFromPem(options.privateKeyPem, 'publisher key');
  const base = options.catalogUrl.replace(/\/+$/, '');
  const packageSize = (await stat(options.packageFile)).size;
  const checked = await checkPackageFile(options.packageFile, { maxUnpackedBytes: options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES });
  const custom = targetCustomOf(checked.manifest, packageSize, checked.unpackedSize);
  const sha256 = await sha256File(options.packageFile);
  const targetPath = targetPathOf(custom);
  const url = `${base}/targets/${targetPath}`;

  const current = await fetchCurrentRole(base, custom.vendor);
  if (current && !isSignedBy(current, key) && !options.adoptExisting) {
    throw new PublishError(
      'NOT_YOUR_ROLE',
      `the catalog's metadata for ${custom.vendor} is not signed by this key (keyid ${key.keyId.slice(0, 16)}); if the catalog changed your key, publish with --adopt-existing to re-sign the targets it lists`,
    );
  }
  const targets = { ...((current?.signed['targets'] ?? {}) as Record<string, { length: number; hashes: Record<string, string> }>) };
  const existing = targets[targetPath];
  const signedByUs = current !== undefined && isSignedBy(current, key);
  if (existing && existing.hashes['sha256'] === sha256 && existing.length === packageSize && signedByUs) {
    return { url, targetPath, version: current.signed['version'] as number, alreadyPublished: true, custom };
  }
  if (existing && existing.hashes['sha256'] !== sha256) {
    throw new PublishError('IMMUTABLE', `${targetPath} is already published with other content; bump the version`);
  }
  const version = ((current?.signed['version'] as number | undefined) ?? 0) + 1;
  const role = signEnvelope(
    {
      _type: 'targets',
      spec_version: SPEC_VERSION,
      version,
      expires: expiryIn(365 * DAY, options.now),
      // A target the catalog already lists is re-signed exactly as it is: the catalog refuses any change to a
      // published target's metadata, even one to its custom summary.
      targets: existing ? targets : { ...targets, [targetPath]: { length: packageSize, hashes: { sha256 }, custom } },
    },
    [key],
  );
  const upload = existing ? undefined : options.packageFile;
  const response = await post(new URL(`${base}${publishPath(custom.vendor)}`), encodePublishHead(role), upload, upload ? packageSize : 0, options.onProgress);
  let answer: { error?: string; message?: string; url?: string };
  try {
    answer = JSON.parse(response.body) as typeof answer;
  } catch {
    answer = { message: response.body.slice(0, 200) };
  }
  if (response.status !== 201) {
    throw new PublishError(answer.error ?? `HTTP_${response.status}`, `catalog refused the publish (${response.status} ${answer.error ?? ''}): ${answer.message ?? ''}`);
  }
  return { url, targetPath, version, alreadyPublished: false, custom };
}
