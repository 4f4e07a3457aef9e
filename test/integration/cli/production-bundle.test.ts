// The production build (npm run build: one minified bundle, what bin/berth.js runs) works on its own: built into
// a folder with no node_modules above it, it connects to Mosquitto, answers USP, verifies and installs a signed
// app on Docker and removes it again. Everything else tests the TypeScript sources, so this is the only proof that
// bundling left no module behind (a dynamic require, a file read next to the code) and that protobufjs works
// without the Long.js the build leaves out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipReason, AGENT_ID } from '../../helpers/usp-fixture.ts';
import { dockerSkipReason, startSmmFixture } from '../../helpers/smm-fixture.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const skip = skipReason() ?? dockerSkipReason();

test('the production bundle, away from node_modules, serves USP and installs and removes an app', { skip, timeout: 180_000 }, async () => {
  const outdir = await mkdtemp(join(tmpdir(), 'berth-bundle-'));
  try {
    const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', outdir, '--no-check'], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    assert.ok(!existsSync(join(outdir, 'node_modules')) && !existsSync(join(dirname(outdir), 'node_modules')), 'nothing to fall back on');
    // Long.js compiles a WebAssembly module as it loads (~1.6 MiB of the idle agent); nothing in the bundle may.
    for (const file of readdirSync(outdir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.js'))) {
      assert.doesNotMatch(readFileSync(join(outdir, file), 'utf8'), /WebAssembly/, `${file} uses WebAssembly`);
    }

    const smm = await startSmmFixture({ entry: join(outdir, 'main.js') });
    try {
      const info = await smm.params('Device.LocalAgent.');
      assert.equal(info['EndpointID'], AGENT_ID);

      const installed = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
      await smm.operate('Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('parental-control@1.0.0'), ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.1' }, 'bundle-install');
      const change = await installed;
      assert.equal(change['CurrentState'], 'Installed', change['Fault.FaultString']);
      await smm.waitFor(`${change['ExecutionUnitRefList']!}.`, 'Status', (s) => s === 'Active');

      const removed = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Uninstall');
      await smm.operate(`${change['DeploymentUnitRef']!}.Uninstall()`, {}, 'bundle-uninstall');
      assert.equal((await removed)['CurrentState'], 'Uninstalled');
      assert.deepEqual(smm.leftovers(), { containers: [], volumes: [], networks: [] });
      assert.doesNotMatch(smm.fx.agent.output(), /"level":[56]0/, 'the bundled agent logged no error');

      // The launcher's --expose-gc reaches the agent: once quiet after the work it collected its heap
      // (src/idle-collector.ts), and the collection shrank it.
      await smm.fx.agent.waitForLog('"heap collected while idle"', 10_000);
      const found = smm.fx.agent.output().split('\n').filter((line) => line.includes('"heap collected while idle"')).map((line) => JSON.parse(line) as { heapBeforeMiB: number; heapAfterMiB: number });
      for (const { heapBeforeMiB, heapAfterMiB } of found) assert.ok(heapAfterMiB < heapBeforeMiB, `heap ${heapBeforeMiB} → ${heapAfterMiB} MiB`);
    } finally {
      await smm.close();
    }
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
});
