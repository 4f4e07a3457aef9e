// `berth demo` (the README's first command) runs its whole story and exits 0, leaving nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'berth.js');

test('berth demo: agent, Controller, signed catalog and a verified sample app, then a clean exit', () => {
  const before = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('berth-demo-')));
  const result = spawnSync(process.execPath, [berth, 'demo'], { encoding: 'utf8', env: { ...process.env, BERTH_FROM_SOURCE: '1' }, timeout: 120_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /notified → value change: Device\.LocalAgent\.Controller\.1\.ProvisioningCode = demo-2026/);
  assert.match(result.stdout, /operation complete: Device\.ScheduleTimer\(\)/);
  assert.match(result.stdout, /parental-control@1\.0\.0 +http:\/\/127\.0\.0\.1:\d+\/targets\/berth-samples\.example\/parental-control\/parental-control-1\.0\.0\.berth/);
  assert.match(result.stdout, /downloaded, length and sha256 checked, unpacked in one pass/);
  assert.match(result.stdout, /a version nobody signed is refused: USP fault 7036/);
  const after = readdirSync(tmpdir()).filter((name) => name.startsWith('berth-demo-') && !before.has(name));
  assert.deepEqual(after, [], 'the demo removes its data folder');
});
