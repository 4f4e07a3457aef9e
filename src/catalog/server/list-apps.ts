// What the catalog offers, read from its signed metadata: one entry per published package, grouped by the
// publisher whose delegated role lists it. Only roles that verify against the current delegation are shown, so
// the page never advertises what a gateway would refuse.
import { Metadata, MetadataKind } from '@tufjs/models';
import type { Targets } from '@tufjs/models';
import { listPublisherDelegations } from '../repository/publisher-delegations.ts';
import { loadRole, loadState } from '../repository/repository.ts';
import { layoutOf } from '../repository/repository-layout.ts';
import { useLinearModelMaps } from '../tuf/linear-models.ts';
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

type FromJsonInput = Parameters<typeof Metadata.fromJSON>[1];

export async function listApps(dir: string): Promise<PublisherListing[]> {
  useLinearModelMaps();
  const layout = layoutOf(dir);
  const state = await loadState(layout);
  const listings: PublisherListing[] = [];
  // Each delegating role (a bin, or targets in a flat catalog) is parsed once, however many publishers it holds.
  const delegators = new Map<string, Metadata<Targets>>();
  for (const { delegatorName, delegator, role: delegated } of await listPublisherDelegations(layout, state)) {
    const vendor = delegated.name;
    const role = await loadRole(layout, state, vendor);
    const listing: PublisherListing = { vendor, keyIds: delegated.keyids, verified: false, apps: [] };
    listings.push(listing);
    if (!role) continue;
    let delegatorMd = delegators.get(delegatorName);
    if (!delegatorMd) {
      delegatorMd = Metadata.fromJSON(MetadataKind.Targets, delegator as unknown as FromJsonInput);
      delegators.set(delegatorName, delegatorMd);
    }
    try {
      delegatorMd.verifyDelegate(vendor, Metadata.fromJSON(MetadataKind.Targets, role as unknown as FromJsonInput));
      listing.verified = true;
    } catch {
      continue;
    }
    const targets = role.signed['targets'] as Record<string, { hashes: { sha256?: string }; custom?: unknown }>;
    for (const [targetPath, target] of Object.entries(targets)) {
      const custom = targetCustomSchema.parse(target.custom);
      if (custom.success) listing.apps.push({ ...custom.data, targetPath, sha256: target.hashes.sha256 ?? '' });
    }
    listing.apps.sort((a, b) => a.name.localeCompare(b.name) || b.version.localeCompare(a.version, undefined, { numeric: true }));
  }
  return listings.sort((a, b) => a.vendor.localeCompare(b.vendor));
}
