// App packages: round trip through pack and read, and a corpus of hostile packages, each refused with the
// expected code and member, leaving the work folder as it was and nothing outside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { packApp } from '../../../../src/catalog/package/package-writer.ts';
import { readPackage, readPackageFile } from '../../../../src/catalog/package/package-reader.ts';
import { PackageError } from '../../../../src/catalog/package/package-error.ts';
import { appManifest, writeImageArchive } from '../../../helpers/catalog-fixture.ts';

const BLOCK = 512;

/** A ustar header with a correct checksum, for members tar libraries refuse to write. */
function header(fields: { name: string; size: number; type?: string; linkname?: string; prefix?: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  block.write(`${fields.size.toString(8).padStart(11, '0')}\0`, 124);
  block.write('00000000000\0', 136);
  block.write(fields.type ?? '0', 156);
  if (fields.linkname) block.write(fields.linkname, 157, 100);
  block.write('ustar\0', 257);
  block.write('00', 263);
  if (fields.prefix) block.write(fields.prefix, 345, 155);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

function member(name: string, data: Buffer | string, type = '0', extra: { linkname?: string; prefix?: string } = {}): Buffer {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const padded = Buffer.alloc(Math.ceil(bytes.length / BLOCK) * BLOCK);
  bytes.copy(padded);
  return Buffer.concat([header({ name, size: bytes.length, type, ...extra }), padded]);
}

function pax(records: Record<string, string>): Buffer {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const text = ` ${key}=${value}\n`;
    let length = text.length + 1;
    while (`${length}${text}`.length !== length) length = `${length}${text}`.length;
    body += `${length}${text}`;
  }
  return member('PaxHeader', body, 'x');
}

const END = Buffer.alloc(2 * BLOCK);

interface Fixture {
  parent: string;
  work: string;
  image: Buffer;
  manifest: Record<string, unknown>;
  manifestBytes: Buffer;
}

async function withFixture(run: (f: Fixture) => Promise<void>): Promise<void> {
  const parent = await mkdtemp(join(tmpdir(), 'berth-pkg-'));
  try {
    const work = join(parent, 'work');
    await mkdir(work);
    await writeFile(join(work, 'keep.txt'), 'already here');
    await writeImageArchive(join(parent, 'image.tar'), 5000, 'unit');
    const image = await readFile(join(parent, 'image.tar'));
    const manifest = { ...appManifest('hello', '1.0.0'), image: { file: 'image.tar', size: image.length, sha256: createHash('sha256').update(image).digest('hex') } };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await run({ parent, work, image, manifest, manifestBytes });
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}

async function expectRefused(f: Fixture, bytes: Buffer | AsyncIterable<Uint8Array>, code: string, memberPattern?: RegExp, maxUnpackedBytes = 10 * 1024 * 1024): Promise<void> {
  const source = Buffer.isBuffer(bytes) ? Readable.from([bytes]) : bytes;
  await assert.rejects(readPackage(source, { workDir: f.work, maxUnpackedBytes }), (error: unknown) => {
    assert.ok(error instanceof PackageError, `expected a PackageError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (memberPattern) assert.match(error.message, memberPattern);
    return true;
  });
  assert.deepEqual(await readdir(f.work), ['keep.txt'], 'the work folder is as it was');
  assert.deepEqual((await readdir(f.parent)).sort(), ['image.tar', 'work'], 'nothing written next to it');
}

test('pack → read: same manifest and image bytes; packing twice gives identical bytes; gzip-compressed packages read too', () =>
  withFixture(async (f) => {
    const out1 = join(f.parent, 'a.berth');
    const out2 = join(f.parent, 'b.berth');
    const packed = await packApp({ manifest: appManifest('hello', '1.0.0'), imagePath: join(f.parent, 'image.tar'), outPath: out1 });
    await packApp({ manifest: appManifest('hello', '1.0.0'), imagePath: join(f.parent, 'image.tar'), outPath: out2 });
    assert.deepEqual(await readFile(out1), await readFile(out2));
    assert.equal(packed.manifest.executionUnits[0]!.autoStart, true, 'defaults filled');
    assert.equal(packed.manifest.executionUnits[0]!.network.mode, 'none');
    const read = await readPackageFile(out1, { workDir: f.work, maxUnpackedBytes: 1024 * 1024 });
    assert.deepEqual(read.manifest, packed.manifest);
    assert.deepEqual(await readFile(read.imagePath), f.image);
    assert.equal(read.unpackedSize, packed.unpackedSize);
    await rm(read.imagePath);
    const gz = join(f.parent, 'c.berth');
    await writeFile(gz, gzipSync(await readFile(out1)));
    const fromGzip = await readPackageFile(gz, { workDir: f.work, maxUnpackedBytes: 1024 * 1024 });
    assert.deepEqual(await readFile(fromGzip.imagePath), f.image);
    await rm(fromGzip.imagePath);
    await rm(out1);
    await rm(out2);
    await rm(gz);
  }));

test('pack refuses an invalid app.json naming the key, and an image that is not a docker save archive', () =>
  withFixture(async (f) => {
    const bad = { ...appManifest('hello', '1.0.0'), executionUnits: [{ name: 'main', command: ['x'], resources: { memoryKiB: 10, cpuPercent: 10, diskKiB: 0 } }] };
    await assert.rejects(packApp({ manifest: bad, imagePath: join(f.parent, 'image.tar'), outPath: join(f.parent, 'x.berth') }), /manifest\.executionUnits\[0\]\.resources\.memoryKiB: must be an integer ≥ 1024/);
    await writeFile(join(f.parent, 'not-image.tar'), Buffer.concat([member('hello.txt', 'hi'), END]));
    await assert.rejects(packApp({ manifest: appManifest('hello', '1.0.0'), imagePath: join(f.parent, 'not-image.tar'), outPath: join(f.parent, 'x.berth') }), /not a `docker save` archive/);
    await rm(join(f.parent, 'not-image.tar'));
    assert.deepEqual((await readdir(f.parent)).sort(), ['image.tar', 'work']);
  }));

test('hostile packages are refused with the member named, and nothing is left behind', () =>
  withFixture(async (f) => {
    const m = member('manifest.json', f.manifestBytes);
    const img = member('image.tar', f.image);
    const ok = (...parts: Buffer[]) => Buffer.concat([...parts, END]);
    const corpus: [string, Buffer, string, RegExp?][] = [
      ['traversal', ok(member('../evil', 'x')), 'UNSAFE_MEMBER', /\.\.\/evil/],
      ['absolute path', ok(member('/etc/passwd', 'x')), 'UNSAFE_MEMBER', /\/etc\/passwd: absolute/],
      ['traversal inside a name', ok(member('manifest.json/../x', 'x')), 'UNSAFE_MEMBER'],
      ['./manifest.json', ok(member('./manifest.json', f.manifestBytes), img), 'UNEXPECTED_MEMBER'],
      ['symlink named image.tar', ok(m, member('image.tar', '', '2', { linkname: '/etc/shadow' })), 'UNSAFE_MEMBER', /image\.tar: is a symbolic link/],
      ['hard link named image.tar', ok(m, member('image.tar', '', '1', { linkname: 'manifest.json' })), 'UNSAFE_MEMBER', /hard link/],
      ['character device', ok(m, member('image.tar', '', '3')), 'UNSAFE_MEMBER', /character device/],
      ['FIFO', ok(m, member('image.tar', '', '6')), 'UNSAFE_MEMBER', /FIFO/],
      ['directory', ok(member('manifest.json', '', '5')), 'UNSAFE_MEMBER', /directory/],
      ['duplicate manifest.json', ok(m, m, img), 'DUPLICATE_MEMBER', /manifest\.json/],
      ['duplicate image.tar', ok(m, img, img), 'DUPLICATE_MEMBER', /image\.tar/],
      ['an extra member', ok(m, img, member('extra.sh', 'rm -rf /')), 'UNEXPECTED_MEMBER', /extra\.sh/],
      ['manifest second', ok(img, m), 'UNEXPECTED_MEMBER', /must be the first member/],
      ['pax header renaming image.tar to a traversal', ok(m, pax({ path: '../../x' }), img), 'UNSAFE_MEMBER', /\.\.\/\.\.\/x/],
      ['GNU long name to a traversal', ok(m, member('././@LongLink', '../../../etc/cron.d/x', 'L'), img), 'UNSAFE_MEMBER', /etc\/cron\.d/],
      ['pax link target', ok(m, pax({ linkpath: '/etc/shadow' }), img), 'UNSAFE_MEMBER', /link target/],
      ['member longer than its header', ok(member('manifest.json', f.manifestBytes), Buffer.alloc(512, 0x41), img), 'CORRUPT', /manifest\.json: the next tar header is corrupt/],
      ['image larger than declared', ok(m, member('image.tar', Buffer.concat([f.image, Buffer.alloc(10)]))), 'SIZE_MISMATCH', /image\.tar: is \d+ bytes; the manifest declares/],
      ['image smaller than declared', ok(m, member('image.tar', f.image.subarray(1))), 'SIZE_MISMATCH'],
      ['image sha256 mismatch', ok(m, member('image.tar', Buffer.from(f.image).fill(7, 100, 101))), 'HASH_MISMATCH', /image\.tar: sha256/],
      ['huge manifest', ok(member('manifest.json', Buffer.alloc(70 * 1024, 0x20))), 'TOO_LARGE', /manifest\.json/],
      ['manifest not JSON', ok(member('manifest.json', '{nope'), img), 'MANIFEST_INVALID', /manifest\.json: not valid JSON/],
      ['manifest invalid', ok(member('manifest.json', JSON.stringify({ ...f.manifest, version: 'one' })), img), 'MANIFEST_INVALID', /manifest\.version: must be a semantic version/],
      ['truncated', Buffer.concat([m, img]).subarray(0, 2000), 'TRUNCATED'],
      ['truncated inside the manifest', m.subarray(0, BLOCK + 10), 'TRUNCATED', /manifest\.json/],
      ['truncated inside a pax header', Buffer.concat([m, pax({ path: 'image.tar' })]).subarray(0, m.length + BLOCK + 5), 'TRUNCATED'],
      ['no end marker', Buffer.concat([m, img]), 'TRUNCATED'],
      ['trailing garbage', Buffer.concat([m, img, END, Buffer.from('#!/bin/sh\n')]), 'TRAILING_DATA'],
      ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)), 'NOT_A_PACKAGE'],
      ['empty tar', END, 'MISSING_MEMBER'],
      ['no image', ok(m), 'MISSING_MEMBER', /image\.tar/],
    ];
    for (const [label, bytes, code, pattern] of corpus) {
      try {
        await expectRefused(f, bytes, code, pattern);
      } catch (error) {
        throw new Error(`case "${label}": ${(error as Error).message}`, { cause: error });
      }
    }
  }));

test('a gzip bomb (1 GiB of zeros) stops at the limit, quickly, without writing it', () =>
  withFixture(async (f) => {
    const zeros = Buffer.alloc(1024 * 1024);
    const manifest = member('manifest.json', JSON.stringify({ ...f.manifest, image: { file: 'image.tar', size: 1024 ** 3, sha256: 'a'.repeat(64) } }));
    const image = header({ name: 'image.tar', size: 1024 ** 3 });
    const bomb = function* (): Generator<Buffer> {
      yield Buffer.concat([manifest, image]);
      for (let i = 0; i < 1024; i++) yield zeros;
    };
    const gzip = Readable.from(bomb()).pipe(createGzip({ level: 1 }));
    const started = Date.now();
    await expectRefused(f, gzip, 'TOO_LARGE', /image\.tar: declares \d+ bytes/);
    // A valid package followed by endless zero "padding": stopped by the byte count of the stream.
    const valid = Buffer.concat([member('manifest.json', f.manifestBytes), member('image.tar', f.image), END]);
    const stream = function* (): Generator<Buffer> {
      yield valid;
      for (let i = 0; i < 1024; i++) yield zeros;
    };
    await expectRefused(f, Readable.from(stream()).pipe(createGzip({ level: 1 })), 'TOO_LARGE', /more than the \d+ bytes allowed/);
    assert.ok(Date.now() - started < 20_000, 'refused long before 1 GiB was inflated');
  }));
