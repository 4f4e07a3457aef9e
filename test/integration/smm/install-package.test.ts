// InstallDU's work against a real signed catalog and the real Docker Engine: a sample app installs; a duplicate,
// an app that does not fit (refused before any download), a version nobody signed and a corrupt package each
// fail with their USP fault and leave nothing behind (no container, volume, network, work folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSampleCatalog } from '../../../src/catalog/samples/sample-catalog.ts';
import { createCatalogClient } from '../../../src/catalog/client/catalog-client.ts';
import { createDockerRuntime } from '../../../src/runtime/docker-runtime.ts';
import { createWorkArea } from '../../../src/store/work-area.ts';
import { installPackage } from '../../../src/smm/install-package.ts';
import { isBerthError } from '../../../src/errors/berth-error.ts';
import type { DeploymentRecord } from '../../../src/smm/deployment.ts';
import { removeDeployment } from '../../../src/smm/deployment.ts';
import { layoutOf } from '../../../src/catalog/repository/repository-layout.ts';
import { DEFAULT_EXEC_ENV_ISOLATION } from '../../../src/smm/exec-env-policy.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ci = process.env['CI'] === 'true';
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const ENV = `test-install-${Math.random().toString(36).slice(2, 8)}`;

function execEnv(memoryKiB: number) {
  return { name: ENV, owner: `os::${ENV}`, allowedCapabilities: [], ...DEFAULT_EXEC_ENV_ISOLATION, allocatedMemoryKiB: memoryKiB, allocatedCpuPercent: 100, allocatedDiskKiB: 1_048_576, usedMemoryKiB: 0, usedCpuPercent: 0, usedDiskKiB: 0 };
}

async function expectFault(promise: Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isBerthError(error), `expected a berth error, got ${String(error)}`);
    assert.equal(error.uspErrorCode, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

test('installPackage: install from the catalog; duplicate 7226, too big 7227 before download, unsigned 7036, corrupt 7035', { skip: !dockerWorks && !ci ? 'Docker Engine not running' : false }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const work = await mkdtemp(join(tmpdir(), 'berth-install-'));
  const runtime = createDockerRuntime();
  const catalog = await startSampleCatalog({ dir: join(work, 'samples'), catalogSourceDir: join(root, 'catalog') });
  const records: DeploymentRecord[] = [];
  const area = createWorkArea(join(work, 'agent-work'));
  let created = 0;
  const countingArea = { ...area, create: () => { created++; return area.create(); } };
  const deps = { catalog: createCatalogClient({ url: catalog.url, rootFile: catalog.rootFile, stateDir: join(work, 'trust'), berthVersion: '0.1.0' }), runtime, work: countingArea };
  const label = `io.berth.execenv=${ENV}`;
  const nothingLeft = async (): Promise<void> => {
    assert.deepEqual(await runtime.listContainers(label), []);
    assert.deepEqual(await runtime.listVolumes(label), []);
    assert.deepEqual(await runtime.listNetworks(label), []);
    assert.deepEqual(await readdir(join(work, 'agent-work')), [], 'no work folder left');
  };
  try {
    const phases: string[] = [];
    const { record } = await installPackage(deps, {
      url: catalog.packages.get('parental-control@1.0.0')!,
      execEnv: execEnv(65536),
      toExecEnvCpu: (pct: number) => pct,
      installed: [],
      onProgress: (phase) => phases.push(phase),
    });
    records.push(record);
    assert.equal(record.uuid, 'cd09ded9-b2c2-5a42-bc5d-890a6b89cdc6', 'UUID generated per TR-181 Annex C');
    assert.equal((await runtime.listContainers(label)).length, 1);
    assert.deepEqual([...new Set(phases)], ['resolved', 'downloading', 'creating']);
    assert.deepEqual(await readdir(join(work, 'agent-work')), [], 'the download folder is gone after install');

    await expectFault(installPackage(deps, { url: catalog.packages.get('parental-control@1.0.0')!, execEnv: execEnv(65536), toExecEnvCpu: (pct: number) => pct, installed: records }), 7226, /already installed/);
    await removeDeployment(runtime, records.pop()!, { retainData: false });

    created = 0;
    await expectFault(installPackage(deps, { url: catalog.packages.get('parental-control@1.0.0')!, execEnv: execEnv(8192), toExecEnvCpu: (pct: number) => pct, installed: [] }), 7227, /not enough memory .* needs 16384 KiB, 8192 KiB/);
    assert.equal(created, 0, 'refused before any download');
    await expectFault(installPackage(deps, { url: `${catalog.url}/targets/berth-samples.example/parental-control/parental-control-9.0.0.berth`, execEnv: execEnv(65536), toExecEnvCpu: (pct: number) => pct, installed: [] }), 7036, /no signed target/);

    // Corrupt bytes on the server: the download is refused, nothing is created.
    const layout = layoutOf(join(work, 'samples', 'catalog'));
    const folder = join(layout.targetsDir, 'berth-samples.example', 'energy-monitor');
    const stored = join(folder, (await readdir(folder))[0]!);
    const bytes = await readFile(stored);
    bytes[bytes.length - 5000]! ^= 0xff;
    await rm(stored);
    await writeFile(stored, bytes);
    await expectFault(installPackage(deps, { url: catalog.packages.get('energy-monitor@1.0.0')!, execEnv: execEnv(65536), toExecEnvCpu: (pct: number) => pct, installed: [] }), 7035, /sha256/);
    await nothingLeft();
  } finally {
    for (const record of records) await removeDeployment(runtime, record, { retainData: false }).catch(() => undefined);
    await catalog.close();
    await rm(work, { recursive: true, force: true });
  }
});
