// The gateway's trusted metadata folder: commits are atomic generation swaps, and whatever a crash leaves behind
// (a work folder, a finished generation `current` never named) is cleared by the next refresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrustedMetadataStore } from '../../../../src/catalog/client/trusted-metadata-store.ts';

const root = (version: number) => Buffer.from(JSON.stringify({ signed: { version } }));

test('first use starts from the shipped root; commits swap generations; crash leftovers are cleared', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-trust-'));
  try {
    const store = createTrustedMetadataStore(dir, () => Promise.resolve(root(1)));
    assert.equal(await store.trustedRootVersion(), 1);
    let work = await store.begin();
    assert.deepEqual(JSON.parse(await readFile(join(work, 'root.json'), 'utf8')), { signed: { version: 1 } });
    await writeFile(join(work, 'root.json'), root(2));
    await store.commit(work);
    assert.equal(await readlink(join(dir, 'current')), 'gen-1');
    assert.equal(await store.trustedRootVersion(), 2);

    // A crash after a generation was written but before `current` named it, plus an abandoned work folder.
    await mkdir(join(dir, 'gen-2'));
    await writeFile(join(dir, 'gen-2', 'root.json'), root(99));
    await mkdir(join(dir, 'work-deadbeef'));
    work = await store.begin();
    assert.deepEqual((await readdir(dir)).sort(), ['current', 'gen-1', work.split('/').pop()!].sort(), 'leftovers removed');
    assert.equal(JSON.parse(await readFile(join(work, 'root.json'), 'utf8')).signed.version, 2, 'the refresh starts from what was trusted');
    await store.commit(work);
    assert.equal(await readlink(join(dir, 'current')), 'gen-2');
    assert.deepEqual((await readdir(dir)).sort(), ['current', 'gen-2']);

    // A failed refresh changes nothing.
    work = await store.begin();
    await writeFile(join(work, 'root.json'), root(3));
    await store.discard(work);
    assert.equal(await store.trustedRootVersion(), 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
