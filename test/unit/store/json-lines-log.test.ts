// The rotated JSON-lines log behind the audit trail: numbering that continues across reopen, rotation within
// files × fileBytes, a torn last line cut off (the next line is whole), unreadable lines skipped, the newest records
// read back at open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJsonLinesLog } from '../../../src/store/json-lines-log.ts';
import type { JsonLinesLogOptions } from '../../../src/store/json-lines-log.ts';
import { createSilentLogger } from '../../../src/log.ts';

interface Line {
  readonly seq: number;
  readonly text: string;
}

async function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-log-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const open = (dir: string, options: Partial<JsonLinesLogOptions> = {}) =>
  openJsonLinesLog<Line>({ dir, name: 'audit.log', fileBytes: 1024, files: 3, recent: 5, logger: createSilentLogger(), ...options });

const lines = async (path: string): Promise<Line[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);

test('records are numbered from 1, one JSON line each, and numbering continues after reopening', () =>
  withDir(async (dir) => {
    const first = await open(dir);
    assert.deepEqual(first.recent, []);
    assert.deepEqual([first.append((seq) => ({ seq, text: 'a' })), first.append((seq) => ({ seq, text: 'b' }))], [{ seq: 1, text: 'a' }, { seq: 2, text: 'b' }]);
    first.close();
    assert.equal(await readFile(join(dir, 'audit.log'), 'utf8'), '{"seq":1,"text":"a"}\n{"seq":2,"text":"b"}\n');
    assert.equal((await stat(join(dir, 'audit.log'))).mode & 0o777, 0o600, 'the log is private');
    const second = await open(dir);
    assert.deepEqual(second.recent.map((r) => r.seq), [1, 2]);
    assert.equal(second.append((seq) => ({ seq, text: 'c' })).seq, 3);
    second.close();
  }));

test('rotation keeps at most files × fileBytes on disk; the newest records are read back across files', () =>
  withDir(async (dir) => {
    const log = await open(dir, { recent: 20 });
    const text = 'x'.repeat(80); // ~100 bytes a line: 10 lines to a 1,024-byte file
    for (let i = 0; i < 100; i++) log.append((seq) => ({ seq, text }));
    log.close();
    assert.deepEqual((await readdir(dir)).sort(), ['audit.log', 'audit.log.1', 'audit.log.2']);
    for (const name of await readdir(dir)) assert.ok((await stat(join(dir, name))).size <= 1024, `${name} is within its bound`);
    const kept = [...(await lines(join(dir, 'audit.log.2'))), ...(await lines(join(dir, 'audit.log.1'))), ...(await lines(join(dir, 'audit.log')))].map((r) => r.seq);
    assert.equal(kept.at(-1), 100);
    assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => 101 - kept.length + i), 'the newest records, in order, none missing');
    const reopened = await open(dir, { recent: 20 });
    assert.deepEqual(reopened.recent.map((r) => r.seq), Array.from({ length: 20 }, (_, i) => 81 + i));
    assert.equal(reopened.append((seq) => ({ seq, text: 'after' })).seq, 101, 'numbering continues from the rotated files');
    reopened.close();
  }));

test('numbering continues from an older file when the current one is empty (just rotated)', () =>
  withDir(async (dir) => {
    const log = await open(dir, { fileBytes: 64 });
    for (let i = 0; i < 3; i++) log.append((seq) => ({ seq, text: 'y'.repeat(30) }));
    log.close();
    // A crash right after a rotation: the files moved up, the new current file is empty.
    await rename(join(dir, 'audit.log.1'), join(dir, 'audit.log.2'));
    await rename(join(dir, 'audit.log'), join(dir, 'audit.log.1'));
    await appendFile(join(dir, 'audit.log'), '');
    const reopened = await open(dir, { fileBytes: 64 });
    assert.equal(reopened.append((seq) => ({ seq, text: 'z' })).seq, 4);
    reopened.close();
  }));

test('a torn last line (power cut mid-write) is cut off at open; the next record starts on its own line', () =>
  withDir(async (dir) => {
    const log = await open(dir);
    log.append((seq) => ({ seq, text: 'whole' }));
    log.close();
    await appendFile(join(dir, 'audit.log'), '{"seq":2,"text":"to');
    const reopened = await open(dir);
    assert.deepEqual(reopened.recent, [{ seq: 1, text: 'whole' }]);
    assert.equal(reopened.append((seq) => ({ seq, text: 'next' })).seq, 2);
    reopened.close();
    assert.equal(await readFile(join(dir, 'audit.log'), 'utf8'), '{"seq":1,"text":"whole"}\n{"seq":2,"text":"next"}\n');
  }));

test('lines that do not parse (or are not numbered records) are skipped on read, not fatal', () =>
  withDir(async (dir) => {
    await appendFile(join(dir, 'audit.log'), '{"seq":1,"text":"a"}\n\u0000\u0000\u0000\n[1,2]\n{"seq":2,"text":"b"}\n{"text":"no seq"}\n');
    const log = await open(dir);
    assert.deepEqual(log.recent.map((r) => r.seq), [1, 2]);
    assert.equal(log.append((seq) => ({ seq, text: 'c' })).seq, 3);
    log.close();
  }));
