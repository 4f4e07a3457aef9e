// berth's tar writer: what it writes, berth's reader and GNU tar read back the same (names, types, sizes, owners,
// link targets, contents), the same entries give the same bytes, and what a header cannot hold is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOCK, checksumMatches, decodeHeader, encodeHeader } from '../../../../src/catalog/package/tar-header.ts';
import { SourceChangedError, tarBytes } from '../../../../src/catalog/package/tar-writer.ts';
import type { TarEntry } from '../../../../src/catalog/package/tar-writer.ts';

async function collect(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarBytes(entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

test('GNU tar lists and extracts what tarBytes writes: directories, symbolic links, files from memory and from disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-tar-writer-'));
  try {
    const source = join(dir, 'big.bin');
    const big = Buffer.alloc(3 * BLOCK + 7, 0x61);
    await writeFile(source, big);
    const entries: TarEntry[] = [
      { name: 'data/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 },
      { name: 'bin/sh', type: 'symlink', linkName: 'busybox', mode: 0o777 },
      { name: 'etc/hello', mode: 0o600, content: Buffer.from('hello\n') },
      { name: 'empty', content: Buffer.alloc(0) },
      { name: 'big.bin', source, size: big.length },
    ];
    const bytes = await collect(entries);
    assert.deepEqual(await collect(entries), bytes, 'the same entries give the same bytes');
    const listing = spawnSync('tar', ['-tvf', '-', '--numeric-owner'], { input: bytes, env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
    assert.equal(listing.status, 0, listing.stderr.toString());
    assert.equal(listing.stderr.toString(), '', 'GNU tar does not complain');
    const lines = listing.stdout.toString().trim().split('\n');
    assert.match(lines[0]!, /^drwxr-xr-x 1000\/1000 +0 1970-01-01 00:00 data\/$/);
    assert.match(lines[1]!, /^lrwxrwxrwx 0\/0 +0 1970-01-01 00:00 bin\/sh -> busybox$/);
    assert.match(lines[2]!, /^-rw------- 0\/0 +6 1970-01-01 00:00 etc\/hello$/);
    assert.match(lines[3]!, /^-rw-r--r-- 0\/0 +0 1970-01-01 00:00 empty$/);
    assert.match(lines[4]!, new RegExp(`^-rw-r--r-- 0/0 +${big.length} 1970-01-01 00:00 big\\.bin$`));
    const extracted = spawnSync('tar', ['-xOf', '-', 'big.bin'], { input: bytes });
    assert.deepEqual(extracted.stdout, big);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('encodeHeader: berth reads back what it wrote, sizes beyond 8 GiB in base-256; names over 100 bytes are refused', () => {
  const small = encodeHeader({ name: 'image.tar', size: 8704 });
  assert.ok(checksumMatches(small));
  assert.deepEqual(decodeHeader(small), { name: 'image.tar', type: '0', size: 8704, linkName: '' });
  const huge = 2 ** 40 + 5;
  const large = encodeHeader({ name: 'image.tar', size: huge });
  assert.ok(checksumMatches(large));
  assert.equal(large[124], 0x80, 'GNU base-256 marker');
  assert.equal(decodeHeader(large).size, huge);
  assert.throws(() => encodeHeader({ name: 'x'.repeat(101) }), /longer than 100 bytes/);
  assert.throws(() => encodeHeader({ name: 'l', type: 'symlink', linkName: 'y'.repeat(101) }), /longer than 100 bytes/);
});

test('a file that is not the size its header gave is refused, not written short or long', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-tar-writer-'));
  try {
    const source = join(dir, 'f');
    await writeFile(source, 'four');
    await assert.rejects(collect([{ name: 'f', source, size: 5 }]), SourceChangedError);
    await assert.rejects(collect([{ name: 'f', source, size: 3 }]), SourceChangedError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
