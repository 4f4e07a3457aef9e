// What the catalog offers, read from its signed metadata: one entry per published package, grouped by the
// publisher whose delegated role lists it. Only roles that verify against the current delegation are shown, so
// the page never advertises what a gateway would refuse.
// Anyone may ask for the list, and reading it whole means reading and verifying every publisher's role (10,000
// files, ~11 s at 10,000 publishers): so it is built once per published state (the snapshot's version) and kept
// in memory, each publisher's part serialized once. A new state re-reads only what changed: a role with a new
// version, and the publishers of a bin (or, in a flat catalog, of `targets`) with a new version. Versioned
// metadata files are never rewritten, so an unchanged version is unchanged content.
import { readFile } from 'node:fs/promises';
import { Metadata, MetadataKind } from '@tufjs/models';
import type { Targets } from '@tufjs/models';
import { isBinned } from '../repository/hash-bins.ts';
import type { DelegatedRoleJson } from '../repository/hash-bins.ts';
import { delegationsOf, loadState, topDelegationsOf } from '../repository/repository.ts';
import type { RepositoryState } from '../repository/repository.ts';
import { layoutOf } from '../repository/repository-layout.ts';
import type { RepositoryLayout } from '../repository/repository-layout.ts';
import { useLinearModelMaps } from '../tuf/linear-models.ts';
import type { Envelope, JsonObject } from '../tuf/signed-metadata.ts';
import { targetCustomSchema } from '../target-custom.ts';
import type { TargetCustom } from '../target-custom.ts';

export interface CatalogApp extends TargetCustom {
  targetPath: string;
  sha256: string;
}

export interface PublisherListing {
  vendor: string;
  keyIds: string[];
  /** false when the publisher's role does not verify (e.g. after its key was replaced and before it re-signed). */
  verified: boolean;
  apps: CatalogApp[];
}

/** One publisher's part of the list, kept as the JSON the API sends (about half the memory of the objects). */
export interface PublisherEntry {
  vendor: string;
  appCount: number;
  /** JSON of the PublisherListing. */
  json: string;
  /** What the entry was made from: it is reused while all three are the same. */
  delegatorName: string;
  delegatorVersion: number;
  roleVersion: number | undefined;
}

export interface CatalogListing {
  /** The snapshot version this listing was read from. */
  snapshotVersion: number;
  /** Sorted by vendor, in code-unit order (what the `after` cursor of a page compares with). */
  publishers: readonly PublisherEntry[];
  appCount: number;
}

/** Reads `<version>.<role>.json`. Injectable so that a test can count what a listing reads. */
export type RoleReader = (role: string, version: number) => Promise<Envelope>;

export interface AppListing {
  /** The listing of the catalog as published now: from memory unless something was published since. */
  current(): Promise<CatalogListing>;
}

type FromJsonInput = Parameters<typeof Metadata.fromJSON>[1];

export const compareVendors = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function fileRoleReader(layout: RepositoryLayout): RoleReader {
  return async (role, version) => JSON.parse(await readFile(layout.versionedMetadata(version, role), 'utf8')) as Envelope;
}

function snapshotVersionOf(timestamp: Envelope): number {
  return ((timestamp.signed['meta'] as JsonObject)['snapshot.json'] as { version: number }).version;
}

function roleVersionIn(state: RepositoryState, role: string): number | undefined {
  return ((state.snapshot.signed['meta'] as JsonObject)[`${role}.json`] as { version: number } | undefined)?.version;
}

function appsOf(role: Envelope): CatalogApp[] {
  const apps: CatalogApp[] = [];
  const targets = role.signed['targets'] as Record<string, { hashes: { sha256?: string }; custom?: unknown }>;
  for (const [targetPath, target] of Object.entries(targets)) {
    const custom = targetCustomSchema.parse(target.custom);
    if (custom.success) apps.push({ ...custom.data, targetPath, sha256: target.hashes.sha256 ?? '' });
  }
  return apps.sort((a, b) => a.name.localeCompare(b.name) || b.version.localeCompare(a.version, undefined, { numeric: true }));
}

/** A delegating role (a bin, or `targets` in a flat catalog), read and parsed only if one of its publishers needs it. */
interface Delegator {
  name: string;
  version: number;
  envelope(): Promise<Envelope>;
  metadata(): Promise<Metadata<Targets>>;
}

function delegatorOf(name: string, version: number, load: () => Promise<Envelope>): Delegator {
  let envelope: Promise<Envelope> | undefined;
  let metadata: Promise<Metadata<Targets>> | undefined;
  const self: Delegator = {
    name,
    version,
    envelope: () => (envelope ??= load()),
    metadata: () => (metadata ??= self.envelope().then((e) => Metadata.fromJSON(MetadataKind.Targets, e as unknown as FromJsonInput))),
  };
  return self;
}

async function entryOf(delegator: Delegator, delegated: DelegatedRoleJson, roleVersion: number | undefined, readRole: RoleReader): Promise<PublisherEntry> {
  const vendor = delegated.name;
  const listing: PublisherListing = { vendor, keyIds: delegated.keyids, verified: false, apps: [] };
  if (roleVersion !== undefined) {
    try {
      const role = await readRole(vendor, roleVersion);
      (await delegator.metadata()).verifyDelegate(vendor, Metadata.fromJSON(MetadataKind.Targets, role as unknown as FromJsonInput));
      listing.verified = true;
      listing.apps = appsOf(role);
    } catch {
      // Unreadable or not signed by the delegated key: listed as unverified, without apps, like a gateway would refuse it.
      listing.verified = false;
    }
  }
  return { vendor, appCount: listing.apps.length, json: JSON.stringify(listing), delegatorName: delegator.name, delegatorVersion: delegator.version, roleVersion };
}

/** The delegators of this state, each with the publishers the previous listing had under it (to skip unchanged ones). */
function delegatorsOf(state: RepositoryState, readRole: RoleReader): Delegator[] {
  const top = topDelegationsOf(state);
  if (!isBinned(top)) return [delegatorOf('targets', state.targets.signed['version'] as number, () => Promise.resolve(state.targets))];
  return top.roles.flatMap((bin) => {
    const version = roleVersionIn(state, bin.name);
    if (bin.paths.length === 0 || version === undefined) return [];
    return [delegatorOf(bin.name, version, () => readRole(bin.name, version))];
  });
}

async function buildListing(layout: RepositoryLayout, readRole: RoleReader, previous: CatalogListing | undefined): Promise<CatalogListing> {
  useLinearModelMaps();
  const state = await loadState(layout);
  const previousByDelegator = new Map<string, PublisherEntry[]>();
  for (const entry of previous?.publishers ?? []) {
    const list = previousByDelegator.get(entry.delegatorName);
    if (list) list.push(entry);
    else previousByDelegator.set(entry.delegatorName, [entry]);
  }
  const publishers: PublisherEntry[] = [];
  for (const delegator of delegatorsOf(state, readRole)) {
    const before = previousByDelegator.get(delegator.name) ?? [];
    const unchanged = before.length > 0 && before.every((entry) => entry.delegatorVersion === delegator.version && entry.roleVersion === roleVersionIn(state, entry.vendor));
    if (unchanged) {
      publishers.push(...before);
      continue;
    }
    // Same delegator version: its publishers and keys are the same, only roles with a new version are read again.
    const reusable = new Map(before.filter((entry) => entry.delegatorVersion === delegator.version).map((entry) => [entry.vendor, entry]));
    for (const delegated of delegationsOf(await delegator.envelope()).roles) {
      const roleVersion = roleVersionIn(state, delegated.name);
      const kept = reusable.get(delegated.name);
      publishers.push(kept && kept.roleVersion === roleVersion ? kept : await entryOf(delegator, delegated, roleVersion, readRole));
    }
  }
  publishers.sort((a, b) => compareVendors(a.vendor, b.vendor));
  return { snapshotVersion: snapshotVersionOf(state.timestamp), publishers, appCount: publishers.reduce((n, p) => n + p.appCount, 0) };
}

export function createAppListing(dir: string, readRole: RoleReader = fileRoleReader(layoutOf(dir))): AppListing {
  const layout = layoutOf(dir);
  let latest: CatalogListing | undefined;
  // One build at a time, shared by every request waiting for it: a burst after a publish costs one build.
  let building: Promise<CatalogListing> | undefined;
  const rebuild = (): Promise<CatalogListing> => {
    if (!building) {
      const run = buildListing(layout, readRole, latest).then((built) => (latest = built));
      building = run;
      const done = (): void => {
        if (building === run) building = undefined;
      };
      run.then(done, done);
    }
    return building;
  };
  return {
    async current() {
      // timestamp.json is written last, atomically, at every change (publish, publisher add, renewal, root
      // rotation): its snapshot version names the published state. One small file per request.
      const version = snapshotVersionOf(JSON.parse(await readFile(layout.timestampFile(), 'utf8')) as Envelope);
      if (latest?.snapshotVersion === version) return latest;
      const built = await rebuild();
      // A build that began before this state was published is older: one more, which reads the new state.
      return built.snapshotVersion < version ? rebuild() : built;
    },
  };
}
