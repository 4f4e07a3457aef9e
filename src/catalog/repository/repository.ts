// The catalog's TUF repository on disk (the server and admin side): create it, delegate to publishers, accept a
// publisher's newly signed role, keep snapshot and timestamp fresh, rotate root. Every change is made under the
// directory lock and published by writing timestamp.json last, atomically: a client sees the old repository or
// the new one, never a mix.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../../store/atomic-file.ts';
import { generateKeyPairPem, publicKeyFromPem, signingKeyFromPem } from '../tuf/keys.ts';
import type { TufPublicKey, TufSigningKey } from '../tuf/keys.ts';
import { DAY, expiryIn, signEnvelope, SPEC_VERSION, toCompactFileBytes, toFileBytes } from '../tuf/signed-metadata.ts';
import type { Envelope, JsonObject } from '../tuf/signed-metadata.ts';
import { binIndexOf, binNameOf, binsFromFlat, DEFAULT_BIN_COUNT, isBinned, isValidBinCount, MAX_BIN_COUNT, topDelegations, vendorsByBin, withPublisher } from './hash-bins.ts';
import type { DelegationsJson } from './hash-bins.ts';
import { makePublicDir, PUBLIC_FILE_MODE, writePublicFileOnce } from './public-files.ts';
import { defaultOfflineKeysDir, layoutOf } from './repository-layout.ts';
import type { RepositoryLayout } from './repository-layout.ts';
import { withRepositoryLock } from './repository-lock.ts';
import { BerthError } from '../../errors/berth-error.ts';

export interface ExpiryPolicy {
  rootMs: number;
  targetsMs: number;
  snapshotMs: number;
  timestampMs: number;
}

// Timestamp expiry is short so that a frozen mirror is noticed within a day (DESIGN.md §4).
export const DEFAULT_EXPIRY: ExpiryPolicy = { rootMs: 365 * DAY, targetsMs: 365 * DAY, snapshotMs: 7 * DAY, timestampMs: DAY };

export class RepositoryError extends BerthError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'RepositoryError';
  }
}

interface MetaEntry extends JsonObject {
  version: number;
  length: number;
}

interface HashedMetaEntry extends MetaEntry {
  hashes: { sha256: string };
}

export interface RepositoryState {
  root: Envelope;
  targets: Envelope;
  snapshot: Envelope;
  timestamp: Envelope;
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * A targets role's entry in the snapshot: version and length, no hash. The snapshot lists every role (one per
 * publisher), and a gateway reads it whole at every refresh after a change; a hash would double its size and
 * guard nothing more: each role is signed by its own offline or publisher key, which binds its content to its
 * version, and the snapshot key the hash would be trusted through is the server's anyway. The length bounds the
 * download of the role.
 */
function snapshotEntryOf(version: number, bytes: Buffer): MetaEntry {
  return { version, length: bytes.length };
}

/** The timestamp's entry for the snapshot: with its hash, which is what pins the snapshot. */
function timestampEntryOf(version: number, bytes: Buffer): HashedMetaEntry {
  return { version, length: bytes.length, hashes: { sha256: sha256Hex(bytes) } };
}

function versionOf(envelope: Envelope): number {
  return envelope.signed['version'] as number;
}

async function readJson(path: string): Promise<Envelope> {
  return JSON.parse(await readFile(path, 'utf8')) as Envelope;
}

async function writeOnce(path: string, bytes: Buffer): Promise<void> {
  // Versioned files are never rewritten: a new version gets a new name (consistent snapshots).
  await writePublicFileOnce(path, bytes);
}

export async function loadState(layout: RepositoryLayout): Promise<RepositoryState> {
  const names = await readdir(layout.metadataDir);
  const rootVersions = names.map((name) => /^(\d+)\.root\.json$/.exec(name)?.[1]).filter((v) => v !== undefined).map(Number);
  if (rootVersions.length === 0) throw new RepositoryError('NOT_A_CATALOG', `${layout.dir} is not a catalog (no N.root.json; run \`berth catalog init\`)`);
  const root = await readJson(layout.versionedMetadata(Math.max(...rootVersions), 'root'));
  const timestamp = await readJson(layout.timestampFile());
  const snapshotVersion = ((timestamp.signed['meta'] as JsonObject)['snapshot.json'] as MetaEntry).version;
  const snapshot = await readJson(layout.versionedMetadata(snapshotVersion, 'snapshot'));
  const targetsVersion = ((snapshot.signed['meta'] as JsonObject)['targets.json'] as MetaEntry).version;
  const targets = await readJson(layout.versionedMetadata(targetsVersion, 'targets'));
  return { root, targets, snapshot, timestamp };
}

export async function loadRole(layout: RepositoryLayout, state: RepositoryState, role: string): Promise<Envelope | undefined> {
  const entry = (state.snapshot.signed['meta'] as JsonObject)[`${role}.json`] as MetaEntry | undefined;
  return entry ? readJson(layout.versionedMetadata(entry.version, role)) : undefined;
}

async function loadSigningKey(path: string, what: string): Promise<TufSigningKey> {
  try {
    return signingKeyFromPem(await readFile(path, 'utf8'), what);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RepositoryError('KEY_MISSING', `${what} not found at ${path}`);
    throw error;
  }
}

/** Where to look for the offline keys, for an error that says they are not where they were looked for. */
function offlineKeysHint(layout: RepositoryLayout): string {
  if (existsSync(join(layout.keysDir, 'targets.pem')) && layout.offlineKeysDir !== layout.keysDir) {
    return `this catalog was made with its offline keys inside it: pass --offline-keys ${layout.keysDir} (better: move keys/root and keys/targets.pem off the server and name their folder)`;
  }
  return `the offline keys (root and targets) are kept apart from the catalog folder (by default in ${defaultOfflineKeysDir(layout.dir)}): name the folder that holds them with --offline-keys <dir>`;
}

async function loadTargetsKey(layout: RepositoryLayout): Promise<TufSigningKey> {
  if (!existsSync(layout.targetsKeyFile)) {
    throw new RepositoryError('KEY_MISSING', `targets key not found at ${layout.targetsKeyFile}; ${offlineKeysHint(layout)}`);
  }
  return loadSigningKey(layout.targetsKeyFile, 'targets key');
}

async function loadRootKeys(layout: RepositoryLayout): Promise<TufSigningKey[]> {
  const names = (await readdir(layout.rootKeysDir).catch(() => [])).filter((name) => name.endsWith('.pem')).sort();
  return Promise.all(names.map((name) => loadSigningKey(join(layout.rootKeysDir, name), `root key ${name}`)));
}

async function writePrivateKey(path: string, pem: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  await writeFile(path, pem, { flag: 'wx', mode: 0o600 });
}

function keyMap(keys: readonly TufPublicKey[]): JsonObject {
  return Object.fromEntries(keys.map((key) => [key.keyId, key.json]));
}

function rootSigned(
  version: number,
  expires: string,
  roles: Record<'root' | 'targets' | 'snapshot' | 'timestamp', { keys: TufPublicKey[]; threshold: number }>,
): JsonObject {
  const allKeys = Object.values(roles).flatMap((role) => role.keys);
  return {
    _type: 'root',
    spec_version: SPEC_VERSION,
    version,
    expires,
    consistent_snapshot: true,
    keys: keyMap(allKeys),
    roles: Object.fromEntries(
      Object.entries(roles).map(([name, role]) => [name, { keyids: role.keys.map((key) => key.keyId), threshold: role.threshold }]),
    ),
  };
}

/**
 * Writes a new snapshot (listing every targets role) and a timestamp pointing at it. `changedRoles` are the
 * role files just written (role name → bytes and version); the others keep their current entries.
 */
async function publishSnapshot(
  layout: RepositoryLayout,
  state: RepositoryState,
  changedRoles: ReadonlyMap<string, { version: number; bytes: Buffer }>,
  expiry: ExpiryPolicy,
  now: number,
): Promise<RepositoryState> {
  const meta = { ...(state.snapshot.signed['meta'] as JsonObject) };
  for (const [role, { version, bytes }] of changedRoles) meta[`${role}.json`] = snapshotEntryOf(version, bytes);
  const snapshotKey = await loadSigningKey(layout.keyFile('snapshot'), 'snapshot key');
  const timestampKey = await loadSigningKey(layout.keyFile('timestamp'), 'timestamp key');
  const snapshotVersion = versionOf(state.snapshot) + 1;
  const snapshot = signEnvelope(
    { _type: 'snapshot', spec_version: SPEC_VERSION, version: snapshotVersion, expires: expiryIn(expiry.snapshotMs, now), meta },
    [snapshotKey],
  );
  // Without indentation: the snapshot grows with the number of publishers (~40 bytes each).
  const snapshotBytes = toCompactFileBytes(snapshot);
  await writeOnce(layout.versionedMetadata(snapshotVersion, 'snapshot'), snapshotBytes);
  const timestamp = signEnvelope(
    {
      _type: 'timestamp',
      spec_version: SPEC_VERSION,
      version: versionOf(state.timestamp) + 1,
      expires: expiryIn(expiry.timestampMs, now),
      meta: { 'snapshot.json': timestampEntryOf(snapshotVersion, snapshotBytes) },
    },
    [timestampKey],
  );
  await writeFileAtomic(layout.timestampFile(), toFileBytes(timestamp), { mode: PUBLIC_FILE_MODE });
  const targetsChange = changedRoles.get('targets');
  return {
    ...state,
    snapshot,
    timestamp,
    targets: targetsChange ? (JSON.parse(targetsChange.bytes.toString('utf8')) as Envelope) : state.targets,
  };
}

export interface InitOptions {
  /** Where the root and targets keys go; default `<dir>-offline-keys`. */
  offlineKeysDir?: string;
  rootKeys?: number;
  rootThreshold?: number;
  /** Hash bins of publishers (a power of two); default DEFAULT_BIN_COUNT. */
  bins?: number;
  expiry?: ExpiryPolicy;
  now?: number;
}

/**
 * A new, empty catalog with fresh keys: the online ones (snapshot, timestamp) in `<dir>/keys/`, the offline ones
 * (root, targets) in their own folder. Returns the path of the root.json a gateway ships.
 */
export async function initRepository(dir: string, options: InitOptions = {}): Promise<{ rootFile: string; state: RepositoryState; offlineKeysDir: string }> {
  const layout = layoutOf(dir, options.offlineKeysDir);
  const rootKeyCount = options.rootKeys ?? 1;
  const threshold = options.rootThreshold ?? 1;
  if (!Number.isInteger(rootKeyCount) || rootKeyCount < 1 || !Number.isInteger(threshold) || threshold < 1 || threshold > rootKeyCount) {
    throw new RepositoryError('BAD_OPTIONS', `root threshold ${threshold} must be between 1 and the number of root keys (${rootKeyCount})`);
  }
  const bins = options.bins ?? DEFAULT_BIN_COUNT;
  if (!isValidBinCount(bins)) throw new RepositoryError('BAD_OPTIONS', `bins ${bins} must be a power of two from 2 to ${MAX_BIN_COUNT}`);
  const existing = await readdir(layout.metadataDir).catch(() => []);
  if (existing.length > 0) throw new RepositoryError('EXISTS', `${dir} already holds a catalog; refusing to overwrite it`);
  const offlineExisting = await readdir(layout.offlineKeysDir).catch(() => []);
  if (offlineExisting.length > 0) throw new RepositoryError('EXISTS', `${layout.offlineKeysDir} is not empty (another catalog's offline keys?); refusing to overwrite it`);
  const expiry = options.expiry ?? DEFAULT_EXPIRY;
  const now = options.now ?? Date.now();
  await makePublicDir(layout.metadataDir);
  await makePublicDir(layout.targetsDir);
  await mkdir(layout.rootKeysDir, { recursive: true, mode: 0o700 });

  const rootKeys: TufSigningKey[] = [];
  for (let i = 0; i < rootKeyCount; i++) {
    const pair = generateKeyPairPem();
    const key = signingKeyFromPem(pair.privatePem);
    await writePrivateKey(join(layout.rootKeysDir, `${key.keyId.slice(0, 16)}.pem`), pair.privatePem);
    rootKeys.push(key);
  }
  const roleKeys = {} as Record<'targets' | 'snapshot' | 'timestamp', TufSigningKey>;
  for (const role of ['targets', 'snapshot', 'timestamp'] as const) {
    const pair = generateKeyPairPem();
    await writePrivateKey(role === 'targets' ? layout.targetsKeyFile : layout.keyFile(role), pair.privatePem);
    roleKeys[role] = signingKeyFromPem(pair.privatePem);
  }

  const root = signEnvelope(
    rootSigned(1, expiryIn(expiry.rootMs, now), {
      root: { keys: rootKeys, threshold },
      targets: { keys: [roleKeys.targets], threshold: 1 },
      snapshot: { keys: [roleKeys.snapshot], threshold: 1 },
      timestamp: { keys: [roleKeys.timestamp], threshold: 1 },
    }),
    rootKeys,
  );
  const rootBytes = toFileBytes(root);
  await writeOnce(layout.versionedMetadata(1, 'root'), rootBytes);
  // Every bin is delegated from the start, holding no vendor yet; a bin's own file is written with its first one.
  const targetsBytes = signTargets(1, expiryIn(expiry.targetsMs, now), topDelegations(roleKeys.targets, Array.from({ length: bins }, () => [])), roleKeys.targets);
  await writeOnce(layout.versionedMetadata(1, 'targets'), targetsBytes);
  const targets = JSON.parse(targetsBytes.toString('utf8')) as Envelope;
  // Version 0 stand-ins: publishSnapshot writes snapshot 1 and timestamp 1.
  const empty: Envelope = { signed: { version: 0, meta: {} }, signatures: [] };
  const state = await publishSnapshot(layout, { root, targets, snapshot: empty, timestamp: empty }, new Map([['targets', { version: 1, bytes: targetsBytes }]]), expiry, now);
  const rootFile = join(dir, 'root.json');
  await writeFileAtomic(rootFile, rootBytes, { mode: PUBLIC_FILE_MODE });
  return { rootFile, state, offlineKeysDir: layout.offlineKeysDir };
}

const VENDOR = /^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/;

export function isValidVendor(vendor: string): boolean {
  return vendor.length <= 63 && VENDOR.test(vendor) && !['root', 'targets', 'snapshot', 'timestamp'].includes(vendor);
}

/** `targets`' delegations as written (a catalog from before any publisher may have none). */
export function topDelegationsOf(state: RepositoryState): DelegationsJson {
  return (state.targets.signed['delegations'] as DelegationsJson | undefined) ?? { keys: {}, roles: [] };
}

/** The delegations a bin (or any targets role) holds. */
export function delegationsOf(role: Envelope | undefined): DelegationsJson {
  return (role?.signed['delegations'] as DelegationsJson | undefined) ?? { keys: {}, roles: [] };
}

function signTargets(version: number, expires: string, delegations: DelegationsJson, key: TufSigningKey): Buffer {
  const signed = { _type: 'targets', spec_version: SPEC_VERSION, version, expires, targets: {}, delegations };
  return toCompactFileBytes(signEnvelope(signed, [key]));
}

export interface AddPublisherResult {
  vendor: string;
  keyId: string;
  replaced: boolean;
  /** The bin the publisher's delegation is in. */
  bin: string;
}

export interface AddPublisherOptions {
  offlineKeysDir?: string;
  expiry?: ExpiryPolicy;
  now?: number;
  /** Bins for a catalog from before hash bins, when it is moved into them; default DEFAULT_BIN_COUNT. */
  bins?: number;
}

/**
 * Delegates `<vendor>/*\/*` to the publisher's public key, in the vendor's hash bin (replacing a previous key:
 * that revokes it, and the publisher's apps stay unavailable until it re-signs its role with the new key). Signs
 * the bin, and `targets` when the vendor is new, with the (offline) targets key; nothing else is rewritten, so
 * adding a publisher costs the same with 10 or 10,000 of them. A flat catalog (one role per publisher under
 * `targets`, as berth made them before hash bins) is first moved into bins; its publishers' roles stay valid.
 */
export async function addPublisher(dir: string, vendor: string, publicKeyPem: string, options: AddPublisherOptions = {}): Promise<AddPublisherResult & { migrated: number }> {
  const { added, migrated } = await addPublishers(dir, [{ vendor, publicKeyPem }], options);
  return { ...added[0]!, migrated };
}

/** addPublisher for many at once: each bin touched and `targets` are signed once, and one snapshot is written. */
export async function addPublishers(
  dir: string,
  publishers: readonly { vendor: string; publicKeyPem: string }[],
  options: AddPublisherOptions = {},
): Promise<{ added: AddPublisherResult[]; migrated: number }> {
  const keys = publishers.map(({ vendor, publicKeyPem }) => {
    if (!isValidVendor(vendor)) {
      throw new RepositoryError('BAD_VENDOR', `vendor "${vendor}" must be a lower-case domain-like name (letters, digits, '-' and '.', at most 63 characters)`);
    }
    return { vendor, key: publicKeyFromPem(publicKeyPem, 'publisher public key') };
  });
  const layout = layoutOf(dir, options.offlineKeysDir);
  const expiry = options.expiry ?? DEFAULT_EXPIRY;
  const now = options.now ?? Date.now();
  return withRepositoryLock(layout.lockDir, async () => {
    const state = await loadState(layout);
    const targetsKey = await loadTargetsKey(layout);
    const expires = expiryIn(expiry.targetsMs, now);
    const top = topDelegationsOf(state);
    const changed = new Map<string, { version: number; bytes: Buffer }>();
    const writeRole = async (name: string, delegations: DelegationsJson, previous: Envelope | undefined): Promise<void> => {
      const version = (previous ? versionOf(previous) : 0) + 1;
      const bytes = signTargets(version, expires, delegations, targetsKey);
      await writeOnce(layout.versionedMetadata(version, name), bytes);
      changed.set(name, { version, bytes });
    };

    let vendors: string[][];
    let migrated = 0;
    // The delegations of every bin that changes, starting from what the bin holds now.
    const bins = new Map<string, DelegationsJson>();
    if (isBinned(top)) {
      vendors = vendorsByBin(top);
    } else {
      const count = options.bins ?? DEFAULT_BIN_COUNT;
      const flat = binsFromFlat(top, count);
      vendors = flat.vendorsByBin;
      migrated = top.roles.length;
      for (const [index, delegations] of flat.bins) bins.set(binNameOf(index, count), delegations);
    }
    let topChanged = migrated > 0;
    const added: AddPublisherResult[] = [];
    for (const { vendor, key } of keys) {
      const index = binIndexOf(vendor, vendors.length);
      const bin = binNameOf(index, vendors.length);
      const current = bins.get(bin) ?? delegationsOf(await loadRole(layout, state, bin));
      const updated = withPublisher(current, vendor, key);
      bins.set(bin, updated.delegations);
      if (!vendors[index]!.includes(vendor)) {
        vendors[index]!.push(vendor);
        topChanged = true;
      }
      added.push({ vendor, keyId: key.keyId, replaced: updated.replaced, bin });
    }
    for (const [name, delegations] of bins) await writeRole(name, delegations, await loadRole(layout, state, name));
    if (topChanged) await writeRole('targets', topDelegations(targetsKey, vendors), state.targets);
    await publishSnapshot(layout, state, changed, expiry, now);
    return { added, migrated };
  });
}

/** Writes a publisher's role file (already checked by the caller) and a new snapshot and timestamp. */
export async function commitRole(
  layout: RepositoryLayout,
  state: RepositoryState,
  vendor: string,
  roleBytes: Buffer,
  version: number,
  options: { expiry?: ExpiryPolicy; now?: number } = {},
): Promise<RepositoryState> {
  return commitRoles(layout, state, new Map([[vendor, { version, bytes: roleBytes }]]), options);
}

/** commitRole for many roles at once, under one snapshot (catalog generation for benchmarks, imports). */
export async function commitRoles(
  layout: RepositoryLayout,
  state: RepositoryState,
  roles: ReadonlyMap<string, { version: number; bytes: Buffer }>,
  options: { expiry?: ExpiryPolicy; now?: number } = {},
): Promise<RepositoryState> {
  for (const [name, { version, bytes }] of roles) await writeOnce(layout.versionedMetadata(version, name), bytes);
  return publishSnapshot(layout, state, roles, options.expiry ?? DEFAULT_EXPIRY, options.now ?? Date.now());
}

function expiresAt(envelope: Envelope): number {
  return Date.parse(envelope.signed['expires'] as string);
}

/**
 * Re-signs timestamp (and snapshot) before they expire: the server calls this on a timer. Renews once less than
 * half of a lifetime is left, so a gateway never sees an expired timestamp from a live server.
 */
export async function refreshExpiring(dir: string, options: { expiry?: ExpiryPolicy; now?: number } = {}): Promise<{ renewed: boolean; nextCheckAt: number }> {
  const layout = layoutOf(dir);
  const expiry = options.expiry ?? DEFAULT_EXPIRY;
  return withRepositoryLock(layout.lockDir, async () => {
    const now = options.now ?? Date.now();
    const state = await loadState(layout);
    const timestampDue = expiresAt(state.timestamp) - expiry.timestampMs / 2;
    const snapshotDue = expiresAt(state.snapshot) - expiry.snapshotMs / 2;
    if (now < timestampDue && now < snapshotDue) return { renewed: false, nextCheckAt: Math.min(timestampDue, snapshotDue) };
    const next = await publishSnapshot(layout, state, new Map(), expiry, now);
    return { renewed: true, nextCheckAt: Math.min(expiresAt(next.timestamp) - expiry.timestampMs / 2, expiresAt(next.snapshot) - expiry.snapshotMs / 2) };
  });
}

/**
 * Root rotation: new root keys (and a new timestamp key) replace the old ones. The new root is signed by the old
 * root keys (so existing gateways accept it) and by the new ones (so it is self-consistent); old keys are moved
 * to a `retired/` folder next to them (root keys with the offline keys, the timestamp key with the online ones).
 * Gateways walk N.root.json → N+1.root.json on their next refresh.
 */
export async function rotateRoot(
  dir: string,
  options: { offlineKeysDir?: string; rootKeys?: number; rootThreshold?: number; expiry?: ExpiryPolicy; now?: number } = {},
): Promise<{ version: number; rootFile: string }> {
  const layout = layoutOf(dir, options.offlineKeysDir);
  const expiry = options.expiry ?? DEFAULT_EXPIRY;
  const now = options.now ?? Date.now();
  return withRepositoryLock(layout.lockDir, async () => {
    const state = await loadState(layout);
    const oldRootKeys = await loadRootKeys(layout);
    const signed = state.root.signed as { version: number; keys: Record<string, TufPublicKey['json']>; roles: Record<string, { keyids: string[]; threshold: number }> };
    const oldRole = signed.roles['root']!;
    const usable = oldRootKeys.filter((key) => oldRole.keyids.includes(key.keyId));
    if (usable.length < oldRole.threshold) {
      const hint = oldRootKeys.length === 0 ? `; ${offlineKeysHint(layout)}` : '';
      throw new RepositoryError('KEY_MISSING', `rotating root needs ${oldRole.threshold} of the current root keys in ${layout.rootKeysDir}; found ${usable.length}${hint}`);
    }
    const count = options.rootKeys ?? oldRole.keyids.length;
    const threshold = options.rootThreshold ?? Math.min(oldRole.threshold, count);
    const newRootPems = Array.from({ length: count }, () => generateKeyPairPem());
    const newRootKeys = newRootPems.map((pair) => signingKeyFromPem(pair.privatePem));
    const timestampPair = generateKeyPairPem();
    const timestampKey = signingKeyFromPem(timestampPair.privatePem);
    const publicOf = (role: string): TufPublicKey[] =>
      signed.roles[role]!.keyids.map((keyId) => ({ keyId, json: signed.keys[keyId]! }));
    const version = signed.version + 1;
    const root = signEnvelope(
      rootSigned(version, expiryIn(expiry.rootMs, now), {
        root: { keys: newRootKeys, threshold },
        targets: { keys: publicOf('targets'), threshold: signed.roles['targets']!.threshold },
        snapshot: { keys: publicOf('snapshot'), threshold: signed.roles['snapshot']!.threshold },
        timestamp: { keys: [timestampKey], threshold: 1 },
      }),
      [...usable, ...newRootKeys],
    );
    // The new keys are on disk (a next/ folder beside the keys they replace, so every move below is a rename on
    // one file system) before the root that names them: no crash can leave a published root whose keys are lost.
    // Then next/ is moved into place and the old keys to retired/.
    const offlineNext = join(layout.offlineKeysDir, 'next');
    const onlineNext = join(layout.keysDir, 'next');
    await rm(offlineNext, { recursive: true, force: true });
    await rm(onlineNext, { recursive: true, force: true });
    for (let i = 0; i < newRootKeys.length; i++) {
      await writePrivateKey(join(offlineNext, 'root', `${newRootKeys[i]!.keyId.slice(0, 16)}.pem`), newRootPems[i]!.privatePem);
    }
    await writePrivateKey(join(onlineNext, 'timestamp.pem'), timestampPair.privatePem);
    const rootBytes = toFileBytes(root);
    await writeOnce(layout.versionedMetadata(version, 'root'), rootBytes);
    await mkdir(layout.retiredRootKeysDir, { recursive: true, mode: 0o700 });
    await mkdir(layout.retiredKeysDir, { recursive: true, mode: 0o700 });
    await rename(layout.rootKeysDir, join(layout.retiredRootKeysDir, `root-v${signed.version}`));
    await rename(layout.keyFile('timestamp'), join(layout.retiredKeysDir, `timestamp-v${signed.version}.pem`));
    await rename(join(offlineNext, 'root'), layout.rootKeysDir);
    await rename(join(onlineNext, 'timestamp.pem'), layout.keyFile('timestamp'));
    await rm(offlineNext, { recursive: true, force: true });
    await rm(onlineNext, { recursive: true, force: true });
    await publishSnapshot(layout, { ...state, root }, new Map(), expiry, now);
    const rootFile = join(dir, 'root.json');
    await writeFileAtomic(rootFile, rootBytes, { mode: PUBLIC_FILE_MODE });
    return { version, rootFile };
  });
}
