// The catalog's app list (`GET /api/v1/apps` and the page at `/`) over real HTTP, on a real catalog of 121
// publishers: it is read once per published state (a request after the first reads no role), what changed is
// read again (a publish: that publisher's role; a publisher added by the CLI: its bin), and one request gets one
// bounded page, with a cursor to the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appManifest, writeImageArchive } from '../../helpers/catalog-fixture.ts';
import { packApp } from '../../../src/catalog/package/package-writer.ts';
import { publishPackage } from '../../../src/catalog/publisher/publish-package.ts';
import { binOfVendor } from '../../../src/catalog/repository/hash-bins.ts';
import { addPublisher, addPublishers, commitRoles, initRepository, loadState } from '../../../src/catalog/repository/repository.ts';
import { layoutOf } from '../../../src/catalog/repository/repository-layout.ts';
import { buildCatalogServer } from '../../../src/catalog/server/catalog-server.ts';
import { fileRoleReader } from '../../../src/catalog/server/list-apps.ts';
import { generateKeyPairPem, signingKeyFromPem } from '../../../src/catalog/tuf/keys.ts';
import { DAY, expiryIn, signEnvelope, SPEC_VERSION, toFileBytes } from '../../../src/catalog/tuf/signed-metadata.ts';

const PUBLISHERS = 120;
const vendorOf = (index: number): string => `publisher-${String(index).padStart(3, '0')}.example`;
const ACME = 'acme.example';

interface Listed {
  vendor: string;
  keyIds: string[];
  verified: boolean;
  apps: { name: string; version: string; targetPath: string }[];
}

test('the app list is read once per published state, follows publishes, and comes in bounded pages', async () => {
  const work = await mkdtemp(join(tmpdir(), 'berth-app-listing-'));
  const dir = join(work, 'catalog');
  const offlineKeysDir = join(work, 'offline-keys');
  const layout = layoutOf(dir, offlineKeysDir);
  const reads: string[] = [];
  const readFromDisk = fileRoleReader(layout);
  const server = buildCatalogServer({ dir, readRole: (role, version) => (reads.push(role), readFromDisk(role, version)) });
  try {
    // 120 publishers with one signed app each, and acme, which has published nothing yet.
    await initRepository(dir, { offlineKeysDir });
    const pairs = Array.from({ length: PUBLISHERS }, () => generateKeyPairPem());
    const acme = generateKeyPairPem();
    await addPublishers(dir, [...pairs.map((pair, index) => ({ vendor: vendorOf(index), publicKeyPem: pair.publicPem })), { vendor: ACME, publicKeyPem: acme.publicPem }], { offlineKeysDir });
    const roles = new Map(pairs.map((pair, index) => {
      const vendor = vendorOf(index);
      const custom = { name: 'tool', vendor, version: '1.0.0', description: 'a tool', requiresBerth: '>=0.1.0', packageSize: 1000, unpackedSize: 2000, executionUnits: [{ name: 'main', memoryKiB: 8192, cpuPercent: 10, diskKiB: 1024 }] };
      const targets = { [`${vendor}/tool/tool-1.0.0.berth`]: { length: 1000, hashes: { sha256: 'ab'.repeat(32) }, custom } };
      const role = signEnvelope({ _type: 'targets', spec_version: SPEC_VERSION, version: 1, expires: expiryIn(30 * DAY), targets }, [signingKeyFromPem(pair.privatePem)]);
      return [vendor, { version: 1, bytes: toFileBytes(role) }];
    }));
    await commitRoles(layout, await loadState(layout), roles);
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    const url = `http://127.0.0.1:${address.port}`;
    const get = async (path: string): Promise<{ status: number; headers: Headers; body: string }> => {
      const response = await fetch(`${url}${path}`);
      return { status: response.status, headers: response.headers, body: await response.text() };
    };
    const allPages = async (total: number, limit?: number): Promise<Listed[]> => {
      const listed: Listed[] = [];
      let next: string | null = `/api/v1/apps${limit === undefined ? '' : `?limit=${limit}`}`;
      while (next !== null) {
        const page = await get(next);
        assert.equal(page.status, 200, page.body);
        assert.equal(page.headers.get('x-total-count'), String(total));
        const items = JSON.parse(page.body) as Listed[];
        assert.ok(items.length <= (limit ?? 100), `a page holds at most ${limit ?? 100} publishers`);
        listed.push(...items);
        next = /^<([^>]+)>; rel="next"$/.exec(page.headers.get('link') ?? '')?.[1] ?? null;
      }
      return listed;
    };

    // The first request reads every role and bin once; the next ones, of any page, read nothing.
    const first = await get('/api/v1/apps');
    const firstPage = JSON.parse(first.body) as Listed[];
    assert.equal(firstPage.length, 100, 'the default and largest page: 100 publishers');
    assert.equal(first.headers.get('x-total-count'), '121');
    assert.equal(first.headers.get('link'), `</api/v1/apps?after=${firstPage[99]!.vendor}>; rel="next"`);
    assert.deepEqual(firstPage[0], { vendor: ACME, keyIds: firstPage[0]!.keyIds, verified: false, apps: [] });
    assert.equal(reads.filter((role) => !role.startsWith('bin_')).length, PUBLISHERS, 'each published role read once');
    const readsAfterFirst = reads.length;
    const everyone = await allPages(PUBLISHERS + 1, 7);
    assert.deepEqual(everyone.map((p) => p.vendor), [ACME, ...pairs.map((_, index) => vendorOf(index))]);
    assert.ok(everyone.slice(1).every((p) => p.verified && p.apps.length === 1 && p.apps[0]!.targetPath === `${p.vendor}/tool/tool-1.0.0.berth`));
    const html = await get('/');
    assert.match(html.body, /120 packages from 121 publishers/);
    assert.match(html.body, /Publishers 1–100 of 121/);
    assert.match(html.body, /<h2>publisher-098\.example<\/h2>/);
    assert.doesNotMatch(html.body, /<h2>publisher-099\.example<\/h2>/);
    const htmlNext = /<a href="(\/\?after=[^"]+)">Next page<\/a>/.exec(html.body)?.[1];
    assert.equal(htmlNext, '/?after=publisher-098.example');
    const rest = await get(htmlNext);
    assert.match(rest.body, /Publishers 101–121 of 121/);
    assert.match(rest.body, /<h2>publisher-119\.example<\/h2>/);
    assert.equal(reads.length, readsAfterFirst, `${2 + Math.ceil(121 / 7)} more requests read no role`);

    // A publish over HTTP shows in the next listing, which reads that publisher's role and its bin (to verify it), nothing else.
    const image = join(work, 'hello.tar');
    await writeImageArchive(image, 16 * 1024, 'hello');
    const packageFile = join(work, 'hello-1.0.0.berth');
    await packApp({ manifest: appManifest('hello', '1.0.0', ACME), imagePath: image, outPath: packageFile });
    await publishPackage({ catalogUrl: url, packageFile, privateKeyPem: acme.privatePem });
    const afterPublish = JSON.parse((await get('/api/v1/apps?limit=1')).body) as Listed[];
    assert.deepEqual(afterPublish.map((p) => [p.vendor, p.verified, p.apps.map((app) => `${app.name} ${app.version}`)]), [[ACME, true, ['hello 1.0.0']]]);
    assert.deepEqual(reads.slice(readsAfterFirst), [binOfVendor(ACME, 256), ACME]);

    // A publisher added by the CLI (another process, in effect: only the files change) shows too; its bin is read again.
    const readsBeforeAdd = reads.length;
    await addPublisher(dir, 'newcomer.example', generateKeyPairPem().publicPem, { offlineKeysDir });
    const withNewcomer = await allPages(PUBLISHERS + 2);
    assert.equal(withNewcomer.length, PUBLISHERS + 2);
    assert.ok(withNewcomer.some((p) => p.vendor === 'newcomer.example' && !p.verified));
    const bin = binOfVendor('newcomer.example', 256);
    assert.deepEqual(reads.slice(readsBeforeAdd).filter((role) => role.startsWith('bin_')), [bin], 'only the changed bin is read again');

    // A query outside the bounds is refused and says what is allowed.
    for (const query of ['limit=101', 'limit=0', 'after=Not%20a%20vendor']) {
      const refused = await get(`/api/v1/apps?${query}`);
      assert.equal(refused.status, 400, query);
      assert.match((JSON.parse(refused.body) as { message: string }).message, /limit must be a whole number from 1 to 100|after must be one vendor name/);
    }
    assert.equal((await get('/?limit=500')).status, 400);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
});
