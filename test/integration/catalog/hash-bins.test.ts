// Publishers in hash bins, over real HTTP with the real server and the real gateway client: a gateway walks
// targets, one bin and one publisher role; what the server holds (its online keys) cannot make a gateway accept
// an app its publisher did not sign; and a catalog made before hash bins keeps serving, is moved into bins by its
// next `publisher add`, and its gateways and publishers carry on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appManifest, startCatalog, VENDOR, writeImageArchive } from '../../helpers/catalog-fixture.ts';
import { CatalogError } from '../../../src/catalog/client/catalog-error.ts';
import { createCatalogClient } from '../../../src/catalog/client/catalog-client.ts';
import { packApp } from '../../../src/catalog/package/package-writer.ts';
import { publishPackage, PublishError } from '../../../src/catalog/publisher/publish-package.ts';
import { encodePublishHead, publishPath, PUBLISH_CONTENT_TYPE } from '../../../src/catalog/publish-protocol.ts';
import { binOfVendor, publisherRole, vendorPattern } from '../../../src/catalog/repository/hash-bins.ts';
import { addPublisher, addPublishers, commitRoles, initRepository, loadState } from '../../../src/catalog/repository/repository.ts';
import { layoutOf } from '../../../src/catalog/repository/repository-layout.ts';
import type { RepositoryLayout } from '../../../src/catalog/repository/repository-layout.ts';
import { buildCatalogServer } from '../../../src/catalog/server/catalog-server.ts';
import { generateKeyPairPem, publicKeyFromPem, signingKeyFromPem } from '../../../src/catalog/tuf/keys.ts';
import type { TufSigningKey } from '../../../src/catalog/tuf/keys.ts';
import { DAY, expiryIn, signEnvelope, SPEC_VERSION, toFileBytes } from '../../../src/catalog/tuf/signed-metadata.ts';
import type { Envelope, JsonObject } from '../../../src/catalog/tuf/signed-metadata.ts';

async function expect7036(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CatalogError, `expected a CatalogError, got ${String(error)}`);
    assert.equal(error.uspErrorCode, 7036, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

async function packageOf(work: string, name: string, version: string, vendor = VENDOR): Promise<string> {
  const image = join(work, `${vendor}-${name}-${version}.tar`);
  await writeImageArchive(image, 16 * 1024, `${vendor}-${name}-${version}`);
  const out = join(work, `${vendor}-${name}-${version}.berth`);
  await packApp({ manifest: appManifest(name, version, vendor), imagePath: image, outPath: out });
  return out;
}

function versionIn(state: Awaited<ReturnType<typeof loadState>>, role: string): number {
  return ((state.snapshot.signed['meta'] as JsonObject)[`${role}.json`] as { version: number } | undefined)?.version ?? 0;
}

/** What a thief of the server's keys can do: publish any metadata it likes, signed with the snapshot and timestamp keys. */
async function serveForged(layout: RepositoryLayout, roles: Record<string, (version: number) => Envelope>): Promise<void> {
  const state = await loadState(layout);
  const snapshotKey = signingKeyFromPem(await readFile(layout.keyFile('snapshot'), 'utf8'));
  const timestampKey = signingKeyFromPem(await readFile(layout.keyFile('timestamp'), 'utf8'));
  const meta = { ...(state.snapshot.signed['meta'] as JsonObject) };
  for (const [name, forge] of Object.entries(roles)) {
    const version = versionIn(state, name) + 1;
    const bytes = toFileBytes(forge(version));
    await writeFile(layout.versionedMetadata(version, name), bytes);
    meta[`${name}.json`] = { version, length: bytes.length };
  }
  const snapshotVersion = (state.snapshot.signed['version'] as number) + 1;
  const snapshotBytes = toFileBytes(signEnvelope({ ...state.snapshot.signed, version: snapshotVersion, meta }, [snapshotKey]));
  await writeFile(layout.versionedMetadata(snapshotVersion, 'snapshot'), snapshotBytes);
  const timestamp = signEnvelope({ ...state.timestamp.signed, version: (state.timestamp.signed['version'] as number) + 1, meta: { 'snapshot.json': { version: snapshotVersion } } }, [timestampKey]);
  await writeFile(layout.timestampFile(), toFileBytes(timestamp));
}

function evilRole(version: number, keys: TufSigningKey[]): Envelope {
  const custom = { name: 'evil', vendor: VENDOR, version: '1.0.0', description: '', requiresBerth: '*', packageSize: 10, unpackedSize: 10, executionUnits: [{ name: 'x', memoryKiB: 1024, cpuPercent: 1, diskKiB: 0 }] };
  return signEnvelope({ _type: 'targets', spec_version: SPEC_VERSION, version, expires: expiryIn(30 * DAY), targets: { [`${VENDOR}/evil/evil-1.0.0.berth`]: { length: 10, hashes: { sha256: 'a'.repeat(64) }, custom } } }, keys);
}

function delegationTo(version: number, roles: JsonObject[], keys: JsonObject, signers: TufSigningKey[]): Envelope {
  return signEnvelope({ _type: 'targets', spec_version: SPEC_VERSION, version, expires: expiryIn(30 * DAY), targets: {}, delegations: { keys, roles } }, signers);
}

test('with many publishers, a gateway reads targets, its publisher\'s bin and its publisher\'s role, nothing more', async () => {
  const catalog = await startCatalog();
  try {
    const others = Array.from({ length: 40 }, (_, i) => ({ vendor: `other-${i}.example`, publicKeyPem: generateKeyPairPem().publicPem }));
    const { added } = await addPublishers(catalog.dir, others);
    assert.ok(new Set(added.map((a) => a.bin)).size > 20, 'spread over many bins');
    const { url } = await publishPackage({ catalogUrl: catalog.url, packageFile: await catalog.packApp('hello', '1.0.0'), privateKeyPem: catalog.publisherKeyPem });
    const gateway = join(catalog.work, 'gateway-walk');
    assert.equal((await catalog.client(gateway).resolve(url)).custom.name, 'hello');
    const trusted = (await readdir(join(gateway, 'current'))).sort();
    assert.deepEqual(trusted, [`${VENDOR}.json`, `${binOfVendor(VENDOR, 256)}.json`, 'root.json', 'snapshot.json', 'targets.json', 'timestamp.json'].sort());
    const bin = JSON.parse(await readFile(join(gateway, 'current', `${binOfVendor(VENDOR, 256)}.json`), 'utf8')) as Envelope;
    assert.ok(((bin.signed['delegations'] as { roles: { name: string }[] }).roles).some((r) => r.name === VENDOR));
  } finally {
    await catalog.close();
  }
});

test('a stolen server key cannot make a gateway accept an app its publisher did not sign', async () => {
  const catalog = await startCatalog();
  try {
    const { url } = await publishPackage({ catalogUrl: catalog.url, packageFile: await catalog.packApp('hello', '1.0.0'), privateKeyPem: catalog.publisherKeyPem });
    assert.equal((await catalog.client().resolve(url)).custom.name, 'hello');
    const layout = layoutOf(catalog.dir);
    // Everything the server holds: <dir>/keys/ (snapshot, timestamp). Not the offline targets key, not the publisher's.
    const serverKeys = [signingKeyFromPem(await readFile(layout.keyFile('snapshot'), 'utf8')), signingKeyFromPem(await readFile(layout.keyFile('timestamp'), 'utf8'))];
    const thief = signingKeyFromPem(generateKeyPairPem().privatePem);
    const evilUrl = `${catalog.url}/targets/${VENDOR}/evil/evil-1.0.0.berth`;
    const bin = binOfVendor(VENDOR, 256);
    const thiefDelegates = (name: string, paths: string[]) => [{ ...publisherRole(name, thief), paths }];

    // Through the publish API: a role signed with the server's keys is no publisher's signature.
    const response = await fetch(`${catalog.url}${publishPath(VENDOR)}`, { method: 'POST', headers: { 'content-type': PUBLISH_CONTENT_TYPE }, body: encodePublishHead(evilRole(2, serverKeys)) });
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { error: string }).error, 'BAD_SIGNATURE');

    // Straight into the repository: the publisher's role, signed with the server's keys.
    await serveForged(layout, { [VENDOR]: (version) => evilRole(version, serverKeys) });
    await expect7036(catalog.client().resolve(evilUrl), new RegExp(`${VENDOR.replace('.', '\\.')} was signed by 0/1 keys`));

    // The vendor's bin re-delegated to the thief's key (signed with the server's keys), and a role the thief signs.
    await serveForged(layout, {
      [bin]: (version) => delegationTo(version, thiefDelegates(VENDOR, [vendorPattern(VENDOR)]), { [thief.keyId]: thief.json }, serverKeys),
      [VENDOR]: (version) => evilRole(version, [thief]),
    });
    await expect7036(catalog.client().resolve(evilUrl), new RegExp(`${bin} was signed by 0/1 keys`));

    // targets itself re-delegating the bin to the thief's key.
    await serveForged(layout, {
      targets: (version) => delegationTo(version, thiefDelegates(bin, [vendorPattern(VENDOR)]).map((r) => ({ ...r, name: bin })), { [thief.keyId]: thief.json }, serverKeys),
      [bin]: (version) => delegationTo(version, thiefDelegates(VENDOR, [vendorPattern(VENDOR)]), { [thief.keyId]: thief.json }, [thief]),
      [VENDOR]: (version) => evilRole(version, [thief]),
    });
    await expect7036(catalog.client().resolve(evilUrl), /targets was signed by 0\/1 keys/);
    await expect7036(catalog.client().resolve(url), /targets was signed by 0\/1 keys/);
  } finally {
    await catalog.close();
  }
});

test('a catalog made before hash bins keeps serving; its next publisher add moves it into bins, and its gateways and publishers carry on', async () => {
  const work = await mkdtemp(join(tmpdir(), 'berth-flat-catalog-'));
  const dir = join(work, 'catalog');
  const server = buildCatalogServer({ dir });
  try {
    // targets v2 as berth wrote it before hash bins: one role per publisher, directly under targets.
    const { rootFile, offlineKeysDir } = await initRepository(dir);
    const layout = layoutOf(dir, offlineKeysDir);
    const targetsKey = signingKeyFromPem(await readFile(layout.targetsKeyFile, 'utf8'));
    const acme = generateKeyPairPem();
    const acmeKey = publicKeyFromPem(acme.publicPem);
    const flat = delegationTo(2, [publisherRole(VENDOR, acmeKey)], { [acmeKey.keyId]: acmeKey.json }, [targetsKey]);
    await commitRoles(layout, await loadState(layout), new Map([['targets', { version: 2, bytes: toFileBytes(flat) }]]));

    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    const catalogUrl = `http://127.0.0.1:${address.port}`;
    const gatewayDir = join(work, 'gateway');
    const gateway = () => createCatalogClient({ url: catalogUrl, rootFile, stateDir: gatewayDir, berthVersion: '0.1.0', idleTimeoutMs: 5_000 });

    const first = await publishPackage({ catalogUrl, packageFile: await packageOf(work, 'hello', '1.0.0'), privateKeyPem: acme.privatePem });
    assert.equal((await gateway().resolve(first.url)).custom.version, '1.0.0', 'the flat catalog serves as before');

    const other = generateKeyPairPem();
    const added = await addPublisher(dir, 'other.example', other.publicPem, { offlineKeysDir });
    assert.equal(added.migrated, 1);
    const top = (await loadState(layout)).targets.signed['delegations'] as { roles: { name: string; paths: string[] }[] };
    assert.equal(top.roles.length, 256);
    assert.ok(top.roles.find((r) => r.name === binOfVendor(VENDOR, 256))!.paths.includes(vendorPattern(VENDOR)));

    // The gateway that trusted the flat catalog follows; acme's role, signed before, still verifies.
    assert.equal((await gateway().resolve(first.url)).custom.version, '1.0.0');
    assert.ok((await readdir(join(gatewayDir, 'current'))).includes(`${binOfVendor(VENDOR, 256)}.json`));
    const second = await publishPackage({ catalogUrl, packageFile: await packageOf(work, 'hello', '1.1.0'), privateKeyPem: acme.privatePem });
    assert.equal((await gateway().resolve(second.url)).custom.version, '1.1.0');
    const theirs = await publishPackage({ catalogUrl, packageFile: await packageOf(work, 'tool', '1.0.0', 'other.example'), privateKeyPem: other.privatePem });
    assert.equal((await gateway().resolve(theirs.url)).custom.vendor, 'other.example');
    await assert.rejects(
      publishPackage({ catalogUrl, packageFile: await packageOf(work, 'sneaky', '1.0.0', 'other.example'), privateKeyPem: acme.privatePem, adoptExisting: true }),
      (error: unknown) => error instanceof PublishError && error.code === 'BAD_SIGNATURE',
    );
    const page = (await (await fetch(`${catalogUrl}/api/v1/apps`)).json()) as { vendor: string; verified: boolean; apps: unknown[] }[];
    assert.deepEqual(page.map((p) => [p.vendor, p.verified, p.apps.length]), [[VENDOR, true, 2], ['other.example', true, 1]]);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
});
