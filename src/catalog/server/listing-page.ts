// One page of the catalog's listing, for `GET /api/v1/apps` and the page at `/`: what one request may make the
// server send is bounded, however large the catalog. A page starts after the vendor its `after` cursor names
// (vendors are sorted, so a cursor stays valid while publishers are added) and holds at most `limit` publishers;
// it also ends after the publisher that takes it past PAGE_BUDGET_BYTES of listing. A publisher is never split
// over two pages: its part is bounded by its role (4 MiB at most, MAX_ROLE_BYTES).
import { isValidVendor } from '../repository/repository.ts';
import { compareVendors } from './list-apps.ts';
import type { CatalogListing, PublisherEntry } from './list-apps.ts';

export const MAX_PAGE_PUBLISHERS = 100;
export const PAGE_BUDGET_BYTES = 1024 * 1024;

export interface PageQuery {
  /** The last vendor of the previous page; the page starts with the first vendor after it. */
  after?: string;
  limit: number;
}

export interface ListingPage {
  publishers: readonly PublisherEntry[];
  /** Index of the page's first publisher in the whole listing. */
  start: number;
  /** The cursor of the next page, when there is one. */
  nextAfter?: string;
}

export class PageQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageQueryError';
  }
}

/** `?after=<vendor>&limit=<n>` from a request's query; anything else there is ignored, as before pages existed. */
export function parsePageQuery(query: Record<string, unknown>): PageQuery {
  const { after, limit } = query;
  const parsed: PageQuery = { limit: MAX_PAGE_PUBLISHERS };
  if (limit !== undefined) {
    const value = typeof limit === 'string' && /^\d{1,6}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(value >= 1 && value <= MAX_PAGE_PUBLISHERS)) throw new PageQueryError(`limit must be a whole number from 1 to ${MAX_PAGE_PUBLISHERS}`);
    parsed.limit = value;
  }
  if (after !== undefined) {
    if (typeof after !== 'string' || !isValidVendor(after)) throw new PageQueryError('after must be one vendor name (the last one of the previous page)');
    parsed.after = after;
  }
  return parsed;
}

/** Index of the first vendor after `after` (binary search: the listing is sorted by vendor). */
function startAfter(publishers: readonly PublisherEntry[], after: string | undefined): number {
  if (after === undefined) return 0;
  let low = 0;
  let high = publishers.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareVendors(publishers[middle]!.vendor, after) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function pageOf(listing: CatalogListing, query: PageQuery, budgetBytes = PAGE_BUDGET_BYTES): ListingPage {
  const start = startAfter(listing.publishers, query.after);
  let end = start;
  let bytes = 0;
  while (end < listing.publishers.length && end - start < query.limit && bytes < budgetBytes) {
    bytes += listing.publishers[end]!.json.length;
    end++;
  }
  const publishers = listing.publishers.slice(start, end);
  const page: ListingPage = { publishers, start };
  if (end < listing.publishers.length && end > start) page.nextAfter = publishers[publishers.length - 1]!.vendor;
  return page;
}

/** The page's JSON body: the same array of publishers the API sent before it had pages. */
export function pageJson(page: ListingPage): string {
  return `[${page.publishers.map((entry) => entry.json).join(',')}]`;
}
