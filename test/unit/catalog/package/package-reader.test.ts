// App packages: round trip through pack and read, and a corpus of hostile packages, each refused with the
// expected code and member, leaving the work folder as it was and nothing outside it; the strict tar rules,
// each checked against what GNU tar does with the same bytes.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { packApp } from '../../../../src/catalog/package/package-writer.ts';
import { checkPackage, readPackage, readPackageFile, readPackageManifest } from '../../../../src/catalog/package/package-reader.ts';
import { PackageError } from '../../../../src/catalog/package/package-error.ts';
import { appManifest, writeImageArchive } from '../../../helpers/catalog-fixture.ts';
import { BLOCK, END, header, member, padded, pax, paxRaw, record } from '../../../helpers/tar-craft.ts';
import type { HeaderFields } from '../../../helpers/tar-craft.ts';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface GnuTarView {
  status: number | null;
  /** [name, size] of each member, as `tar -tv` lists it. */
  members: [string, number][];
  stderr: string;
}

function gnuTar(args: string[], input: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  // GNU tar detects compression by itself only in files, not on stdin.
  if (input[0] === 0x1f && input[1] === 0x8b) args = ['-z', ...args];
  const run = spawnSync('tar', args, { input, env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new Error(`GNU tar is needed to compare with berth's reading (${run.error.message})`);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.toString('utf8') };
}

/** What GNU tar sees in these bytes: the members `tar -tvf -` lists, its exit status and its complaints. */
function gnuTarList(bytes: Buffer): GnuTarView {
  const run = gnuTar(['-tvf', '-'], bytes);
  const members = run.stdout
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line): [string, number] => {
      const match = /^\S+ \S+\s+(\d+) \S+ \S+ (.*)$/.exec(line);
      assert.ok(match, `unexpected tar -tv line: ${line}`);
      return [match[2]!, Number(match[1])];
    });
  return { status: run.status, members, stderr: run.stderr };
}

/** The bytes GNU tar extracts for one member (`tar -xOf - <name>`). */
function gnuTarExtract(bytes: Buffer, name: string): Buffer {
  const run = gnuTar(['-xOf', '-', name], bytes);
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}


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
    expectGnu(await readFile(out1), { status: 0, members: [['manifest.json', packed.unpackedSize - f.image.length], ['image.tar', f.image.length]] });
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
      ['GNU long name to a traversal', ok(m, member('././@LongLink', '../../../etc/cron.d/x', 'L'), img), 'UNSAFE_MEMBER', /@LongLink: is a GNU long-name header/],
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

interface GnuExpectation {
  status: number;
  stderr?: RegExp;
  /** The members GNU tar lists, where they tell how it reads the bytes differently. */
  members?: [string, number][];
}

interface StrictCase {
  label: string;
  bytes: Buffer;
  code: string;
  pattern: RegExp;
  gnu: GnuExpectation;
}

function expectGnu(bytes: Buffer, expected: GnuExpectation): void {
  const seen = gnuTarList(bytes);
  assert.equal(seen.status, expected.status, `GNU tar exit status (stderr: ${seen.stderr})`);
  if (expected.stderr) assert.match(seen.stderr, expected.stderr);
  else if (expected.status === 0) assert.equal(seen.stderr, '', 'GNU tar does not complain');
  if (expected.members) assert.deepEqual(seen.members, expected.members);
}

// Each case is a package that GNU tar reads differently from what its headers seem to say, or refuses, or accepts
// only by being lenient. berth refuses every one, naming the member and the rule; `gnu` records what GNU tar 1.34
// does with the same bytes (checked here, so the table stays true).
test('strict tar: what GNU tar would read differently, or only leniently, is refused with the rule named', () =>
  withFixture(async (f) => {
    const size = f.image.length;
    const manifestSize = f.manifestBytes.length;
    const m = member('manifest.json', f.manifestBytes);
    const image = (extra: Partial<HeaderFields> = {}): Buffer => Buffer.concat([header({ name: 'image.tar', size, ...extra }), padded(f.image)]);
    const pkg = (...parts: Buffer[]): Buffer => Buffer.concat([m, ...parts, END]);
    const both: [string, number][] = [['manifest.json', manifestSize], ['image.tar', size]];
    const hex = `0x${size.toString(16)}`;
    const insideImage = gnuTarList(f.image).members;
    assert.equal(insideImage.length, 3, 'the image is a docker save archive of three members');
    const cases: StrictCase[] = [
      // pax numbers: GNU tar takes decimal digits only and ignores any other record, here keeping the ustar size
      // 0: image.tar is empty to GNU tar, which then lists the members *inside* the image as the package's own,
      // where Number() read the size berth used to stream.
      ...[hex, `${size}e0`, ` ${size}`, `${size} `, `+${size}`, `${size}.0`, ''].map((value): StrictCase => ({
        label: `pax size ${JSON.stringify(value)}`,
        bytes: pkg(pax({ size: value }), image({ size: 0 })),
        code: 'CORRUPT',
        pattern: /^image\.tar: pax size ".*" is not a decimal number \(digits 0-9 only\)$/,
        gnu: { status: 2, stderr: /Malformed extended header: invalid size=/, members: [['manifest.json', manifestSize], ['image.tar', 0], ...insideImage] },
      })),
      { label: 'pax mtime 1e3 (GNU tar reads 1 and ignores the rest)', bytes: pkg(pax({ mtime: '1e3' }), image()), code: 'CORRUPT', pattern: /^image\.tar: pax mtime "1e3" is not a time/, gnu: { status: 0, members: both } },
      { label: 'pax mtime 12abc', bytes: pkg(pax({ mtime: '12abc' }), image()), code: 'CORRUPT', pattern: /pax mtime "12abc" is not a time/, gnu: { status: 0, members: both } },
      { label: 'pax atime .5', bytes: pkg(pax({ atime: '.5' }), image()), code: 'CORRUPT', pattern: /pax atime "\.5" is not a time/, gnu: { status: 2, stderr: /invalid atime=\.5/ } },
      { label: 'pax ctime out of range', bytes: pkg(pax({ ctime: '99999999999999999999' }), image()), code: 'CORRUPT', pattern: /pax ctime "99999999999999999999" is out of range/, gnu: { status: 2, stderr: /ctime=99999999999999999999 is out of range/ } },
      { label: 'pax uid -1', bytes: pkg(pax({ uid: '-1' }), image()), code: 'CORRUPT', pattern: /pax uid "-1" is not a decimal number/, gnu: { status: 2, stderr: /uid=-1 is out of range/ } },
      { label: 'pax gid 0x10', bytes: pkg(pax({ gid: '0x10' }), image()), code: 'CORRUPT', pattern: /pax gid "0x10" is not a decimal number/, gnu: { status: 2, stderr: /invalid gid=0x10/ } },
      { label: 'pax gid 2^32', bytes: pkg(pax({ gid: '4294967296' }), image()), code: 'CORRUPT', pattern: /pax gid 4294967296 is out of range \(0 to 4294967295\)/, gnu: { status: 2, stderr: /gid=4294967296 is out of range/ } },

      // pax framing: `<length> <keyword>=<value>\n`, the length counting the whole record.
      { label: 'pax record longer than the header', bytes: pkg(paxRaw('99 mtime=0\n'), image()), code: 'CORRUPT', pattern: /^image\.tar: malformed pax extended header: the record at byte 0 says it is 99 bytes long; only 11 are left/, gnu: { status: 2, stderr: /Extended header length 99 .* is out of range/s } },
      { label: 'pax record without its newline (GNU tar drops it and every record after)', bytes: pkg(paxRaw(`13 path=other${record('mtime', '0')}`), image()), code: 'CORRUPT', pattern: /the record at byte 0 does not end with a newline where its length \(13\) says/, gnu: { status: 2, stderr: /missing newline/, members: both } },
      { label: 'pax length with a leading zero', bytes: pkg(paxRaw('012 mtime=0\n'), image()), code: 'CORRUPT', pattern: /the record at byte 0 does not start with its length \(decimal digits, no leading zero\) and one space/, gnu: { status: 0, members: both } },
      { label: 'pax record starting with a blank', bytes: pkg(paxRaw(' 12 mtime=0\n'), image()), code: 'CORRUPT', pattern: /the record at byte 0 does not start with its length/, gnu: { status: 0, members: both } },
      { label: 'pax record after a NUL (GNU tar stops at the NUL and never sees it)', bytes: pkg(paxRaw(`${record('mtime', '0')}\0${record('path', 'other')}`), image()), code: 'CORRUPT', pattern: /the record at byte 11 does not start with its length/, gnu: { status: 0, members: both } },
      { label: 'pax record without =', bytes: pkg(paxRaw('10 mtime0\n'), image()), code: 'CORRUPT', pattern: /the record at byte 0 has no '<keyword>=' after its length/, gnu: { status: 2, stderr: /missing equal sign/ } },
      { label: 'pax path that is not UTF-8', bytes: pkg(paxRaw(Buffer.from('19 path=image\xff.tar\n', 'latin1')), image()), code: 'CORRUPT', pattern: /the record at byte 0 is not valid UTF-8/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['image\\377.tar', size]] } },

      // pax keywords that make tar see another file.
      { label: 'GNU.sparse.name renames the member', bytes: pkg(pax({ 'GNU.sparse.name': 'other' }), image()), code: 'UNSAFE_MEMBER', pattern: /^image\.tar: pax keyword "GNU\.sparse\.name" makes the member a GNU sparse file/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['other', size]] } },
      { label: 'GNU.sparse.realsize changes its size', bytes: pkg(pax({ 'GNU.sparse.realsize': '5' }), image()), code: 'UNSAFE_MEMBER', pattern: /pax keyword "GNU\.sparse\.realsize" makes the member a GNU sparse file/, gnu: { status: 2, members: [['manifest.json', manifestSize], ['image.tar', 5], ...insideImage.slice(1)] } },
      {
        label: 'a GNU sparse 1.0 file',
        bytes: pkg(pax({ 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 'image.tar', 'GNU.sparse.realsize': String(size) }), member('GNUSparseFile.0/image.tar', Buffer.concat([padded(Buffer.from(`1\n0\n${size}\n`)), f.image]))),
        code: 'UNSAFE_MEMBER',
        pattern: /^GNUSparseFile\.0\/image\.tar: pax keyword "GNU\.sparse\.major" makes the member a GNU sparse file/,
        gnu: { status: 0, members: both },
      },
      { label: 'pax path other than the header name', bytes: pkg(pax({ path: 'other' }), image()), code: 'UNSAFE_MEMBER', pattern: /^image\.tar: pax path "other" differs from the name in the tar header/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['other', size]] } },
      { label: 'pax path twice (GNU tar takes the last)', bytes: pkg(paxRaw(record('path', 'other') + record('path', 'image.tar')), image()), code: 'UNSAFE_MEMBER', pattern: /^image\.tar: pax keyword "path" appears twice$/, gnu: { status: 0, members: both } },
      { label: 'pax hdrcharset', bytes: pkg(pax({ hdrcharset: 'BINARY' }), image()), code: 'UNSAFE_MEMBER', pattern: /pax keyword "hdrcharset" changes how tar decodes the member's name/, gnu: { status: 0, stderr: /Ignoring unknown extended header keyword 'hdrcharset'/ } },
      { label: 'pax linkpath', bytes: pkg(pax({ linkpath: '/etc/shadow' }), image()), code: 'UNSAFE_MEMBER', pattern: /pax keyword "linkpath" gives the member a link target/, gnu: { status: 0, members: both } },
      { label: 'pax extended attribute', bytes: pkg(pax({ 'SCHILY.xattr.security.capability': 'x' }), image()), code: 'UNSAFE_MEMBER', pattern: /pax keyword "SCHILY\.xattr\.security\.capability" is not accepted \(only path, size, mtime, atime, ctime, uid, gid, uname, gname\)/, gnu: { status: 0, members: both } },

      // Headers that apply to other members, or rename them.
      { label: 'two pax headers in a row (GNU tar applies only the last)', bytes: pkg(pax({ path: 'other' }), pax({ mtime: '0' }), image()), code: 'UNSAFE_MEMBER', pattern: /is a second pax extended header in a row \(tar would apply only the last\)/, gnu: { status: 0, members: both } },
      { label: 'a pax header with no member after it', bytes: pkg(image(), pax({ path: 'other' })), code: 'CORRUPT', pattern: /^PaxHeader\/image\.tar: pax extended header is not followed by a member$/, gnu: { status: 0, members: both } },
      { label: 'a pax global header', bytes: pkg(paxRaw(record('path', 'other'), 'g'), image()), code: 'UNSAFE_MEMBER', pattern: /is a pax global header, which would apply to every member after it/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['other', size]] } },
      { label: 'a GNU long name', bytes: pkg(member('././@LongLink', 'other\0', 'L'), image()), code: 'UNSAFE_MEMBER', pattern: /^\.\/\.\/@LongLink: is a GNU long-name header, which renames the next member/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['other', size]] } },
      { label: 'a Solaris extended header', bytes: pkg(paxRaw(record('path', 'other'), 'X'), image()), code: 'UNSAFE_MEMBER', pattern: /is a Solaris extended header/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['other', size]] } },
      { label: 'an old GNU sparse member (GNU tar rebuilds it from an empty map: 0 bytes)', bytes: pkg(image({ type: 'S', magic: 'gnu' })), code: 'UNSAFE_MEMBER', pattern: /^image\.tar: is a GNU sparse file/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['image.tar', 0]] } },
      { label: 'a GNU multi-volume continuation', bytes: pkg(image({ type: 'M', magic: 'gnu' })), code: 'UNSAFE_MEMBER', pattern: /^image\.tar: is a GNU multi-volume continuation/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['image.tar--Continued at byte 0--', size]] } },

      // ustar numeric fields: octal (or GNU base-256), as GNU tar writes them.
      { label: 'size in obsolete base-64', bytes: pkg(image({ sizeField: '+0000000015\0' })), code: 'CORRUPT', pattern: /^image\.tar: tar header size field "\+0000000015\\u0000" is not an octal number$/, gnu: { status: 2, stderr: /obsolescent base-64/ } },
      { label: 'size with garbage after its terminator (GNU tar ignores it)', bytes: pkg(image({ sizeField: `${size.toString(8)} evil`.padEnd(12, '\0') })), code: 'CORRUPT', pattern: /tar header size field ".* evil.*" is not an octal number/, gnu: { status: 0, members: both } },
      { label: 'size after a tab', bytes: pkg(image({ sizeField: `\t${size.toString(8).padStart(10, '0')}\0` })), code: 'CORRUPT', pattern: /tar header size field "\\t0+\d+\\u0000" is not an octal number/, gnu: { status: 0, members: both } },
      { label: 'size in base-256 with a bad marker byte', bytes: pkg(image({ sizeField: Buffer.from([0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]) })), code: 'CORRUPT', pattern: /tar header size field .* is not an octal number/, gnu: { status: 2, stderr: /where numeric off_t value expected/ } },
      { label: 'an empty size field (GNU tar reads 0, then the members inside the image)', bytes: pkg(image({ sizeField: '\0'.repeat(12) })), code: 'CORRUPT', pattern: /tar header size field .* is not an octal number/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['image.tar', 0], ...insideImage] } },
      { label: 'mtime field not a number', bytes: pkg(image({ mtimeField: 'zz\0' })), code: 'CORRUPT', pattern: /^image\.tar: tar header mtime field "zz.*" is not an octal number$/, gnu: { status: 2, stderr: /where numeric time_t value expected/ } },
      { label: 'an old V7 header', bytes: pkg(image({ magic: 'v7' })), code: 'CORRUPT', pattern: /^image\.tar: tar header is neither POSIX ustar nor GNU format/, gnu: { status: 0, members: both } },
      { label: 'a regular file with a link name', bytes: pkg(image({ linkname: '/etc/shadow' })), code: 'UNSAFE_MEMBER', pattern: /^image\.tar: carries a link target \("\/etc\/shadow"\)$/, gnu: { status: 0, members: both } },
      { label: 'a POSIX prefix', bytes: pkg(image({ prefix: 'evil' })), code: 'UNEXPECTED_MEMBER', pattern: /^evil\/image\.tar: not part of a berth package/, gnu: { status: 0, members: [['manifest.json', manifestSize], ['evil/image.tar', size]] } },
    ];
    for (const { label, bytes, code, pattern, gnu } of cases) {
      try {
        expectGnu(bytes, gnu);
        await expectRefused(f, bytes, code, pattern);
      } catch (error) {
        throw new Error(`case "${label}": ${(error as Error).message}`, { cause: error });
      }
    }
  }));

/** The bytes in chunks of `size`, as a slow network delivers them. */
function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return Readable.from(chunks);
}

// What berth accepts beyond its own `berth app pack` output: what GNU tar writes in each of its formats, and
// header encodings GNU tar writes for large values. For each, GNU tar lists the same two members and extracts
// the same image bytes as berth.
test('strict tar: packages GNU tar writes, and the encodings it uses, are read as GNU tar reads them', () =>
  withFixture(async (f) => {
    const size = f.image.length;
    const both: [string, number][] = [['manifest.json', f.manifestBytes.length], ['image.tar', size]];
    const files = join(f.parent, 'files');
    await mkdir(files);
    await writeFile(join(files, 'manifest.json'), f.manifestBytes);
    await writeFile(join(files, 'image.tar'), f.image);
    const byGnuTar = (...args: string[]): Buffer => gnuTar([...args, '-C', files, '-cf', '-', 'manifest.json', 'image.tar'], Buffer.alloc(0)).stdout;
    const m = member('manifest.json', f.manifestBytes);
    const image = (extra: Partial<HeaderFields> = {}): Buffer => Buffer.concat([header({ name: 'image.tar', size, ...extra }), padded(f.image)]);
    const base256 = Buffer.alloc(12);
    base256[0] = 0x80;
    base256.writeUIntBE(size, 6, 6);
    const cases: [string, Buffer][] = [
      ['GNU tar --format=pax (pax mtime, atime and ctime with fractions)', byGnuTar('--format=pax')],
      ['GNU tar --format=gnu', byGnuTar('--format=gnu')],
      ['GNU tar --format=ustar', byGnuTar('--format=ustar')],
      ['GNU tar --format=gnu, gzip-compressed', gzipSync(byGnuTar('--format=gnu'))],
      ['size in GNU base-256', Buffer.concat([m, image({ sizeField: base256, magic: 'gnu' }), END])],
      ['size in 12 octal digits without terminator', Buffer.concat([m, image({ sizeField: size.toString(8).padStart(12, '0') }), END])],
      ['size after leading spaces', Buffer.concat([m, image({ sizeField: `${size.toString(8)} `.padStart(12, ' ') }), END])],
      [
        'pax size over a zero ustar size (as GNU tar writes files over 8 GiB), with times, ids and names',
        Buffer.concat([m, paxRaw(record('size', String(size)) + record('mtime', '1700000000.123456789') + record('atime', '-1.5') + record('ctime', '0') + record('uid', '4294967295') + record('gid', '0') + record('uname', 'développeur') + record('gname', '') + record('path', 'image.tar')), image({ size: 0 }), END]),
      ],
      ['GNU header with data where POSIX has its prefix (GNU tar does not join it to the name)', Buffer.concat([m, image({ magic: 'gnu', prefix: 'not-a-prefix' }), END])],
    ];
    for (const [label, bytes] of cases) {
      try {
        expectGnu(bytes, { status: 0, members: both });
        assert.deepEqual(gnuTarExtract(bytes, 'image.tar'), f.image, 'GNU tar extracts the image');
        // Split into small chunks: the gzip magic and the headers arrive in pieces.
        const read = await readPackage(chunked(bytes, 1), { workDir: f.work, maxUnpackedBytes: 1024 * 1024 });
        assert.equal(read.manifest.image.sha256, sha256(f.image));
        assert.equal(read.unpackedSize, f.manifestBytes.length + size);
        assert.deepEqual(await readFile(read.imagePath), f.image, 'berth reads the same image');
        await rm(read.imagePath);
      } catch (error) {
        throw new Error(`case "${label}": ${(error as Error).message}`, { cause: error });
      }
    }
  }));

test('checkPackage checks a whole package as readPackage does, writing nothing; readPackageManifest stops after the manifest', () =>
  withFixture(async (f) => {
    const m = member('manifest.json', f.manifestBytes);
    const valid = Buffer.concat([m, member('image.tar', f.image), END]);
    const checked = await checkPackage(Readable.from([valid]), { maxUnpackedBytes: 1024 * 1024 });
    assert.equal(checked.manifest.image.sha256, sha256(f.image));
    assert.equal(checked.unpackedSize, f.manifestBytes.length + f.image.length);
    const tampered = Buffer.concat([m, member('image.tar', Buffer.from(f.image).fill(7, 100, 101)), END]);
    await assert.rejects(checkPackage(Readable.from([tampered]), { maxUnpackedBytes: 1024 * 1024 }), { code: 'HASH_MISMATCH' });
    await assert.rejects(checkPackage(Readable.from([valid]), { maxUnpackedBytes: 1000 }), { code: 'TOO_LARGE', message: /image\.tar: declares \d+ bytes; the limit is \d+/ });
    assert.deepEqual((await readdir(f.parent)).sort(), ['image.tar', 'work'], 'nothing written');
    assert.deepEqual(await readdir(f.work), ['keep.txt']);

    // A manifest followed by 1 GiB of zeros, compressed: only the first chunks are ever pulled and inflated.
    let pulledMiB = 0;
    const zeros = Buffer.alloc(1024 * 1024);
    const bomb = function* (): Generator<Buffer> {
      yield m;
      for (let i = 0; i < 1024; i++) {
        pulledMiB++;
        yield zeros;
      }
    };
    const manifest = await readPackageManifest(Readable.from(bomb()).pipe(createGzip({ level: 1 })));
    assert.equal(manifest.name, 'hello');
    assert.ok(pulledMiB < 64, `stopped after the manifest (${pulledMiB} MiB of the 1024 were pulled)`);
    await assert.rejects(readPackageManifest(Readable.from([Buffer.concat([member('image.tar', f.image), END])])), {
      code: 'UNEXPECTED_MEMBER',
      message: /manifest\.json must be the first member; found "image\.tar"/,
    });
  }));
