// Device.SoftwareModules.ExecEnv.{i}. from a running agent: Up while the Docker Engine answers, Error while its
// socket does not, with the configured allocations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startFixture, skipReason } from '../../helpers/usp-fixture.ts';
import type { ControllerClient } from '../../../src/controller/controller-client.ts';

const skip = skipReason();
const ci = process.env['CI'] === 'true';
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const execEnvs = [{ name: 'apps', memoryKiB: 65536, cpuPercent: 50, diskKiB: 1_048_576 }];

async function execEnv(controller: ControllerClient): Promise<Record<string, string>> {
  const resp = await controller.get(['Device.SoftwareModules.ExecEnv.1.']);
  return resp.reqPathResults![0]!.resolvedPathResults![0]!.resultParams!;
}

async function statusBecomes(controller: ControllerClient, want: string): Promise<Record<string, string>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const env = await execEnv(controller);
    if (env['Status'] === want || Date.now() > deadline) return env;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('ExecEnv is Up with the Docker Engine answering', { skip: skip ?? (!dockerWorks && !ci ? 'Docker Engine not running' : false) }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const fx = await startFixture({ config: { execEnvs } });
  try {
    const env = await statusBecomes(fx.controller, 'Up');
    assert.equal(env['Status'], 'Up');
    assert.equal(env['Name'], 'apps');
    assert.equal(env['AllocatedMemory'], '65536');
    assert.equal(env['AvailableMemory'], '65536', 'nothing installed yet');
    assert.match(env['Version']!, /^\d+\.\d+/);
  } finally {
    await fx.close();
  }
});

test('ExecEnv is Error while the Docker socket does not answer', { skip }, async () => {
  const fx = await startFixture({ config: { execEnvs, docker: { socketPath: '/nonexistent/docker.sock' } } });
  try {
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await execEnv(fx.controller))['Status'], 'Error');
  } finally {
    await fx.close();
  }
});
