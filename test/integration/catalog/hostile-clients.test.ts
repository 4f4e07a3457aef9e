// `berth catalog serve` against clients that mean harm and hold no key: a flood of parallel publishes with huge
// roles, uploads beyond the size limit, bodies and headers trickled a byte at a time. The server runs in its own
// process (a crash or a heap blow-up is the server's, not the test's); after each attack it is still up, its
// memory bounded, and a legitimate publisher still publishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { readdir } from 'node:fs/promises';
import { startCatalogProcess } from '../../helpers/catalog-process.ts';
import type { CatalogProcess } from '../../helpers/catalog-process.ts';
import { VENDOR } from '../../helpers/catalog-fixture.ts';
import { publishPackage } from '../../../src/catalog/publisher/publish-package.ts';
import { encodePublishHead, MAX_ROLE_BYTES, publishPath, PUBLISH_CONTENT_TYPE } from '../../../src/catalog/publish-protocol.ts';
import { layoutOf } from '../../../src/catalog/repository/repository-layout.ts';
import { signingKeyFromPem } from '../../../src/catalog/tuf/keys.ts';
import { DAY, expiryIn, signEnvelope, SPEC_VERSION } from '../../../src/catalog/tuf/signed-metadata.ts';
import type { Envelope } from '../../../src/catalog/tuf/signed-metadata.ts';

async function withCatalogProcess(serveArgs: string[], work: (catalog: CatalogProcess) => Promise<void>): Promise<void> {
  const catalog = await startCatalogProcess(serveArgs);
  try {
    await work(catalog);
  } finally {
    await catalog.close();
  }
}

/** A publish body whose "role" is the largest the protocol allows and the worst JSON for a parser's heap. */
function hostileBody(): Buffer {
  const json = Buffer.from(`[${'{},'.repeat(Math.floor((MAX_ROLE_BYTES - 2) / 3) - 1)}{}]`);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(json.length);
  return Buffer.concat([head, json]);
}

/** One POST; resolves with the status, or the socket error when the server closed a refused upload early. */
function post(url: string, body: Buffer | undefined, headers: Record<string, string | number> = {}): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': PUBLISH_CONTENT_TYPE, ...(body ? { 'content-length': body.length } : {}), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => { resolve(res.statusCode ?? 0); });
      res.on('error', () => { resolve(res.statusCode ?? 0); });
    });
    req.on('error', (error: NodeJS.ErrnoException) => { resolve(error.code ?? error.message); });
    req.end(body);
  });
}

async function healthy(catalog: CatalogProcess): Promise<boolean> {
  const response = await fetch(`${catalog.url}/healthz`).catch(() => undefined);
  return response?.status === 200;
}

async function legitimatePublish(catalog: CatalogProcess, version: string): Promise<void> {
  const file = await catalog.packApp('hello', version);
  const published = await publishPackage({ catalogUrl: catalog.url, packageFile: file, privateKeyPem: catalog.publisherKeyPem });
  assert.equal(published.url, `${catalog.url}/targets/${VENDOR}/hello/hello-${version}.berth`);
  const listed = (await (await fetch(`${catalog.url}/api/v1/apps`)).json()) as { apps: { version: string }[] }[];
  assert.ok(listed[0]!.apps.some((app) => app.version === version), `${version} is listed`);
}

/** The publisher's first role, signing one target of `length` bytes with hash `sha256`. */
function roleSigning(catalog: CatalogProcess, length: number, sha256: string): Envelope {
  const custom = { name: 'big', vendor: VENDOR, version: '1.0.0', description: '', requiresBerth: '>=0.1.0', packageSize: length, unpackedSize: length, executionUnits: [{ name: 'main', memoryKiB: 8192, cpuPercent: 10, diskKiB: 1024 }] };
  return signEnvelope(
    { _type: 'targets', spec_version: SPEC_VERSION, version: 1, expires: expiryIn(30 * DAY), targets: { [`${VENDOR}/big/big-1.0.0.berth`]: { length, hashes: { sha256 }, custom } } },
    [signingKeyFromPem(catalog.publisherKeyPem)],
  );
}

/** A publish sent with Transfer-Encoding: chunked (no Content-Length), in 64 KiB chunks. */
function postChunked(url: string, body: Buffer): Promise<{ status: number; error: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': PUBLISH_CONTENT_TYPE, 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, error: (JSON.parse(text) as { error: string }).error }); });
    });
    req.on('error', reject);
    for (let offset = 0; offset < body.length; offset += 65536) req.write(body.subarray(offset, offset + 65536));
    req.end();
  });
}

async function storedNothing(catalog: CatalogProcess, app = 'big'): Promise<void> {
  const layout = layoutOf(catalog.dir);
  assert.deepEqual(await readdir(`${layout.targetsDir}/${VENDOR}/${app}`).catch(() => []), [], 'no target stored');
  assert.deepEqual(await readdir(layout.incomingDir).catch(() => []), [], 'nothing left in incoming/');
}

interface Trickled {
  /** What the server answered, if anything. */
  response: string;
  /** When the server closed the connection, in ms from the first byte sent. */
  closedAfterMs: number;
}

/**
 * A client that sends `head`, then `drip` every `everyMs` until the server closes the connection (given up after
 * 30 s).
 */
function trickle(url: string, head: string | Buffer, drip: string, everyMs: number): Promise<Trickled> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    let response = '';
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(head);
    });
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip);
    }, everyMs);
    const giveUp = setTimeout(() => socket.destroy(), 30_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ response, closedAfterMs: Date.now() - started });
    });
  });
}

function countOf(outcomes: readonly (number | string)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

test('120 parallel 4 MiB hostile publishes: refused, the server stays up with bounded memory, and a real publish works after', () =>
  withCatalogProcess([], async (catalog) => {
    const body = hostileBody();
    const before = await catalog.rssKiB();
    let peak = before;
    const sampler = setInterval(() => {
      void catalog.rssKiB().then((kib) => (peak = Math.max(peak, kib)), () => undefined);
    }, 50);
    let outcomes: (number | string)[];
    try {
      outcomes = await Promise.all([
        ...Array.from({ length: 60 }, () => post(`${catalog.url}${publishPath('nobody.example')}`, body)),
        ...Array.from({ length: 60 }, () => post(`${catalog.url}${publishPath(VENDOR)}`, body)),
      ]);
    } finally {
      clearInterval(sampler);
    }
    assert.ok(catalog.alive() && (await healthy(catalog)), `the server died: ${catalog.stderr().slice(-2000)}`);
    const unknown = countOf(outcomes.slice(0, 60));
    const known = countOf(outcomes.slice(60));
    // An unknown vendor is answered before the body is read; a refused upload may see its connection closed.
    assert.deepEqual(Object.keys(unknown).filter((key) => !['404', 'ECONNRESET', 'EPIPE'].includes(key)), [], JSON.stringify(unknown));
    assert.ok((unknown['404'] ?? 0) > 0, JSON.stringify(unknown));
    // A known vendor's garbage role: malformed (400) once parsed, or busy (503) beyond the concurrent publishes.
    assert.deepEqual(Object.keys(known).filter((key) => !['400', '503', 'ECONNRESET', 'EPIPE'].includes(key)), [], JSON.stringify(known));
    assert.ok((known['503'] ?? 0) > 0 && (known['400'] ?? 0) > 0, JSON.stringify(known));
    const grownMiB = (peak - before) / 1024;
    // At most 4 publishes at once, each holding at most a 4 MiB role, and no stranger's role parsed (measured: +35-41 MiB).
    assert.ok(grownMiB < 100, `resident memory grew by ${grownMiB.toFixed(0)} MiB under the attack`);
    assert.ok(await healthy(catalog));
    await legitimatePublish(catalog, '1.0.0');
  }));

test('cheap checks first: a declared length beyond the limit is 413 and a wrong type 415, before any body', () =>
  withCatalogProcess([], async (catalog) => {
    assert.equal(await post(`${catalog.url}${publishPath(VENDOR)}`, undefined, { 'content-length': 64 * 1024 ** 3 }), 413);
    assert.equal(await post(`${catalog.url}${publishPath(VENDOR)}`, Buffer.from('{}'), { 'content-type': 'application/json' }), 415);
    assert.equal(await post(`${catalog.url}${publishPath('nobody.example')}`, undefined, { 'content-length': 64 * 1024 ** 3 }), 404);
    assert.ok(await healthy(catalog));
  }));

test('--max-package-bytes holds for chunked uploads: 413 TOO_LARGE, a body longer than signed is cut off, nothing stored', () =>
  withCatalogProcess(['--max-package-bytes', '100000'], async (catalog) => {
    const url = `${catalog.url}${publishPath(VENDOR)}`;
    // Signed as 300,000 bytes, sent without a Content-Length: refused on the signed length, before the package.
    const large = randomBytes(300_000);
    const largeRole = roleSigning(catalog, large.length, createHash('sha256').update(large).digest('hex'));
    assert.deepEqual(await postChunked(url, Buffer.concat([encodePublishHead(largeRole), large])), { status: 413, error: 'TOO_LARGE' });
    await storedNothing(catalog);
    // Signed as 50,000 bytes (within the limit) but 300,000 sent: writing stops at the signed length.
    const small = large.subarray(0, 50_000);
    const smallRole = roleSigning(catalog, small.length, createHash('sha256').update(small).digest('hex'));
    assert.deepEqual(await postChunked(url, Buffer.concat([encodePublishHead(smallRole), large])), { status: 422, error: 'PACKAGE_MISMATCH' });
    await storedNothing(catalog);
    assert.ok(catalog.alive());
  }));

test('slow clients: a body at 1 byte every 5 s, a package at 1 byte a second, trickled headers, a body where none belongs: closed in time while others are served', () =>
  withCatalogProcess([], async (catalog) => {
    const trickledBody = trickle(catalog.url, `POST ${publishPath(VENDOR)} HTTP/1.1\r\nHost: catalog\r\nContent-Type: ${PUBLISH_CONTENT_TYPE}\r\nContent-Length: 100000\r\n\r\n`, 'x', 5000);
    // A valid role for a 64 KiB package, then the package at a byte a second: the deadline is 10 s + 1 s.
    const packageBytes = randomBytes(65_536);
    const role = encodePublishHead(roleSigning(catalog, packageBytes.length, createHash('sha256').update(packageBytes).digest('hex')));
    const publishHead = `POST ${publishPath(VENDOR)} HTTP/1.1\r\nHost: catalog\r\nContent-Type: ${PUBLISH_CONTENT_TYPE}\r\nContent-Length: ${role.length + packageBytes.length}\r\n\r\n`;
    const trickledPackage = trickle(catalog.url, Buffer.concat([Buffer.from(publishHead), role]), 'x', 1000);
    const trickledHeaders = trickle(catalog.url, 'GET /healthz HTTP/1.1\r\nHost: catalog\r\n', 'X-Slow: 1\r\n', 2000);
    const strayBody = trickle(catalog.url, 'POST /api/v1/apps HTTP/1.1\r\nHost: catalog\r\nContent-Length: 100000\r\n\r\n', 'x', 1000);
    // Everyone else is served meanwhile.
    assert.ok(await healthy(catalog));
    await legitimatePublish(catalog, '1.0.0');
    const [body, pkg, headers, stray] = await Promise.all([trickledBody, trickledPackage, trickledHeaders, strayBody]);
    // README: a publish's role must arrive within 10 s, its package within 10 s + 1 s per 64 KiB; headers within
    // 10 s; timeouts are checked every second.
    assert.match(body.response, /^HTTP\/1\.1 408 /);
    assert.match(body.response, /"error":"TIMEOUT"/);
    assert.ok(body.closedAfterMs >= 9_000 && body.closedAfterMs < 13_000, `trickled body closed after ${body.closedAfterMs} ms`);
    assert.match(pkg.response, /^HTTP\/1\.1 408 .*"error":"TIMEOUT"/s);
    assert.ok(pkg.closedAfterMs >= 10_000 && pkg.closedAfterMs < 14_000, `trickled package closed after ${pkg.closedAfterMs} ms`);
    await storedNothing(catalog, 'big');
    assert.ok(headers.closedAfterMs >= 9_000 && headers.closedAfterMs < 13_000, `trickled headers closed after ${headers.closedAfterMs} ms`);
    assert.match(stray.response, /^HTTP\/1\.1 404 /);
    assert.ok(stray.closedAfterMs < 3_000, `a body where none belongs: closed after ${stray.closedAfterMs} ms`);
    assert.ok(catalog.alive() && (await healthy(catalog)));
  }));

test('--max-connections: one connection more is closed at once, and the server serves again when one goes', () =>
  withCatalogProcess(['--max-connections', '8'], async (catalog) => {
    const { hostname, port } = new URL(catalog.url);
    const open = (): Promise<ReturnType<typeof connect>> =>
      new Promise((resolve) => {
        const socket = connect({ host: hostname, port: Number(port) }, () => { resolve(socket); });
        socket.on('error', () => undefined);
      });
    const held = [];
    for (let i = 0; i < 8; i++) held.push(await open());
    try {
      const extra = await trickle(catalog.url, 'GET /healthz HTTP/1.1\r\nHost: catalog\r\n\r\n', '', 60_000);
      assert.equal(extra.response, '', 'no answer on a connection over the limit');
      assert.ok(extra.closedAfterMs < 2_000, `closed after ${extra.closedAfterMs} ms`);
    } finally {
      for (const socket of held) socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(await healthy(catalog));
  }));
