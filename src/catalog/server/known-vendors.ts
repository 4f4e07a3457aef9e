// The vendors this catalog delegates to, so that a publish for anyone else is refused before its body is read.
// Read again only when timestamp.json changes (every change to the repository ends with a new one), so a flood
// of requests for unknown vendors costs one stat each.
import { stat } from 'node:fs/promises';
import { vendorsOf } from '../repository/publisher-delegations.ts';
import { loadState } from '../repository/repository.ts';
import type { RepositoryLayout } from '../repository/repository-layout.ts';

export function createVendorLookup(layout: RepositoryLayout): (vendor: string) => Promise<boolean> {
  let cached: { stamp: string; vendors: ReadonlySet<string> } | undefined;
  return async (vendor) => {
    const info = await stat(layout.timestampFile());
    // timestamp.json is replaced by a rename: a new inode at every change.
    const stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
    if (cached?.stamp !== stamp) {
      const vendors = new Set(vendorsOf(await loadState(layout)));
      cached = { stamp, vendors };
    }
    return cached.vendors.has(vendor);
  };
}
