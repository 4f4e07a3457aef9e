// The developer's and catalog admin's story from the shell: keys, a catalog (its offline keys apart), a publisher,
// pack, publish (the URL on stdout), verify (OK, and REFUSED with the USP fault for a tampered file), the page
// listing the app, a root rotation with the offline keys brought back; and the unpacked-size bound on the local
// packages publish and verify read (gzip bombs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { appManifest, writeImageArchive } from '../../helpers/catalog-fixture.ts';
import { END, gzipBomb, header, member } from '../../helpers/tar-craft.ts';

const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'berth.js');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [berth, ...args], { env: { ...process.env, BERTH_FROM_SOURCE: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The URL `berth catalog serve` prints once it listens. */
function catalogUrlOf(server: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const match = /at (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    server.once('exit', (code) => {
      reject(new Error(`catalog serve exited (${code})`));
    });
  });
}

test('berth keys / catalog / app: init, add a publisher, pack, publish, verify, and refuse a tampered package', async () => {
  const work = await mkdtemp(join(tmpdir(), 'berth-cli-catalog-'));
  const dir = join(work, 'catalog');
  const server = spawn(process.execPath, [berth, 'catalog', 'serve', '--dir', dir, '--port', '0', '--log-level', 'warn'], { env: { ...process.env, BERTH_FROM_SOURCE: '1' } });
  try {
    let result = await run(['catalog', 'init', '--dir', join(work, 'other'), '--offline-keys', join(work, 'other', 'keys')]);
    assert.equal(result.code, 2, 'offline keys inside the catalog folder are refused');
    assert.match(result.stderr, /inside the catalog folder/);
    result = await run(['catalog', 'init', '--dir', dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /root\.json/);
    // The server's folder holds only the online keys; root and targets keys are in a folder of their own.
    const offline = `${dir}-offline-keys`;
    assert.match(result.stdout, new RegExp(`offline keys +${offline}/`));
    const pems = (await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.pem')).sort();
    assert.deepEqual(pems, [join('keys', 'snapshot.pem'), join('keys', 'timestamp.pem')]);
    assert.ok((await readdir(join(offline, 'root'))).some((name) => name.endsWith('.pem')));
    assert.ok((await readdir(offline)).includes('targets.pem'));
    // Taken off the machine (here: another folder), they are found only when named.
    const usb = join(work, 'usb');
    await rename(offline, usb);
    result = await run(['keys', 'generate', '--out', join(work, 'acme')]);
    assert.equal(result.code, 0, result.stderr);
    result = await run(['keys', 'generate', '--out', join(work, 'acme')]);
    assert.equal(result.code, 1, 'a private key is never overwritten');
    assert.match(result.stderr, /refusing to overwrite/);
    result = await run(['catalog', 'publisher', 'add', '--dir', dir, '--vendor', 'acme.example', '--key', join(work, 'acme.pub.pem')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /targets key not found .*--offline-keys/);
    result = await run(['catalog', 'publisher', 'add', '--dir', dir, '--vendor', 'acme.example', '--key', join(work, 'acme.pub.pem'), '--offline-keys', usb]);
    assert.equal(result.code, 0, result.stderr);
    result = await run(['catalog', 'publisher', 'add', '--dir', dir, '--vendor', 'Bad_Vendor', '--key', join(work, 'acme.pub.pem')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /vendor "Bad_Vendor" must be/);

    await writeImageArchive(join(work, 'image.tar'), 100_000, 'cli');
    await writeFile(join(work, 'app.json'), JSON.stringify(appManifest('hello', '1.0.0')));
    result = await run(['app', 'pack', '--manifest', join(work, 'app.json'), '--image', join(work, 'image.tar'), '--out', join(work, 'hello-1.0.0.berth')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /packed acme\.example\/hello 1\.0\.0/);
    await writeFile(join(work, 'bad.json'), JSON.stringify({ ...appManifest('hello', '1.0.0'), version: 'v1' }));
    result = await run(['app', 'pack', '--manifest', join(work, 'bad.json'), '--image', join(work, 'image.tar'), '--out', join(work, 'bad.berth')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /manifest\.version: must be a semantic version/);

    const catalogUrl = await catalogUrlOf(server);
    result = await run(['app', 'publish', join(work, 'hello-1.0.0.berth'), '--catalog', catalogUrl, '--key', join(work, 'acme.pem')]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${catalogUrl}/targets/acme.example/hello/hello-1.0.0.berth\n`, 'only the URL on stdout');

    const root = join(dir, 'root.json');
    result = await run(['app', 'verify', result.stdout.trim(), '--catalog', catalogUrl, '--root', root]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^OK {2}acme\.example\/hello 1\.0\.0/);
    result = await run(['app', 'verify', join(work, 'hello-1.0.0.berth'), '--catalog', catalogUrl, '--root', root]);
    assert.equal(result.code, 0, result.stderr);

    const bytes = await readFile(join(work, 'hello-1.0.0.berth'));
    bytes[bytes.length - 3000]! ^= 1;
    await writeFile(join(work, 'hello-1.0.0.berth'), bytes);
    result = await run(['app', 'verify', join(work, 'hello-1.0.0.berth'), '--catalog', catalogUrl, '--root', root]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /REFUSED \(USP fault 703[56]\)/);

    const page = await (await fetch(`${catalogUrl}/`)).text();
    assert.match(page, /hello/);

    result = await run(['catalog', 'rotate-root', '--dir', dir]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /root keys .*--offline-keys/);
    result = await run(['catalog', 'rotate-root', '--dir', dir, '--offline-keys', usb]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /root rotated to version 2/);
    assert.deepEqual((await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.pem') && !name.startsWith(join('keys', 'retired'))).sort(), [join('keys', 'snapshot.pem'), join('keys', 'timestamp.pem')]);
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(work, { recursive: true, force: true });
  }
});

/** A package of `imageMiB` MiB of zeros as its image, tar then gzip, built in milliseconds (see gzipBomb). */
function zeroImagePackage(name: string, version: string, imageMiB: number, options: { trailingZeroMiB?: number; sha256?: string } = {}): Buffer {
  const imageHash = createHash('sha256');
  const mebibyte = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < imageMiB; i++) imageHash.update(mebibyte);
  const size = imageMiB * 1024 * 1024;
  const manifest = Buffer.from(JSON.stringify({ ...appManifest(name, version), image: { file: 'image.tar', size, sha256: options.sha256 ?? imageHash.digest('hex') } }));
  const head = Buffer.concat([member('manifest.json', manifest), header({ name: 'image.tar', size })]);
  // The image's bytes are zeros, then the end marker, then (a bomb of) zero padding: all one run of zeros.
  return gzipBomb(head, imageMiB + (options.trailingZeroMiB ?? 0), END);
}

test('berth app publish and verify read a local package within an unpacked-size bound: gzip bombs are refused before they are inflated', async () => {
  const work = await mkdtemp(join(tmpdir(), 'berth-cli-bomb-'));
  const dir = join(work, 'catalog');
  // The commands' own temp folders go here, so that anything they leave behind is seen.
  const temp = join(work, 'tmp');
  await mkdir(temp);
  const env = { TMPDIR: temp };
  let server: ChildProcess | undefined;
  try {
    assert.equal((await run(['catalog', 'init', '--dir', dir])).code, 0);
    assert.equal((await run(['keys', 'generate', '--out', join(work, 'acme')])).code, 0);
    assert.equal((await run(['catalog', 'publisher', 'add', '--dir', dir, '--vendor', 'acme.example', '--key', join(work, 'acme.pub.pem')])).code, 0);
    server = spawn(process.execPath, [berth, 'catalog', 'serve', '--dir', dir, '--port', '0', '--log-level', 'warn'], { env: { ...process.env, BERTH_FROM_SOURCE: '1' } });
    const catalogUrl = await catalogUrlOf(server);
    const publish = (file: string, ...extra: string[]) => run(['app', 'publish', file, '--catalog', catalogUrl, '--key', join(work, 'acme.pem'), ...extra], env);
    const verify = (file: string) => run(['app', 'verify', file, '--catalog', catalogUrl, '--root', join(dir, 'root.json')], env);

    // A valid package of 24 MiB (24 KiB on disk) over a 16 MiB limit: refused from its manifest, before inflating.
    const big = join(work, 'big-1.0.0.berth');
    await writeFile(big, zeroImagePackage('big', '1.0.0', 24));
    let result = await publish(big, '--max-unpacked', '16MiB');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^berth: REFUSED: .*big-1\.0\.0\.berth: image\.tar: declares 25165824 bytes; the limit is \d+ \(limit 16\.0 MiB; raise it with --max-unpacked\)\n$/);
    // 200 MiB of zeros after a 1 MiB package's end marker: stopped once 16 MiB are inflated.
    const bomb = join(work, 'bomb-1.0.0.berth');
    await writeFile(bomb, zeroImagePackage('bomb', '1.0.0', 1, { trailingZeroMiB: 200 }));
    result = await publish(bomb, '--max-unpacked', '16MiB');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /bomb-1\.0\.0\.berth: package unpacks to more than the 16777216 bytes allowed/);
    result = await publish(bomb, '--max-unpacked', 'lots');
    assert.equal(result.code, 2, 'a usage error');
    assert.match(result.stderr, /--max-unpacked lots: give a size in bytes/);
    assert.doesNotMatch(await (await fetch(`${catalogUrl}/`)).text(), /big|bomb/, 'nothing was published');

    // Within the default limit (4 GiB, a catalog's default) the 24 MiB package is an ordinary one.
    result = await publish(big);
    assert.equal(result.code, 0, result.stderr);
    result = await verify(big);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^OK {2}acme\.example\/big 1\.0\.0/);

    // verify reads only the manifest until the catalog has vouched for the file: a bomb it never signed is
    // refused for that, not after its 256 MiB were inflated and its image hashed.
    const unsigned = join(work, 'unsigned-1.0.0.berth');
    await writeFile(unsigned, zeroImagePackage('unsigned', '1.0.0', 256, { sha256: 'a'.repeat(64) }));
    result = await verify(unsigned);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /REFUSED \(USP fault \d+\): no signed target acme\.example\/unsigned\/unsigned-1\.0\.0\.berth in the catalog/);
    // (tsx, which runs berth from source here, keeps its compile cache there.)
    assert.deepEqual((await readdir(temp)).filter((name) => !name.startsWith('tsx-')), [], 'no temp files left behind');
  } finally {
    server?.kill('SIGTERM');
    if (server && server.exitCode === null) await new Promise((resolve) => server!.once('exit', resolve));
    await rm(work, { recursive: true, force: true });
  }
});
