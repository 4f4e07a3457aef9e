// `berth demo` (the README's first command) runs its whole story and exits 0, leaving nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'berth.js');

test('berth demo: install, run, update, roll back, stop and uninstall a sample app, then a clean exit', () => {
  const before = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('berth-demo-')));
  const result = spawnSync(process.execPath, [berth, 'demo'], { encoding: 'utf8', env: { ...process.env, BERTH_FROM_SOURCE: '1' }, timeout: 120_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /parental-control@1\.0\.0 +http:\/\/127\.0\.0\.1:\d+\/targets\/berth-samples\.example\/parental-control\/parental-control-1\.0\.0\.berth/);
  assert.match(result.stdout, /ExecEnv\.1\.Status = Up/);
  assert.match(result.stdout, /install parental-control-1\.0\.0\.berth: installed in [\d.]+ s — Device\.SoftwareModules\.DeploymentUnit\.1 version 1\.0\.0\n +unit filter: Active/);
  assert.match(result.stdout, /the app answers on http:\/\/127\.0\.0\.1:18080\/: block for malware\.example/);
  assert.match(result.stdout, /parental-control +1\.0\.0 +Installed +apps +filter +Active +(?!0\.0\/)[\d.]+\/16 MiB/, 'the apps table shows memory in use');
  assert.match(result.stdout, /install parental-control-9\.9\.9\.berth: failed after [\d.]+ s, fault 7036/);
  assert.match(result.stdout, /update parental-control 1\.0\.0: updated in [\d.]+ s — Device\.SoftwareModules\.DeploymentUnit\.1 version 1\.1\.0/);
  assert.match(result.stdout, /homework-distraction\.example is still blocked: block/);
  assert.match(result.stdout, /update parental-control 1\.1\.0: failed after [\d.]+ s, fault 7002: .*exited with code 3[^]*stays at version 1\.1\.0/);
  assert.match(result.stdout, /parental-control\/filter: Idle/);
  assert.match(result.stdout, /uninstall parental-control: uninstalled in/);
  assert.match(result.stdout, /containers, volumes and networks of the app left on Docker: 0/);
  const after = readdirSync(tmpdir()).filter((name) => name.startsWith('berth-demo-') && !before.has(name));
  assert.deepEqual(after, [], 'the demo removes its data folder');
});
