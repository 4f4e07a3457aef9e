// The developer's and catalog admin's story from the shell: keys, a catalog (its offline keys apart), a publisher,
// pack, publish (the URL on stdout), verify (OK, and REFUSED with the USP fault for a tampered file), the page
// listing the app, and a root rotation with the offline keys brought back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { appManifest, writeImageArchive } from '../../helpers/catalog-fixture.ts';

const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'berth.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [berth, ...args], { env: { ...process.env, BERTH_FROM_SOURCE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
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

    const catalogUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout }).on('line', (line) => {
        const match = /at (http:\/\/\S+)/.exec(line);
        if (match) resolve(match[1]!);
      });
      server.once('exit', (code) => {
        reject(new Error(`catalog serve exited (${code})`));
      });
    });
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
