// The catalog end to end over real HTTP: pack → publish (signed by the publisher's own key) → a gateway resolves
// the URL through TUF and downloads, hashes and unpacks in one pass. Then the attacks a catalog exists to stop:
// each is refused with the USP fault a gateway would report, and leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCatalog, VENDOR } from '../../helpers/catalog-fixture.ts';
import type { CatalogFixture } from '../../helpers/catalog-fixture.ts';
import { publishPackage, PublishError } from '../../../src/catalog/publisher/publish-package.ts';
import { CatalogError } from '../../../src/catalog/client/catalog-error.ts';
import { addPublisher, initRepository, loadRole, loadState, refreshExpiring, rotateRoot } from '../../../src/catalog/repository/repository.ts';
import { layoutOf } from '../../../src/catalog/repository/repository-layout.ts';
import { generateKeyPairPem, signingKeyFromPem } from '../../../src/catalog/tuf/keys.ts';
import { DAY, expiryIn, signEnvelope, SPEC_VERSION, toFileBytes } from '../../../src/catalog/tuf/signed-metadata.ts';
import type { Envelope, JsonObject } from '../../../src/catalog/tuf/signed-metadata.ts';
import { encodePublishHead, publishPath, PUBLISH_CONTENT_TYPE } from '../../../src/catalog/publish-protocol.ts';

async function withCatalog(work: (catalog: CatalogFixture) => Promise<void>): Promise<void> {
  const catalog = await startCatalog();
  try {
    await work(catalog);
  } finally {
    await catalog.close();
  }
}

async function publish(catalog: CatalogFixture, name: string, version: string, keyPem = catalog.publisherKeyPem) {
  const file = await catalog.packApp(name, version);
  return publishPackage({ catalogUrl: catalog.url, packageFile: file, privateKeyPem: keyPem });
}

async function expectFault(promise: Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CatalogError, `expected a CatalogError, got ${String(error)}`);
    assert.equal(error.uspErrorCode, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

async function emptyWorkDir(catalog: CatalogFixture, name: string): Promise<string> {
  const dir = join(catalog.work, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

async function storedTarget(catalog: CatalogFixture, targetPath: string): Promise<string> {
  const layout = layoutOf(catalog.dir);
  const folder = join(layout.targetsDir, ...targetPath.split('/').slice(0, 2));
  const name = (await readdir(folder)).find((entry) => entry.endsWith(targetPath.split('/')[2]!));
  assert.ok(name, 'target stored');
  return join(folder, name);
}

test('pack → publish → resolve → download: the gateway gets the same manifest and image, and the page lists the app', () =>
  withCatalog(async (catalog) => {
    const file = await catalog.packApp('hello', '1.0.0', { imageSize: 300_000 });
    let lastProgress = 0;
    const published = await publishPackage({
      catalogUrl: catalog.url,
      packageFile: file,
      privateKeyPem: catalog.publisherKeyPem,
      onProgress: (sent) => (lastProgress = sent),
    });
    assert.equal(published.url, `${catalog.url}/targets/${VENDOR}/hello/hello-1.0.0.berth`);
    assert.equal(published.alreadyPublished, false);
    assert.ok(lastProgress > 300_000, 'progress reported up to the package size');

    const client = catalog.client();
    const resolved = await client.resolve(published.url);
    assert.equal(resolved.custom.name, 'hello');
    assert.equal(resolved.custom.executionUnits[0]!.memoryKiB, 8192);
    assert.equal(resolved.length, (await readFile(file)).length);
    const workDir = await emptyWorkDir(catalog, 'unpack');
    const verified = await client.download(resolved, { workDir });
    assert.equal(verified.manifest.version, '1.0.0');
    assert.deepEqual(await readFile(verified.imagePath), await readFile(join(catalog.work, 'hello-1.0.0.image.tar')));

    const again = await publishPackage({ catalogUrl: catalog.url, packageFile: file, privateKeyPem: catalog.publisherKeyPem });
    assert.equal(again.alreadyPublished, true, 'publishing the same package twice is a no-op');

    await publish(catalog, 'hello', '1.1.0');
    const page = await (await fetch(`${catalog.url}/`)).text();
    assert.match(page, /<h2>acme\.example<\/h2>/);
    assert.match(page, /hello.*1\.1\.0/s);
    assert.match(page, /1\.0\.0/);
    assert.match(page, /\/targets\/acme\.example\/hello\/hello-1\.0\.0\.berth/);
    const second = catalog.client();
    assert.equal((await second.resolve(`${catalog.url}/targets/${VENDOR}/hello/hello-1.1.0.berth`)).custom.version, '1.1.0');
  }));

test('tampered package bytes, a package longer than signed: 7035 and the work folder stays empty', () =>
  withCatalog(async (catalog) => {
    const { url, targetPath } = await publish(catalog, 'hello', '1.0.0');
    const stored = await storedTarget(catalog, targetPath);
    const original = await readFile(stored);
    const client = catalog.client();

    const tampered = Buffer.from(original);
    tampered[tampered.length - 2000]! ^= 0xff;
    await rm(stored);
    await writeFile(stored, tampered);
    const workDir = await emptyWorkDir(catalog, 'unpack');
    await expectFault(client.download(await client.resolve(url), { workDir }), 7035, /sha256 .* (does not match the signed|differs from the manifest)/);
    assert.deepEqual(await readdir(workDir), []);

    await rm(stored);
    await writeFile(stored, original);
    await appendFile(stored, Buffer.alloc(4096, 1));
    await expectFault(client.download(await client.resolve(url), { workDir }), 7035, /longer than the \d+ bytes/);
    assert.deepEqual(await readdir(workDir), []);
  }));

test('rollback of metadata, expired timestamp, mix-and-match snapshot: 7036', () =>
  withCatalog(async (catalog) => {
    const first = await publish(catalog, 'hello', '1.0.0');
    const layout = layoutOf(catalog.dir);
    const oldTimestamp = await readFile(layout.timestampFile());
    await publish(catalog, 'hello', '1.1.0');
    const client = catalog.client();
    await client.resolve(first.url); // the gateway now trusts the newer timestamp

    const newTimestamp = await readFile(layout.timestampFile());
    await writeFile(layout.timestampFile(), oldTimestamp);
    await expectFault(client.resolve(first.url), 7036, /version .* is less than current version/i);
    await writeFile(layout.timestampFile(), newTimestamp);

    // Mix-and-match: the snapshot the timestamp pins replaced by an older, validly signed one.
    const state = await loadState(layout);
    const pinned = ((state.timestamp.signed['meta'] as JsonObject)['snapshot.json'] as { version: number }).version;
    const pinnedFile = layout.versionedMetadata(pinned, 'snapshot');
    const pinnedBytes = await readFile(pinnedFile);
    await copyFile(layout.versionedMetadata(pinned - 1, 'snapshot'), pinnedFile);
    await expectFault(catalog.client().resolve(first.url), 7036, /snapshot/i);
    await writeFile(pinnedFile, pinnedBytes);

    // An expired timestamp, validly signed by the timestamp key.
    const timestampKey = signingKeyFromPem(await readFile(layout.keyFile('timestamp'), 'utf8'));
    const expired = signEnvelope({ ...state.timestamp.signed, version: (state.timestamp.signed['version'] as number) + 1, expires: expiryIn(-DAY) }, [timestampKey]);
    await writeFile(layout.timestampFile(), toFileBytes(expired));
    await expectFault(catalog.client().resolve(first.url), 7036, /expired/i);
    // None of the refused refreshes changed what the first gateway trusts.
    assert.deepEqual((await readdir(join(catalog.work, 'gateway-1'))).length, 2, 'current + one generation, no leftovers');
    const trusted = JSON.parse(await readFile(join(catalog.work, 'gateway-1', 'current', 'timestamp.json'), 'utf8')) as Envelope;
    assert.equal(trusted.signed['version'], JSON.parse(newTimestamp.toString('utf8')).signed.version);
  }));

test('an M-of-N root: rotation needs the threshold of current root keys, and gateways follow the rotation', async () => {
  const catalog = await startCatalog({ rootKeys: 3, rootThreshold: 2 });
  try {
    const { url } = await publish(catalog, 'hello', '1.0.0');
    const layout = layoutOf(catalog.dir);
    const root = JSON.parse(await readFile(layout.versionedMetadata(1, 'root'), 'utf8')) as Envelope;
    assert.equal((root.signed['roles'] as Record<string, { threshold: number }>)['root']!.threshold, 2);
    assert.equal(root.signatures.length, 3);
    // With one root key gone (kept offline elsewhere), 2 of 3 still sign the rotation.
    const keys = (await readdir(layout.rootKeysDir)).sort();
    const offline = join(catalog.work, 'offline');
    await mkdir(offline);
    await copyFile(join(layout.rootKeysDir, keys[0]!), join(offline, keys[0]!));
    await rm(join(layout.rootKeysDir, keys[0]!));
    const rotated = await rotateRoot(catalog.dir);
    assert.equal(rotated.version, 2);
    assert.equal((await catalog.client().resolve(url)).custom.name, 'hello', 'a gateway shipped with root v1 walks to v2');
    // Below the threshold, rotation is refused and nothing is published.
    const current = (await readdir(layout.rootKeysDir)).sort();
    for (const name of current.slice(0, 2)) await rm(join(layout.rootKeysDir, name));
    await assert.rejects(rotateRoot(catalog.dir), /needs 2 of the current root keys/);
    await assert.rejects(readFile(layout.versionedMetadata(3, 'root')), /ENOENT/);
  } finally {
    await catalog.close();
  }
});

test('offline keys: publisher add and rotate-root find them where named, and a catalog made with them inside still works', async () => {
  const work = await mkdtemp(join(tmpdir(), 'berth-offline-keys-'));
  try {
    const dir = join(work, 'catalog');
    const { offlineKeysDir } = await initRepository(dir);
    assert.equal(offlineKeysDir, `${dir}-offline-keys`);
    const usb = join(work, 'usb');
    await rename(offlineKeysDir, usb);
    const publisher = generateKeyPairPem().publicPem;
    await assert.rejects(addPublisher(dir, VENDOR, publisher), /targets key not found at .*catalog-offline-keys\/targets\.pem; .*--offline-keys/);
    await assert.rejects(rotateRoot(dir), /root keys in .*found 0; .*--offline-keys/);
    await addPublisher(dir, VENDOR, publisher, { offlineKeysDir: usb });
    assert.equal((await rotateRoot(dir, { offlineKeysDir: usb })).version, 2);
    assert.equal((await readdir(join(usb, 'retired'))).length, 1, 'the old root keys retired with the offline keys');
    assert.ok((await readdir(join(dir, 'keys', 'retired'))).some((name) => name.startsWith('timestamp-v1')), 'the old timestamp key with the online ones');

    // A catalog made before the offline keys moved out: its error says how to go on, and naming keys/ does.
    const old = join(work, 'old');
    await initRepository(old, { offlineKeysDir: join(old, 'keys') });
    await assert.rejects(addPublisher(old, VENDOR, publisher), new RegExp(`offline keys inside it: pass --offline-keys ${join(old, 'keys')}`));
    await addPublisher(old, VENDOR, publisher, { offlineKeysDir: join(old, 'keys') });
    assert.equal((await rotateRoot(old, { offlineKeysDir: join(old, 'keys') })).version, 2);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('a publisher cannot reach beyond its delegation, and publishing without the delegated key is refused', () =>
  withCatalog(async (catalog) => {
    const other = generateKeyPairPem();
    await addPublisher(catalog.dir, 'other.example', other.publicPem);
    const outside = await catalog.packApp('sneaky', '1.0.0', { vendor: 'other.example' });
    // acme's key signing other.example's path: the server refuses it as a bad signature for other.example's role.
    await assert.rejects(
      publishPackage({ catalogUrl: catalog.url, packageFile: outside, privateKeyPem: catalog.publisherKeyPem }),
      (error: unknown) => error instanceof PublishError && error.code === 'BAD_SIGNATURE',
    );

    // acme's role listing a target under other.example's path, sent by hand: refused as outside the delegation.
    const acme = signingKeyFromPem(catalog.publisherKeyPem);
    const custom = { name: 'sneaky', vendor: 'other.example', version: '1.0.0', description: '', requiresBerth: '*', packageSize: 10, unpackedSize: 10, executionUnits: [{ name: 'x', memoryKiB: 1024, cpuPercent: 1, diskKiB: 0 }] };
    const role = signEnvelope(
      { _type: 'targets', spec_version: SPEC_VERSION, version: 1, expires: expiryIn(30 * DAY), targets: { 'other.example/sneaky/sneaky-1.0.0.berth': { length: 10, hashes: { sha256: 'a'.repeat(64) }, custom } } },
      [acme],
    );
    const send = (vendor: string, head: Buffer) =>
      fetch(`${catalog.url}${publishPath(vendor)}`, { method: 'POST', headers: { 'content-type': PUBLISH_CONTENT_TYPE }, body: head });
    let response = await send(VENDOR, encodePublishHead(role));
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { error: string }).error, 'OUTSIDE_DELEGATION');

    // No credentials at all: an unsigned role, a role signed by a stranger, an unknown vendor, garbage.
    const stranger = signingKeyFromPem(generateKeyPairPem().privatePem);
    const own = { ...role.signed, targets: {} };
    response = await send(VENDOR, encodePublishHead({ signed: own, signatures: [] }));
    assert.equal(response.status, 401);
    response = await send(VENDOR, encodePublishHead(signEnvelope(own, [stranger])));
    assert.equal(response.status, 401);
    response = await send('nobody.example', encodePublishHead(signEnvelope(own, [stranger])));
    assert.equal(response.status, 404);
    for (const name of ['constructor', '__proto__', 'toString']) {
      response = await send(name, encodePublishHead(signEnvelope(own, [stranger])));
      assert.equal(response.status, 404, `vendor ${name} is no publisher`);
    }
    response = await send(VENDOR, Buffer.from('not a publish request'));
    assert.equal(response.status, 400);

    // Even if such metadata reached the repository, a gateway would not find the target under other.example:
    // the lookup goes to other.example's own role (terminating delegation), never to acme's.
    const legit = await catalog.packApp('legit', '1.0.0', { vendor: 'other.example' });
    await publishPackage({ catalogUrl: catalog.url, packageFile: legit, privateKeyPem: other.privatePem });
    const layout = layoutOf(catalog.dir);
    const state = await loadState(layout);
    const rogue = signEnvelope({ ...role.signed, version: 1 }, [acme]);
    const snapshotKey = signingKeyFromPem(await readFile(layout.keyFile('snapshot'), 'utf8'));
    const timestampKey = signingKeyFromPem(await readFile(layout.keyFile('timestamp'), 'utf8'));
    const rogueBytes = toFileBytes(rogue);
    await writeFile(layout.versionedMetadata(1, VENDOR), rogueBytes);
    const snapshotVersion = (state.snapshot.signed['version'] as number) + 1;
    const snapshot = signEnvelope({ ...state.snapshot.signed, version: snapshotVersion, meta: { ...(state.snapshot.signed['meta'] as JsonObject), [`${VENDOR}.json`]: { version: 1 } } }, [snapshotKey]);
    await writeFile(layout.versionedMetadata(snapshotVersion, 'snapshot'), toFileBytes(snapshot));
    await writeFile(layout.timestampFile(), toFileBytes(signEnvelope({ ...state.timestamp.signed, version: (state.timestamp.signed['version'] as number) + 1, meta: { 'snapshot.json': { version: snapshotVersion } } }, [timestampKey])));
    await expectFault(catalog.client().resolve(`${catalog.url}/targets/other.example/sneaky/sneaky-1.0.0.berth`), 7036, /no signed target/);
  }));

test('a revoked publisher key: its publishes are refused and what it signed stops verifying; rotated-out root and timestamp keys too', () =>
  withCatalog(async (catalog) => {
    const { url } = await publish(catalog, 'hello', '1.0.0');
    const gateway = join(catalog.work, 'gateway-kept');
    await catalog.client(gateway).resolve(url);

    const replacement = generateKeyPairPem();
    const { replaced } = await addPublisher(catalog.dir, VENDOR, replacement.publicPem);
    assert.equal(replaced, true);
    await assert.rejects(publish(catalog, 'hello', '1.1.0'), (error: unknown) => error instanceof PublishError && error.code === 'BAD_SIGNATURE');
    const oldKeyFile = await catalog.packApp('hello', '1.2.0');
    await assert.rejects(
      publishPackage({ catalogUrl: catalog.url, packageFile: oldKeyFile, privateKeyPem: catalog.publisherKeyPem, adoptExisting: true }),
      (error: unknown) => error instanceof PublishError && error.code === 'BAD_SIGNATURE',
    );
    await expectFault(catalog.client(gateway).resolve(url), 7036, /signed by 0\/1 keys|metadata refused/);
    await assert.rejects(
      publishPackage({ catalogUrl: catalog.url, packageFile: oldKeyFile, privateKeyPem: replacement.privatePem }),
      (error: unknown) => error instanceof PublishError && error.code === 'NOT_YOUR_ROLE',
      'the new key does not silently adopt what the catalog claims the old key signed',
    );
    // The publisher re-signs with its new key: its apps come back.
    const resigned = await publishPackage({ catalogUrl: catalog.url, packageFile: oldKeyFile, privateKeyPem: replacement.privatePem, adoptExisting: true });
    assert.equal(resigned.alreadyPublished, false);
    assert.equal((await catalog.client(gateway).resolve(url)).custom.version, '1.0.0');

    // Root rotation: the gateway walks to the new root; a timestamp signed by the retired timestamp key is refused.
    const layout = layoutOf(catalog.dir);
    const oldTimestampKey = signingKeyFromPem(await readFile(layout.keyFile('timestamp'), 'utf8'));
    const rotated = await rotateRoot(catalog.dir);
    assert.equal(rotated.version, 2);
    await catalog.client(gateway).resolve(url);
    const trustedRoot = JSON.parse(await readFile(join(gateway, 'current', 'root.json'), 'utf8')) as Envelope;
    assert.equal(trustedRoot.signed['version'], 2);
    assert.equal((await catalog.client().resolve(url)).custom.name, 'hello', 'a gateway shipped with root v1 also walks to v2');
    const state = await loadState(layout);
    const forged = signEnvelope({ ...state.timestamp.signed, version: (state.timestamp.signed['version'] as number) + 1 }, [oldTimestampKey]);
    await writeFile(layout.timestampFile(), toFileBytes(forged));
    await expectFault(catalog.client(gateway).resolve(url), 7036, /timestamp was signed by 0\/1 keys/);
  }));

test('published versions are immutable: a re-signed role may not change or drop a published target', () =>
  withCatalog(async (catalog) => {
    const { url } = await publish(catalog, 'hello', '1.0.0');
    await publish(catalog, 'hello', '1.1.0');
    const layout = layoutOf(catalog.dir);
    const current = (await loadRole(layout, await loadState(layout), VENDOR))!;
    const targets = current.signed['targets'] as Record<string, { length: number; hashes: JsonObject; custom: JsonObject }>;
    const path = `${VENDOR}/hello/hello-1.0.0.berth`;
    const acme = signingKeyFromPem(catalog.publisherKeyPem);
    const resign = (changed: JsonObject) =>
      fetch(`${catalog.url}${publishPath(VENDOR)}`, {
        method: 'POST',
        headers: { 'content-type': PUBLISH_CONTENT_TYPE },
        body: encodePublishHead(signEnvelope({ ...current.signed, version: (current.signed['version'] as number) + 1, targets: changed }, [acme])),
      });
    const refusals: { status: number; body: { error: string; message: string } }[] = [];
    for (const changed of [
      // The signed summary a gateway admits the app by: more memory than the package was checked for.
      { ...targets, [path]: { ...targets[path]!, custom: { ...targets[path]!.custom, executionUnits: [{ name: 'main', memoryKiB: 1024, cpuPercent: 10, diskKiB: 1024 }] } } },
      // Which berth versions it runs on: would make 1.0.0 uninstallable everywhere.
      { ...targets, [path]: { ...targets[path]!, custom: { ...targets[path]!.custom, requiresBerth: '>=99.0.0' } } },
      // Dropped from the role: gateways could no longer verify what they installed.
      Object.fromEntries(Object.entries(targets).filter(([name]) => name !== path)),
    ]) {
      const response = await resign(changed);
      refusals.push({ status: response.status, body: (await response.json()) as { error: string; message: string } });
    }
    for (const refusal of refusals) {
      assert.equal(refusal.status, 409, refusal.body.message);
      assert.equal(refusal.body.error, 'IMMUTABLE');
      assert.match(refusal.body.message, /hello-1\.0\.0\.berth/);
    }
    const resolved = await catalog.client().resolve(url);
    assert.equal(resolved.custom.requiresBerth, '>=0.1.0');
    assert.equal(resolved.custom.executionUnits[0]!.memoryKiB, 8192);
    // Signing the same targets again is no change: accepted.
    const same = await resign(targets);
    assert.equal(same.status, 201);
  }));

test('the server refuses a package that does not match what the publisher signed, and a hostile tar', () =>
  withCatalog(async (catalog) => {
    const file = await catalog.packApp('hello', '1.0.0');
    const bytes = await readFile(file);
    const acme = signingKeyFromPem(catalog.publisherKeyPem);
    const custom = { name: 'hello', vendor: VENDOR, version: '1.0.0', description: 'hello for tests', requiresBerth: '>=0.1.0', packageSize: bytes.length, unpackedSize: 1, executionUnits: [{ name: 'main', memoryKiB: 8192, cpuPercent: 10, diskKiB: 1024 }] };
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const roleFor = (length: number, hash: string, summary: JsonObject) =>
      signEnvelope({ _type: 'targets', spec_version: SPEC_VERSION, version: 1, expires: expiryIn(30 * DAY), targets: { [`${VENDOR}/hello/hello-1.0.0.berth`]: { length, hashes: { sha256: hash }, custom: { ...summary, packageSize: length } } } }, [acme]);
    const send = async (role: Envelope, body: Buffer) => {
      const response = await fetch(`${catalog.url}${publishPath(VENDOR)}`, { method: 'POST', headers: { 'content-type': PUBLISH_CONTENT_TYPE }, body: Buffer.concat([encodePublishHead(role), body]) });
      return { status: response.status, body: (await response.json()) as { error: string; message: string } };
    };
    // The signed summary lies about the unpacked size.
    let answer = await send(roleFor(bytes.length, sha256, custom), bytes);
    assert.equal(answer.status, 422);
    assert.match(answer.body.message, /unpackedSize/);
    // The bytes are not the ones signed.
    answer = await send(roleFor(bytes.length, 'b'.repeat(64), custom), bytes);
    assert.equal(answer.status, 422);
    assert.match(answer.body.message, /sha256/);
    // A hostile tar, signed correctly: refused for what it holds.
    const { pack } = await import('tar-stream');
    const evil = pack();
    evil.entry({ name: '../../escape', size: 4 }, 'evil');
    evil.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of evil) chunks.push(chunk as Buffer);
    const evilBytes = Buffer.concat(chunks);
    answer = await send(roleFor(evilBytes.length, createHash('sha256').update(evilBytes).digest('hex'), custom), evilBytes);
    assert.equal(answer.status, 422);
    assert.match(answer.body.message, /escape|unsafe|unexpected/i);
    const layout = layoutOf(catalog.dir);
    assert.deepEqual(await readdir(layout.incomingDir), [], 'nothing left in incoming/');
    assert.deepEqual(await readdir(layout.targetsDir), [], 'no target stored');
  }));

/** Every file and folder under `dir`, with its permission bits. */
async function modesUnder(dir: string): Promise<Map<string, number>> {
  const modes = new Map<string, number>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    modes.set(path, (await stat(path)).mode & 0o777);
  }
  return modes;
}

test('what a static web server serves is world-readable (0644, folders 0755) whatever the umask; keys stay private', async () => {
  // A strict umask, as on a hardened server: berth must set the modes itself.
  const umask = process.umask(0o077);
  let catalog: CatalogFixture | undefined;
  try {
    catalog = await startCatalog();
    await publish(catalog, 'hello', '1.0.0');
    await rotateRoot(catalog.dir);
    await refreshExpiring(catalog.dir, { now: Date.now() + 2 * DAY });
    const layout = layoutOf(catalog.dir);
    const publicModes = await modesUnder(layout.publicDir);
    assert.ok([...publicModes.keys()].some((path) => path.endsWith('timestamp.json')) && [...publicModes.keys()].some((path) => path.endsWith('.hello-1.0.0.berth')));
    for (const [path, mode] of publicModes) {
      const isDir = (await stat(path)).isDirectory();
      assert.equal(mode.toString(8), isDir ? '755' : '644', path);
    }
    for (const path of [catalog.dir, layout.publicDir]) assert.equal(((await stat(path)).mode & 0o777).toString(8), '755', path);
    assert.equal(((await stat(join(catalog.dir, 'root.json'))).mode & 0o777).toString(8), '644', 'the root.json gateways ship');
    const keyModes = new Map([...(await modesUnder(layout.keysDir)), ...(await modesUnder(layout.offlineKeysDir))]);
    assert.ok(keyModes.size > 0);
    for (const [path, mode] of keyModes) assert.equal(mode & 0o077, 0, `${path} is private (${mode.toString(8)})`);
  } finally {
    process.umask(umask);
    await catalog?.close();
  }
});

test('an unreachable catalog is 7033; a URL outside the catalog is 7036 before any download', () =>
  withCatalog(async (catalog) => {
    const { url } = await publish(catalog, 'hello', '1.0.0');
    await expectFault(catalog.client().resolve(`${catalog.url}/elsewhere/x.berth`), 7036, /not a package of the configured catalog/);
    await expectFault(catalog.client().resolve('https://user:pw@127.0.0.1/targets/a/b/b-1.berth'), 7036, /credentials|not a package/);
    const gateway = catalog.client();
    await gateway.resolve(url);
    await catalog.server.close();
    await expectFault(gateway.resolve(url), 7033, /unreachable/);
  }));

test('a catalog over HTTPS whose certificate does not verify is 7034, and nothing is trusted from it', async () => {
  const catalog = await startCatalog();
  const { execFileSync } = await import('node:child_process');
  const { buildCatalogServer } = await import('../../../src/catalog/server/catalog-server.ts');
  const key = join(catalog.work, 'tls.key');
  const cert = join(catalog.work, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const secure = buildCatalogServer({ dir: catalog.dir, tls: { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') } });
  try {
    const { url } = await publish(catalog, 'hello', '1.0.0');
    await secure.listen({ host: '127.0.0.1', port: 0 });
    const address = secure.server.address();
    assert.ok(address && typeof address !== 'string');
    const { createCatalogClient } = await import('../../../src/catalog/client/catalog-client.ts');
    const stateDir = join(catalog.work, 'tls-gateway');
    const client = createCatalogClient({ url: `https://127.0.0.1:${address.port}`, rootFile: join(catalog.dir, 'root.json'), stateDir, berthVersion: '0.1.0' });
    await expectFault(client.resolve(url.replace(catalog.url, `https://127.0.0.1:${address.port}`)), 7034, /TLS check/);
    assert.deepEqual((await readdir(stateDir)).filter((name) => name !== 'current'), [], 'no refresh was kept');
  } finally {
    await secure.close();
    await catalog.close();
  }
});
