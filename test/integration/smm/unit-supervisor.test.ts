// The EU supervisor on the real Docker Engine: a crash-looping release is restarted with the AutoRestart back-off
// and given up after MaximumRetryCount with its exit code in the fault; a unit berth stops is Idle without fault
// and is not restarted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDockerRuntime } from '../../../src/runtime/docker-runtime.ts';
import { buildSampleRelease, findStaticBusybox } from '../../../src/catalog/samples/sample-apps.ts';
import { readPackageFile } from '../../../src/catalog/package/package-reader.ts';
import { createDeployment, removeDeployment } from '../../../src/smm/deployment.ts';
import { DEFAULT_EXEC_ENV_ISOLATION } from '../../../src/smm/exec-env-policy.ts';
import type { DeploymentRecord } from '../../../src/smm/deployment.ts';
import { createUnitSupervisor } from '../../../src/smm/unit-supervisor.ts';
import type { UnitView } from '../../../src/smm/unit-supervisor.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ci = process.env['CI'] === 'true';
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const OWNER = `os::supervisor-${Math.random().toString(36).slice(2, 8)}`;

test('supervisor: crash loop restarted with back-off then given up; a requested stop is not a crash', { skip: !dockerWorks && !ci ? 'Docker Engine not running' : false }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const runtime = createDockerRuntime();
  const work = await mkdtemp(join(tmpdir(), 'berth-supervisor-'));
  const supervisor = createUnitSupervisor(runtime, OWNER);
  const records: DeploymentRecord[] = [];
  try {
    const busybox = findStaticBusybox();
    const deploy = async (app: string, file: string, env: string) => {
      const built = await buildSampleRelease({ catalogSourceDir: join(root, 'catalog'), app, manifestFile: file, outDir: join(work, env), busybox });
      const { manifest } = await readPackageFile(built.packagePath, { workDir: join(work, env, 'unpacked'), maxUnpackedBytes: 1e9 });
      const record = await createDeployment(runtime, { uuid: `0000000${records.length}-0000-5000-8000-000000000000`, manifest: { ...manifest, executionUnits: manifest.executionUnits.map((eu) => ({ ...eu, network: { mode: 'none' as const, egress: [] } })) }, openImage: () => createReadStream(built.imagePath), policy: { name: env, owner: OWNER, allowedCapabilities: [], ...DEFAULT_EXEC_ENV_ISOLATION } });
      records.push(record);
      return record.units[0]!.containerId;
    };
    const crashing = await deploy('parental-control', 'app-1.2.0.json', 'crash');
    const healthy = await deploy('energy-monitor', 'app.json', 'meter');
    await supervisor.start();
    const seen: UnitView[] = [];
    supervisor.onChange((id, view) => {
      if (id === crashing) seen.push(view);
    });
    const policy = { enable: true, retryMinimumWaitInterval: 1, retryMaximumWaitInterval: 3, retryIntervalMultiplier: 2000, maximumRetryCount: 2, resetPeriod: 0 };
    supervisor.add(crashing, policy);
    supervisor.add(healthy, { ...policy, maximumRetryCount: 5 });

    await supervisor.activate(crashing);
    await supervisor.activate(healthy);
    const deadline = Date.now() + 30_000;
    while (!/gave up/.test(supervisor.view(crashing)!.fault.message) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const final = supervisor.view(crashing)!;
    assert.equal(final.status, 'Idle');
    assert.equal(final.retryCount, 2);
    assert.equal(final.fault.code, 'FailureOnStart', 'it dies within a second of starting');
    assert.equal(final.fault.message, 'exited with code 3; gave up after 2 restarts (MaximumRetryCount)');
    assert.ok(final.lastRestarted instanceof Date);
    assert.equal(final.nextRestart, undefined);
    const statuses = seen.map((v) => v.status);
    assert.equal(statuses.filter((s) => s === 'Active').length, 3, `three runs: the start and two restarts (${statuses.join(' ')})`);
    assert.ok(seen.some((v) => v.status === 'Idle' && v.nextRestart instanceof Date), 'NextRestart is announced while waiting');

    assert.equal(supervisor.view(healthy)!.status, 'Active');
    await supervisor.deactivate(healthy, 1);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual([supervisor.view(healthy)!.status, supervisor.view(healthy)!.fault.code, supervisor.view(healthy)!.retryCount], ['Idle', 'NoFault', 0], 'a stop berth made is not a crash');
    assert.equal((await runtime.inspectContainer(healthy))!.status, 'exited');
  } finally {
    supervisor.close();
    for (const record of records) await removeDeployment(runtime, record, { retainData: false }).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
});
