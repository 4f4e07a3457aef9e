// Pages of the catalog's listing: what one request may make the server send is at most MAX_PAGE_PUBLISHERS
// publishers and about PAGE_BUDGET_BYTES, a cursor walks every publisher exactly once, and a bad query is refused
// with a message that says what is allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CatalogListing, PublisherEntry } from '../../../../src/catalog/server/list-apps.ts';
import { MAX_PAGE_PUBLISHERS, PAGE_BUDGET_BYTES, pageJson, pageOf, PageQueryError, parsePageQuery } from '../../../../src/catalog/server/listing-page.ts';

function listingOf(count: number, jsonBytes = 100): CatalogListing {
  const publishers: PublisherEntry[] = Array.from({ length: count }, (_, index) => {
    const vendor = `v${String(index).padStart(5, '0')}.example`;
    const json = JSON.stringify({ vendor, keyIds: [], verified: true, apps: [], pad: 'x'.repeat(Math.max(0, jsonBytes - 60)) });
    return { vendor, appCount: 1, json, delegatorName: 'bin_0', delegatorVersion: 1, roleVersion: 1 };
  });
  return { snapshotVersion: 1, publishers, appCount: count };
}

test('a cursor walks every publisher once, in pages of at most the limit', () => {
  const listing = listingOf(250);
  const seen: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = pageOf(listing, { limit: MAX_PAGE_PUBLISHERS, ...(after === undefined ? {} : { after }) });
    assert.ok(page.publishers.length <= MAX_PAGE_PUBLISHERS);
    assert.equal(page.start, seen.length);
    seen.push(...page.publishers.map((p) => p.vendor));
    after = page.nextAfter;
    pages++;
  } while (after !== undefined);
  assert.equal(pages, 3);
  assert.deepEqual(seen, listing.publishers.map((p) => p.vendor));
});

test('a small catalog is one page, the same array as before pages', () => {
  const listing = listingOf(3);
  const page = pageOf(listing, parsePageQuery({}));
  assert.equal(page.nextAfter, undefined);
  assert.deepEqual(JSON.parse(pageJson(page)), listing.publishers.map((p) => JSON.parse(p.json) as unknown));
});

test('a cursor that names no publisher starts at the next one in order; past the end is an empty page', () => {
  const listing = listingOf(10);
  assert.equal(pageOf(listing, { after: 'v00003.a', limit: 2 }).publishers[0]!.vendor, 'v00003.example');
  assert.equal(pageOf(listing, { after: 'v00003.example', limit: 2 }).publishers[0]!.vendor, 'v00004.example');
  const end = pageOf(listing, { after: 'zzz', limit: 5 });
  assert.deepEqual([end.publishers.length, end.start, end.nextAfter], [0, 10, undefined]);
});

test('a page ends after the publisher that takes it past the byte budget, and never splits a publisher', () => {
  const listing = listingOf(40, 100 * 1024);
  const page = pageOf(listing, { limit: MAX_PAGE_PUBLISHERS });
  const bytes = page.publishers.reduce((n, p) => n + p.json.length, 0);
  assert.equal(page.publishers.length, 11, 'ten 100 KiB publishers are under 1 MiB, the eleventh takes it past');
  assert.ok(bytes >= PAGE_BUDGET_BYTES && bytes < PAGE_BUDGET_BYTES + 101 * 1024);
  assert.equal(page.nextAfter, page.publishers[10]!.vendor);
  const huge = listingOf(2, 3 * 1024 * 1024);
  assert.equal(pageOf(huge, { limit: 100 }).publishers.length, 1, 'one publisher larger than the budget is a page of its own');
});

test('limit and after are checked', () => {
  assert.deepEqual(parsePageQuery({ limit: '100', after: 'acme.example' }), { limit: 100, after: 'acme.example' });
  assert.deepEqual(parsePageQuery({ other: 'ignored' }), { limit: MAX_PAGE_PUBLISHERS });
  for (const limit of ['0', '101', '1e3', '-1', '', 'ten', ['1', '2']]) {
    assert.throws(() => parsePageQuery({ limit }), (error: unknown) => error instanceof PageQueryError && /limit must be a whole number from 1 to 100/.test(error.message), String(limit));
  }
  for (const after of ['Upper.example', '../x', 'a'.repeat(64), ['a', 'b'], '']) {
    assert.throws(() => parsePageQuery({ after }), (error: unknown) => error instanceof PageQueryError && /after must be one vendor name/.test(error.message), String(after));
  }
});
