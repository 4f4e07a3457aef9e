// A Docker daemon restart with an app installed: the ExecEnv shows Error while Docker is away, and once it is back
// berth reconnects, reconciles and brings the app back to Active (Docker stopped it: restart policy is `no`).
// This test restarts the machine's dockerd, so it runs only in CI or when asked (BERTH_TEST_DOCKER_RESTART=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { skipReason } from '../../helpers/usp-fixture.ts';
import { dockerSkipReason, startSmmFixture } from '../../helpers/smm-fixture.ts';

const allowed = process.env['CI'] === 'true' || process.env['BERTH_TEST_DOCKER_RESTART'] === '1';
const skip = skipReason() ?? dockerSkipReason() ?? false;

const dockerAnswers = (): boolean => spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stops the running dockerd and starts it again with the same command line. */
async function restartDockerd(whileDown: () => Promise<void>): Promise<void> {
  const pid = spawnSync('pgrep', ['-xo', 'dockerd'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(pid, 'dockerd runs as a process this test can restart (not under systemd)');
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
  process.kill(Number(pid), 'SIGTERM');
  await until(() => spawnSync('kill', ['-0', pid]).status !== 0, 60_000, 'dockerd stopped');
  try {
    await whileDown();
  } finally {
    const log = openSync('/tmp/berth-dockerd.log', 'a');
    spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] }).unref();
    await until(dockerAnswers, 60_000, 'dockerd started again');
  }
}

test('a Docker daemon restart is survived: Error while away, the app Active again after', { skip: skip || (allowed ? false : 'restarts dockerd: runs in CI or with BERTH_TEST_DOCKER_RESTART=1'), timeout: 240_000 }, async () => {
  const smm = await startSmmFixture();
  try {
    const installed = smm.nextDuStateChange((a) => a['OperationPerformed'] === 'Install');
    await smm.operate('Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('parental-control@1.0.0') });
    const eu = `${(await installed)['ExecutionUnitRefList']}.`;
    await smm.waitFor(eu, 'Status', (s) => s === 'Active');
    await restartDockerd(async () => {
      await smm.waitFor('Device.SoftwareModules.ExecEnv.1.', 'Status', (s) => s === 'Error', 20_000);
      // The agent keeps serving while Docker is away.
      assert.equal((await smm.params(eu))['Name'], 'filter');
    });
    await smm.waitFor('Device.SoftwareModules.ExecEnv.1.', 'Status', (s) => s === 'Up', 30_000);
    await smm.waitFor(eu, 'Status', (s) => s === 'Active', 60_000);
    assert.equal(smm.leftovers().containers.length, 1, 'the same container, adopted again');
  } finally {
    if (!dockerAnswers()) await until(dockerAnswers, 60_000, 'dockerd is back').catch(() => undefined);
    await smm.close();
  }
});
