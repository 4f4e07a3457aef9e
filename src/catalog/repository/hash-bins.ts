// Hashed bins of publishers, so that the catalog scales to thousands of them (PEP 458/480, TAP 15). One role per
// publisher directly under `targets` makes `targets.json` grow by a key and a role (~360 bytes) per publisher and
// makes @tufjs/models take quadratic time to read it (10,000 publishers: 32 s). Instead:
//
//   targets (offline targets key) ──▶ bin_00 … bin_ff (offline targets key) ──▶ <vendor> (the publisher's key)
//
// A vendor's bin is the top bits of sha256(vendor), as TAP 15 spreads targets, but over the vendor name rather
// than the whole target path, so that all of a vendor's apps stay in its one role and target paths stay
// `<vendor>/<app>/<file>`. TUF delegations match paths by glob, which cannot compute a hash: `targets` lists in each
// bin's `paths` the `<vendor>/*/*` of the vendors in that bin (~30 bytes a publisher), and a gateway's lookup walks
// `targets`, one bin and one publisher role. Both levels are signed by the offline targets key, never by a key the
// server holds: a stolen server key cannot re-delegate a vendor's paths to a key of its own.
import { createHash } from 'node:crypto';
import type { TufPublicKey } from '../tuf/keys.ts';
import type { JsonObject } from '../tuf/signed-metadata.ts';

/** 256 bins: measured in README "npm run bench:catalog-scale"; with 10,000 publishers, ~40 a bin (~16 KB). */
export const DEFAULT_BIN_COUNT = 256;
export const MAX_BIN_COUNT = 4096;

// '_' never appears in a vendor name (isValidVendor), so no publisher can be named like a bin.
const BIN_PREFIX = 'bin_';
const BIN_NAME = /^bin_[0-9a-f]{1,3}$/;

export interface DelegatedRoleJson extends JsonObject {
  name: string;
  keyids: string[];
  threshold: number;
  terminating: boolean;
  paths: string[];
}

export interface DelegationsJson extends JsonObject {
  keys: { [keyId: string]: TufPublicKey['json'] };
  roles: DelegatedRoleJson[];
}

export function isValidBinCount(count: number): boolean {
  return Number.isInteger(count) && count >= 2 && count <= MAX_BIN_COUNT && (count & (count - 1)) === 0;
}

export function isBinName(name: string): boolean {
  return BIN_NAME.test(name);
}

function hexWidth(count: number): number {
  return (count - 1).toString(16).length;
}

/** The bin of a vendor: the top log2(count) bits of sha256(vendor). */
export function binIndexOf(vendor: string, count: number): number {
  const bits = Math.log2(count);
  return createHash('sha256').update(vendor).digest().readUInt32BE(0) >>> (32 - bits);
}

export function binNameOf(index: number, count: number): string {
  return `${BIN_PREFIX}${index.toString(16).padStart(hexWidth(count), '0')}`;
}

export function binOfVendor(vendor: string, count: number): string {
  return binNameOf(binIndexOf(vendor, count), count);
}

/** What a publisher may sign: `<vendor>/<app>/<app>-<version>.berth` (tuf-js globs match segment by segment). */
export function vendorPattern(vendor: string): string {
  return `${vendor}/*/*`;
}

/** The vendor of a `<vendor>/*\/*` pattern, or undefined for any other pattern. */
export function vendorOfPattern(pattern: string): string | undefined {
  return pattern.endsWith('/*/*') && !pattern.slice(0, -4).includes('/') ? pattern.slice(0, -4) : undefined;
}

/** A catalog laid out in bins: `targets` delegates to nothing but a power-of-two number of bins. */
export function isBinned(top: DelegationsJson): boolean {
  return isValidBinCount(top.roles.length) && top.roles.every((role, index) => role.name === binNameOf(index, top.roles.length));
}

/** `targets`' delegations: every bin, signed by the targets key, with the patterns of the vendors it holds. */
export function topDelegations(targetsKey: TufPublicKey, vendorsByBin: readonly (readonly string[])[]): DelegationsJson {
  return {
    keys: { [targetsKey.keyId]: targetsKey.json },
    roles: vendorsByBin.map((vendors, index) => ({
      name: binNameOf(index, vendorsByBin.length),
      keyids: [targetsKey.keyId],
      threshold: 1,
      // A lookup that matches a bin never falls through to another one.
      terminating: true,
      paths: [...vendors].sort().map(vendorPattern),
    })),
  };
}

/** The vendors each bin holds, read from `targets`' bin patterns. */
export function vendorsByBin(top: DelegationsJson): string[][] {
  return top.roles.map((role) => role.paths.map(vendorOfPattern).filter((vendor) => vendor !== undefined));
}

/** A publisher's delegation: its own key, its own paths, terminating (nothing else is asked about its paths). */
export function publisherRole(vendor: string, key: TufPublicKey): DelegatedRoleJson {
  return { name: vendor, keyids: [key.keyId], threshold: 1, terminating: true, paths: [vendorPattern(vendor)] };
}

/**
 * A bin's (or a flat `targets`') delegations with `vendor` delegated to `key`: added, or replacing its previous key
 * (which revokes it). Keys no role uses any more are dropped, so a revoked key is gone from the metadata.
 */
export function withPublisher(delegations: DelegationsJson, vendor: string, key: TufPublicKey): { delegations: DelegationsJson; replaced: boolean } {
  const role = publisherRole(vendor, key);
  const replaced = delegations.roles.some((r) => r.name === vendor);
  const roles = replaced ? delegations.roles.map((r) => (r.name === vendor ? role : r)) : [...delegations.roles, role];
  const used = new Set(roles.flatMap((r) => r.keyids));
  const keys = Object.fromEntries(Object.entries({ ...delegations.keys, [key.keyId]: key.json }).filter(([id]) => used.has(id)));
  return { delegations: { keys, roles }, replaced };
}

/**
 * A flat catalog's publisher delegations (one role per publisher under `targets`, as berth wrote them before hash
 * bins) sorted into `count` bins: each bin's delegations, and the vendors of each bin. Roles and keys are moved as
 * they are, so every publisher role already signed stays valid.
 */
export function binsFromFlat(flat: DelegationsJson, count: number): { bins: Map<number, DelegationsJson>; vendorsByBin: string[][] } {
  const bins = new Map<number, DelegationsJson>();
  const vendors: string[][] = Array.from({ length: count }, () => []);
  for (const role of flat.roles) {
    const index = binIndexOf(role.name, count);
    const bin: DelegationsJson = bins.get(index) ?? { keys: {}, roles: [] };
    bin.roles.push(role);
    for (const keyId of role.keyids) {
      const key = Object.hasOwn(flat.keys, keyId) ? flat.keys[keyId] : undefined;
      if (key) bin.keys[keyId] = key;
    }
    bins.set(index, bin);
    vendors[index]!.push(role.name);
  }
  return { bins, vendorsByBin: vendors };
}
