// The catalog's page for people: apps, versions, publishers and sizes, rendered on the server as plain HTML
// (no JavaScript needed). Every value comes from publisher-signed metadata and is escaped. One page of publishers
// at a time (listing-page.ts), with links to the next.
import type { CatalogListing, PublisherListing } from './list-apps.ts';
import type { ListingPage } from './listing-page.ts';

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]!}`;
}

const plural = (count: number, word: string): string => `${count.toLocaleString('en')} ${word}${count === 1 ? '' : 's'}`;

/** Where this page stands among all publishers, and the link to the next; nothing when one page holds them all. */
function pageNavigation(listing: CatalogListing, page: ListingPage): string {
  if (page.start === 0 && page.nextAfter === undefined) return '';
  const range = page.publishers.length === 0
    ? `No publishers after this point (${listing.publishers.length.toLocaleString('en')} in all).`
    : `Publishers ${(page.start + 1).toLocaleString('en')}–${(page.start + page.publishers.length).toLocaleString('en')} of ${listing.publishers.length.toLocaleString('en')}.`;
  const links = [page.start > 0 ? '<a href="/">First page</a>' : '', page.nextAfter === undefined ? '' : `<a href="/?after=${encodeURIComponent(page.nextAfter)}">Next page</a>`];
  return `<nav><p>${range} ${links.filter(Boolean).join(' · ')}</p></nav>`;
}

export function renderCatalogPage(listing: CatalogListing, page: ListingPage): string {
  const publishers = page.publishers.map((entry) => JSON.parse(entry.json) as PublisherListing);
  const navigation = pageNavigation(listing, page);
  const sections = publishers.map((publisher) => {
    const rows = publisher.apps.map((app) => {
      const units = app.executionUnits
        .map((eu) => `${escapeHtml(eu.name)}: ${formatBytes(eu.memoryKiB * 1024)} memory, ${eu.cpuPercent}% CPU, ${formatBytes(eu.diskKiB * 1024)} disk`)
        .join('<br>');
      return `<tr><td><strong>${escapeHtml(app.name)}</strong><br><small>${escapeHtml(app.description)}</small></td>
<td>${escapeHtml(app.version)}</td><td>${formatBytes(app.packageSize)}</td><td>${formatBytes(app.unpackedSize)}</td>
<td>${units}</td><td><small>berth ${escapeHtml(app.requiresBerth)}</small></td>
<td><a href="/targets/${escapeHtml(app.targetPath)}"><code>/targets/${escapeHtml(app.targetPath)}</code></a></td></tr>`;
    });
    const status = publisher.verified ? '' : ' <em>(metadata not signed with the current key: its apps are unavailable)</em>';
    const body = rows.length > 0
      ? `<table><thead><tr><th>App</th><th>Version</th><th>Package</th><th>Unpacked</th><th>Execution units</th><th>Needs</th><th>Package URL (for InstallDU)</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`
      : '<p>No apps published yet.</p>';
    return `<section><h2>${escapeHtml(publisher.vendor)}${status}</h2><p><small>key ${escapeHtml(publisher.keyIds.map((id) => id.slice(0, 16)).join(', '))}</small></p>${body}</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>berth app catalog</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:.85em}</style>
</head><body><h1>berth app catalog</h1>
<p>${plural(listing.appCount, 'package')} from ${plural(listing.publishers.length, 'publisher')}. Every package is signed by its publisher; gateways verify it through TUF metadata under <code>/metadata/</code>.</p>
${navigation}${sections.join('\n') || (listing.publishers.length === 0 ? '<p>No publishers yet.</p>' : '')}${navigation}
</body></html>
`;
}
