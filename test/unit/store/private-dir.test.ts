// The data folder and the state file are private whatever the umask: made so when created, narrowed (and reported)
// when found wider, and a shared folder like /tmp is refused rather than locked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePrivate } from '../../../src/store/private-dir.ts';
import { createJsonStateStore } from '../../../src/store/state-store.ts';

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o7777;

async function withUmask0(work: (base: string) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'berth-private-'));
  const umask = process.umask(0);
  try {
    await work(base);
  } finally {
    process.umask(umask);
    await rm(base, { recursive: true, force: true });
  }
}

test('under umask 000, a new data folder is 0700 and the state file the store writes is 0600; nothing is reported', () =>
  withUmask0(async (base) => {
    const dataDir = join(base, 'var', 'berth');
    const store = createJsonStateStore<{ password: string }>(dataDir);
    assert.deepEqual(await makePrivate(dataDir, [store.path]), []);
    assert.equal(await modeOf(dataDir), 0o700);
    await store.save({ password: 'secret' });
    assert.equal(await modeOf(store.path), 0o600);
  }));

test('a wider data folder and state file are narrowed to 0700 and 0600 and reported; a second call has nothing to do', () =>
  withUmask0(async (base) => {
    const dataDir = join(base, 'data');
    await mkdir(dataDir, { mode: 0o755 });
    const stateFile = join(dataDir, 'state.json');
    await writeFile(stateFile, '{}', { mode: 0o644 });
    assert.deepEqual(await makePrivate(dataDir, [stateFile, join(dataDir, 'absent.json')]), [
      { path: dataDir, from: 0o755, to: 0o700 },
      { path: stateFile, from: 0o644, to: 0o600 },
    ]);
    assert.deepEqual([await modeOf(dataDir), await modeOf(stateFile)], [0o700, 0o600]);
    assert.deepEqual(await makePrivate(dataDir, [stateFile]), []);
  }));

test('a shared folder (sticky bit, like /tmp) is refused and left as it was', () =>
  withUmask0(async (base) => {
    const shared = join(base, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    await assert.rejects(makePrivate(shared, []), /dataDir .*shared is a folder shared by several users \(sticky bit, like \/tmp\): give berth a folder of its own/);
    assert.equal(await modeOf(shared), 0o1777);
  }));
