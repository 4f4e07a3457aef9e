// The state file: atomic replacement, coalesced saves, leftovers of an interrupted write cleaned up,
// and a kill -9 of a writing process never leaves a torn file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createJsonStateStore } from '../../../src/store/state-store.ts';

async function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-store-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('save then load returns the newest state; a burst of saves ends with the last one on disk', () =>
  withDir(async (dir) => {
    const store = createJsonStateStore<{ n: number }>(dir);
    assert.equal(await store.load(), undefined);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.save({ n: i })));
    assert.deepEqual(await store.load(), { n: 49 });
    assert.deepEqual(await readdir(dir), ['state.json'], 'no temp files left behind');
  }));

test('leftover temp files from an interrupted write are removed; a corrupt state file is reported, not ignored', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'state.json'), '{"n":1}');
    await writeFile(join(dir, '.state.json.123.abcd.tmp'), '{"n":2');
    const store = createJsonStateStore<{ n: number }>(dir);
    assert.deepEqual(await store.load(), { n: 1 });
    assert.deepEqual(await readdir(dir), ['state.json']);
    await writeFile(join(dir, 'state.json'), '{"n":');
    await assert.rejects(store.load(), /state\.json is not valid JSON/);
  }));

test('kill -9 while saving in a loop: the file is always a whole state', async () => {
  const here = dirname(fileURLToPath(import.meta.url));
  await withDir(async (dir) => {
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'save-loop.fixture.ts'), dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // Start-up time varies a lot on a loaded CI machine: wait for the first save, then kill mid-loop.
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => { resolve(); });
        child.once('exit', (code) => { reject(new Error(`save loop exited early (${code})`)); });
      });
      await new Promise((r) => setTimeout(r, 20 + round * 37));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const text = await readFile(join(dir, 'state.json'), 'utf8');
      const state = JSON.parse(text) as { n: number; padding: string };
      assert.equal(state.padding.length, 10_000, 'the state is complete');
      const store = createJsonStateStore<{ n: number }>(dir);
      assert.ok((await store.load())!.n >= 0);
      assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.tmp')), [], 'load() cleaned up');
    }
  });
});
