// The gateway's trusted TUF metadata survives a kill -9 at any moment: after each kill a new client with the
// same folder still verifies, and what it trusts never goes back to an older version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCatalog } from '../../helpers/catalog-fixture.ts';
import { publishPackage } from '../../../src/catalog/publisher/publish-package.ts';

test('kill -9 during refreshes: the trusted metadata is always whole and never rolls back', async () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const catalog = await startCatalog();
  try {
    const first = await catalog.packApp('hello', '1.0.0');
    const { url } = await publishPackage({ catalogUrl: catalog.url, packageFile: first, privateKeyPem: catalog.publisherKeyPem });
    const stateDir = join(catalog.work, 'gateway');
    let lastTimestamp = 0;
    for (let round = 0; round < 6; round++) {
      // Every round the catalog moves on, so the child's refreshes write new metadata.
      const next = await catalog.packApp('hello', `1.0.${round + 1}`);
      await publishPackage({ catalogUrl: catalog.url, packageFile: next, privateKeyPem: catalog.publisherKeyPem });
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'refresh-loop.fixture.ts'), catalog.url, join(catalog.dir, 'root.json'), stateDir, url], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => {
          resolve();
        });
        child.once('exit', (code) => {
          reject(new Error(`refresh loop exited (${code})`));
        });
      });
      await new Promise((r) => setTimeout(r, 5 + round * 13));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      const resolved = await catalog.client(stateDir).resolve(url);
      assert.equal(resolved.custom.version, '1.0.0');
      const timestamp = JSON.parse(await readFile(join(stateDir, 'current', 'timestamp.json'), 'utf8')) as { signed: { version: number } };
      assert.ok(timestamp.signed.version >= lastTimestamp, 'trusted timestamp never goes back');
      lastTimestamp = timestamp.signed.version;
      assert.deepEqual((await readdir(stateDir)).filter((name) => name !== 'current').length, 1, 'one generation kept, leftovers removed');
    }
  } finally {
    await catalog.close();
  }
});
