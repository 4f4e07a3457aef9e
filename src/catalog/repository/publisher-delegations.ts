// Where a publisher's delegation lives: in its hash bin (hash-bins.ts), or directly under `targets` in a catalog
// made before hash bins and not yet moved into them (the next `publisher add` moves it). The server looks a
// publisher up here to check a publish, and lists publishers for the catalog page.
import type { Envelope } from '../tuf/signed-metadata.ts';
import { binOfVendor, isBinName, isBinned, vendorPattern, vendorsByBin } from './hash-bins.ts';
import type { DelegatedRoleJson, DelegationsJson } from './hash-bins.ts';
import { delegationsOf, isValidVendor, loadRole, topDelegationsOf } from './repository.ts';
import type { RepositoryState } from './repository.ts';
import type { RepositoryLayout } from './repository-layout.ts';

export interface PublisherDelegation {
  /** The role that delegates to the publisher: its bin, or `targets` in a flat catalog. */
  delegatorName: string;
  delegator: Envelope;
  role: DelegatedRoleJson;
  keys: DelegationsJson['keys'];
}

/** The vendors this catalog delegates to, from `targets` alone (no bin is read). */
export function vendorsOf(state: RepositoryState): string[] {
  const top = topDelegationsOf(state);
  if (isBinned(top)) return vendorsByBin(top).flat();
  return top.roles.map((role) => role.name).filter((name) => !isBinName(name));
}

/** The delegation of `vendor`, read from `targets` and at most one bin; undefined for a vendor nobody delegates to. */
export async function findPublisherDelegation(layout: RepositoryLayout, state: RepositoryState, vendor: string): Promise<PublisherDelegation | undefined> {
  // The vendor comes from a request path: only a valid name is looked up, and only as a role's own name.
  if (!isValidVendor(vendor)) return undefined;
  const top = topDelegationsOf(state);
  if (!isBinned(top)) {
    const role = top.roles.find((r) => r.name === vendor);
    return role ? { delegatorName: 'targets', delegator: state.targets, role, keys: top.keys } : undefined;
  }
  const binName = binOfVendor(vendor, top.roles.length);
  // A gateway reaches the bin only through `targets`' pattern for the vendor: without it, the bin's word is moot.
  if (!top.roles.find((r) => r.name === binName)?.paths.includes(vendorPattern(vendor))) return undefined;
  const bin = await loadRole(layout, state, binName);
  if (!bin) return undefined;
  const delegations = delegationsOf(bin);
  const role = delegations.roles.find((r) => r.name === vendor);
  return role ? { delegatorName: binName, delegator: bin, role, keys: delegations.keys } : undefined;
}

/** Every publisher delegation, bin by bin (reads every bin that holds a vendor). */
export async function listPublisherDelegations(layout: RepositoryLayout, state: RepositoryState): Promise<PublisherDelegation[]> {
  const top = topDelegationsOf(state);
  if (!isBinned(top)) return top.roles.map((role) => ({ delegatorName: 'targets', delegator: state.targets, role, keys: top.keys }));
  const found: PublisherDelegation[] = [];
  for (const binRole of top.roles) {
    if (binRole.paths.length === 0) continue;
    const bin = await loadRole(layout, state, binRole.name);
    if (!bin) continue;
    const delegations = delegationsOf(bin);
    for (const role of delegations.roles) found.push({ delegatorName: binRole.name, delegator: bin, role, keys: delegations.keys });
  }
  return found;
}
