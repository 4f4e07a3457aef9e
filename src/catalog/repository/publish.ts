// Accepting a publish: a publisher sends its role metadata, newly signed with its own key, and the package that
// role adds. The signature on the role IS the credential: the server checks it against the key the targets role
// delegates to that vendor before it reads a byte of the package, then checks the package against what the
// publisher signed (length, sha256, custom summary vs the package's own manifest), then commits.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, link, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { canonicalize } from '@tufjs/canonical-json';
import { Metadata, MetadataKind } from '@tufjs/models';
import type { Targets } from '@tufjs/models';
import { readPackageFile } from '../package/package-reader.ts';
import { PackageError } from '../package/package-error.ts';
import { isSafeTargetPath, targetCustomOf, targetCustomSchema, targetPathOf } from '../target-custom.ts';
import { formatPath } from '../../validation/schema.ts';
import type { TargetCustom } from '../target-custom.ts';
import { parseCanonicalJson, verifyCanonicalEnvelope } from '../tuf/canonical-envelope.ts';
import { useLinearModelMaps } from '../tuf/linear-models.ts';
import type { Envelope } from '../tuf/signed-metadata.ts';
import { DEFAULT_EXPIRY, RepositoryError, commitRole, loadRole, loadState } from './repository.ts';
import { findPublisherDelegation } from './publisher-delegations.ts';
import type { PublisherDelegation } from './publisher-delegations.ts';
import type { ExpiryPolicy, RepositoryState } from './repository.ts';
import { makePublicDir, PUBLIC_FILE_MODE } from './public-files.ts';
import { layoutOf } from './repository-layout.ts';
import { withRepositoryLock } from './repository-lock.ts';

export interface NewTarget {
  path: string;
  length: number;
  sha256: string;
  custom: TargetCustom;
}

interface CheckedRole {
  version: number;
  newTarget: NewTarget | undefined;
}

const HEX64 = /^[0-9a-f]{64}$/;

function fail(code: string, message: string): never {
  throw new RepositoryError(code, message);
}

const unknownPublisher = (vendor: string): never =>
  fail('UNKNOWN_PUBLISHER', `no publisher "${vendor}" in this catalog (add it with \`berth catalog publisher add\`)`);
const badSignature = (vendor: string): never =>
  fail('BAD_SIGNATURE', `role "${vendor}" is not signed by the key this catalog delegates to ${vendor} (wrong or revoked publisher key)`);

/**
 * The role's signature, checked on its bytes as received and before anything but its short signature list is
 * parsed: a stranger's role costs a hash, not a parse (120 parsed at once exhausted the server's heap).
 */
function checkSignatureBeforeParsing(delegation: PublisherDelegation, vendor: string, roleBytes: Buffer): void {
  const keys = new Map<string, string>();
  for (const keyId of delegation.role.keyids) {
    const publicKey = Object.hasOwn(delegation.keys, keyId) ? (delegation.keys[keyId] as { keyval?: { public?: unknown } } | undefined)?.keyval?.public : undefined;
    if (typeof publicKey === 'string') keys.set(keyId, publicKey);
  }
  const verdict = verifyCanonicalEnvelope(roleBytes, keys, delegation.role.threshold);
  if (verdict === 'not-canonical') fail('BAD_METADATA', `role "${vendor}" must be sent as the canonical JSON of its envelope, as \`berth app publish\` does`);
  if (verdict === 'unsigned') badSignature(vendor);
}

function parseRoleBytes(roleBytes: Buffer): unknown {
  try {
    return parseCanonicalJson(roleBytes);
  } catch {
    return fail('BAD_METADATA', 'role metadata is not JSON');
  }
}

function parseRole(roleJson: unknown): Metadata<Targets> {
  useLinearModelMaps();
  try {
    return Metadata.fromJSON(MetadataKind.Targets, roleJson as Parameters<typeof Metadata.fromJSON>[1]);
  } catch (error) {
    return fail('BAD_METADATA', `role metadata is not valid TUF targets metadata: ${(error as Error).message}`);
  }
}

/**
 * Checks a publisher's new role against the current repository: signed by the vendor's delegated key, the next
 * version, not expiring too soon, no sub-delegations, every target inside the vendor's paths with a valid custom
 * summary, published targets neither changed (length, hashes, custom: all of it) nor removed, at most one new
 * target (the one whose package comes with it).
 */
export async function checkRole(dir: string, state: RepositoryState, delegation: PublisherDelegation, vendor: string, roleJson: unknown, now: number): Promise<CheckedRole> {
  const layout = layoutOf(dir);
  // Verified as a gateway does: by the role that delegates to the publisher (its bin), parsed by @tufjs/models.
  const delegatorMd = Metadata.fromJSON(MetadataKind.Targets, delegation.delegator as unknown as Parameters<typeof Metadata.fromJSON>[1]);
  const roles = delegatorMd.signed.delegations?.roles ?? {};
  const delegated = Object.hasOwn(roles, vendor) ? roles[vendor] : undefined;
  if (!delegated) return unknownPublisher(vendor);
  const roleMd = parseRole(roleJson);
  try {
    delegatorMd.verifyDelegate(vendor, roleMd);
  } catch {
    badSignature(vendor);
  }
  const current = await loadRole(layout, state, vendor);
  const currentVersion = current ? (current.signed['version'] as number) : 0;
  if (roleMd.signed.version !== currentVersion + 1) {
    fail('STALE_VERSION', `role "${vendor}" version ${roleMd.signed.version} must be ${currentVersion + 1} (the catalog holds version ${currentVersion}); fetch the current role and sign again`);
  }
  if (roleMd.signed.isExpired(new Date(now + DEFAULT_EXPIRY.timestampMs))) {
    fail('BAD_METADATA', `role "${vendor}" expires ${roleMd.signed.expires}, less than a day from now`);
  }
  if (roleMd.signed.delegations) fail('BAD_METADATA', `role "${vendor}" must not delegate further`);

  const currentTargets = (current?.signed['targets'] ?? {}) as Record<string, unknown>;
  // What gateways may have installed stays listed as it was: dropped, it could no longer be verified.
  for (const path of Object.keys(currentTargets)) {
    if (!Object.hasOwn(roleMd.signed.targets, path)) fail('IMMUTABLE', `${path} is published; a new role must keep listing it, unchanged`);
  }
  let newTarget: NewTarget | undefined;
  for (const [path, target] of Object.entries(roleMd.signed.targets)) {
    if (!isSafeTargetPath(path) || !delegated.isDelegatedPath(path)) {
      fail('OUTSIDE_DELEGATION', `target ${path} is outside what ${vendor} may publish (${(delegated.paths ?? []).join(', ')})`);
    }
    const sha256 = target.hashes['sha256'];
    if (sha256 === undefined || !HEX64.test(sha256)) fail('BAD_METADATA', `target ${path} must list a sha256 hash`);
    const parsed = targetCustomSchema.parse(target.custom);
    if (!parsed.success) fail('BAD_METADATA', `target ${path}: custom summary invalid: ${parsed.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ')}`);
    const custom = parsed.data;
    if (custom.vendor !== vendor || targetPathOf(custom) !== path) {
      fail('BAD_METADATA', `target ${path} does not match its custom summary (${custom.vendor}/${custom.name} ${custom.version})`);
    }
    if (custom.packageSize !== target.length) fail('BAD_METADATA', `target ${path}: custom packageSize ${custom.packageSize} ≠ length ${target.length}`);
    if (Object.hasOwn(currentTargets, path)) {
      // Compared as signed (canonical JSON): the custom summary gateways admit an app by is as fixed as its bytes.
      if (canonicalize(currentTargets[path] as Parameters<typeof canonicalize>[0]) !== canonicalize(target.toJSON())) {
        fail('IMMUTABLE', `${path} is already published with other metadata (length, hashes or custom summary); publish a new version instead`);
      }
      continue;
    }
    if (newTarget) fail('BAD_METADATA', `role "${vendor}" adds more than one target; publish one package at a time`);
    newTarget = { path, length: target.length, sha256, custom };
  }
  return { version: roleMd.signed.version, newTarget };
}

function sameSummary(a: TargetCustom, b: TargetCustom): string | undefined {
  for (const key of ['name', 'vendor', 'version', 'description', 'requiresBerth', 'packageSize', 'unpackedSize'] as const) {
    if (a[key] !== b[key]) return `${key}: signed ${JSON.stringify(a[key])}, package has ${JSON.stringify(b[key])}`;
  }
  if (JSON.stringify(a.executionUnits) !== JSON.stringify(b.executionUnits)) return 'executionUnits resources differ from the package manifest';
  return undefined;
}

/** Streams the package to `file`, refusing more than `length` bytes, and returns its sha256. */
async function receivePackage(source: Readable, file: string, length: number): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > length) {
        done(new RepositoryError('PACKAGE_MISMATCH', `package is longer than the ${length} bytes its signed metadata says`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(file, { flags: 'wx', mode: PUBLIC_FILE_MODE }));
  // Linked into repository/ as it is: readable by a static web server whatever the umask.
  await chmod(file, PUBLIC_FILE_MODE);
  return { size, sha256: hash.digest('hex') };
}

export interface PublishResult {
  targetPath: string;
  version: number;
  added: boolean;
}

export interface AcceptOptions {
  /** Largest package accepted: a role that signs a longer one is refused before its package is read. */
  maxPackageBytes: number;
  maxUnpackedBytes: number;
  expiry?: ExpiryPolicy;
  now?: () => number;
  /** Called once the role is verified, with the length of the package that must follow it (0: none). */
  onRoleAccepted?: (packageLength: number) => void;
}

/**
 * The whole publish. `roleBytes` is the publisher's signed role, as received; `packageStream` the package bytes
 * (empty when the role adds nothing, e.g. a re-sign after a key change). On any failure nothing is left behind.
 */
export async function acceptPublish(
  dir: string,
  vendor: string,
  roleBytes: Buffer,
  packageStream: Readable,
  options: AcceptOptions,
): Promise<PublishResult> {
  const layout = layoutOf(dir);
  const now = options.now ?? Date.now;
  const state = await loadState(layout);
  const delegation = await findPublisherDelegation(layout, state, vendor);
  if (!delegation) return unknownPublisher(vendor);
  checkSignatureBeforeParsing(delegation, vendor, roleBytes);
  const roleJson = parseRoleBytes(roleBytes);
  const checked = await checkRole(dir, state, delegation, vendor, roleJson, now());
  const target = checked.newTarget;
  if (target && target.length > options.maxPackageBytes) {
    fail('TOO_LARGE', `${target.path} is ${target.length} bytes; this catalog accepts packages of at most ${options.maxPackageBytes} bytes`);
  }
  options.onRoleAccepted?.(target?.length ?? 0);
  await mkdir(layout.incomingDir, { recursive: true });
  const work = join(layout.incomingDir, randomBytes(8).toString('hex'));
  await mkdir(work);
  try {
    if (target) {
      const file = join(work, 'package.berth');
      const received = await receivePackage(packageStream, file, target.length);
      if (received.size !== target.length) fail('PACKAGE_MISMATCH', `package is ${received.size} bytes; its signed metadata says ${target.length}`);
      if (received.sha256 !== target.sha256) fail('PACKAGE_MISMATCH', `package sha256 ${received.sha256} does not match the signed ${target.sha256}`);
      let read;
      try {
        read = await readPackageFile(file, { workDir: join(work, 'unpacked'), maxUnpackedBytes: options.maxUnpackedBytes });
      } catch (error) {
        if (error instanceof PackageError) fail('BAD_PACKAGE', `package refused: ${error.message}`);
        throw error;
      }
      const mismatch = sameSummary(target.custom, targetCustomOf(read.manifest, received.size, read.unpackedSize));
      if (mismatch) fail('PACKAGE_MISMATCH', `signed summary does not match the package (${mismatch})`);
      await rm(join(work, 'unpacked'), { recursive: true, force: true });
    } else {
      for await (const chunk of packageStream) {
        if ((chunk as Buffer).length > 0) fail('BAD_REQUEST', `role "${vendor}" adds no new target, so no package may follow it`);
      }
    }
    return await withRepositoryLock(layout.lockDir, async () => {
      // Re-checked under the lock: another publish of the same vendor may have landed while the package arrived.
      const state = await loadState(layout);
      const current = await findPublisherDelegation(layout, state, vendor);
      if (!current) return unknownPublisher(vendor);
      const again = await checkRole(dir, state, current, vendor, roleJson, now());
      if (target) {
        const destination = layout.targetFile(target.path, target.sha256);
        await makePublicDir(dirname(destination));
        await link(join(work, 'package.berth'), destination).catch((error: unknown) => {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        });
      }
      const stored = Buffer.from(`${JSON.stringify(roleJson as Envelope, null, 1)}\n`, 'utf8');
      await commitRole(layout, state, vendor, stored, again.version, { expiry: options.expiry ?? DEFAULT_EXPIRY, now: now() });
      return { targetPath: target?.path ?? '', version: again.version, added: target !== undefined };
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

