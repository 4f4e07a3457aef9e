// Creating and removing deployments of the sample apps on the real Docker Engine: everything labelled, shared
// images kept while used, retained data kept, and a failure half-way leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDockerRuntime } from '../../../src/runtime/docker-runtime.ts';
import type { ContainerRuntime } from '../../../src/runtime/container-runtime.ts';
import { buildSampleRelease, findStaticBusybox } from '../../../src/catalog/samples/sample-apps.ts';
import { readPackageFile } from '../../../src/catalog/package/package-reader.ts';
import { carryData, createDeployment, DeploymentError, removeDeployment } from '../../../src/smm/deployment.ts';
import { duUuid } from '../../../src/smm/du-uuid.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ci = process.env['CI'] === 'true';
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
// ExecEnv names of this run only: the test counts and removes objects by their labels, never touching what a
// real berth on this machine has installed.
const RUN = Math.random().toString(36).slice(2, 8);
const HOME = `test-home-${RUN}`;
const LAB = `test-lab-${RUN}`;
const ENVS = [HOME, LAB];
const OWNER = `os::test-${RUN}`;

async function berthObjects(runtime: ContainerRuntime): Promise<{ containers: number; volumes: number; networks: number }> {
  const count = async (list: (label: string) => Promise<unknown[]>): Promise<number> => (await Promise.all(ENVS.map((env) => list(`io.berth.execenv=${env}`)))).flat().length;
  return {
    containers: await count((label) => runtime.listContainers(label)),
    volumes: await count((label) => runtime.listVolumes(label)),
    networks: await count((label) => runtime.listNetworks(label)),
  };
}

async function cleanupAll(runtime: ContainerRuntime, imageIds: string[]): Promise<void> {
  for (const env of ENVS) {
    const label = `io.berth.execenv=${env}`;
    for (const c of await runtime.listContainers(label)) await runtime.removeContainer(c.id).catch(() => undefined);
    for (const v of await runtime.listVolumes(label)) await runtime.removeVolume(v.name).catch(() => undefined);
    for (const n of await runtime.listNetworks(label)) await runtime.removeNetwork(n.id).catch(() => undefined);
  }
  for (const id of imageIds) await runtime.removeImage(id).catch(() => undefined);
}

test('deployments: create, start, share an image, retain data, remove; a failure half-way leaves nothing', { skip: !dockerWorks && !ci ? 'Docker Engine not running' : false }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const runtime = createDockerRuntime();
    const work = await mkdtemp(join(tmpdir(), 'berth-deploy-'));
  const images: string[] = [];
  try {
    const busybox = findStaticBusybox();
    const built = await buildSampleRelease({ catalogSourceDir: join(root, 'catalog'), app: 'parental-control', manifestFile: 'app.json', outDir: work, busybox });
    images.push(built.imageId);
    const { manifest } = await readPackageFile(built.packagePath, { workDir: join(work, 'unpacked'), maxUnpackedBytes: 1e9 });
    const uuid = duUuid(manifest.name, manifest.vendor);
    const openImage = () => createReadStream(built.imagePath);

    const home = await createDeployment(runtime, { uuid, manifest, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER } });
    assert.equal(home.imageId, built.imageId);
    assert.equal(home.network, `berth-${HOME}-parental-control`);
    assert.deepEqual(home.volumes, [{ name: `berth-${HOME}-parental-control-data-1.0.0`, logical: 'data', retain: true, unit: 'filter', path: '/data' }]);
    assert.equal(home.units[0]!.containerName, `berth-${HOME}-parental-control-filter-1.0.0`);
    const state = await runtime.inspectContainer(home.units[0]!.containerId);
    assert.equal(state!.status, 'created', 'created, not started');
    assert.equal(state!.labels['io.berth.du'], uuid);
    assert.equal(state!.labels['io.berth.execenv'], HOME);
    await runtime.startContainer(home.units[0]!.containerId);
    assert.equal((await runtime.inspectContainer(home.units[0]!.containerId))!.status, 'running');
    // Data the running version wrote (as uid 1000, like the app), to be carried over by an update.
    assert.equal(spawnSync('docker', ['exec', home.units[0]!.containerId, '/bin/sh', '-c', 'echo kept > /data/marker']).status, 0);

    // The same app in a second ExecEnv (different port, or the bind would clash): the image is shared.
    const lab = await createDeployment(runtime, {
      uuid,
      manifest: { ...manifest, executionUnits: manifest.executionUnits.map((eu) => ({ ...eu, network: { mode: 'published' as const, ports: [{ container: 8080, host: 18081, protocol: 'tcp' as const }] } })) },
      openImage,
      policy: { name: LAB, allowedCapabilities: [], owner: OWNER },
    });
    // An update's new version shares the app's network; its data volume is new, filled with a copy of the old one's
    // (so the old version's data is untouched until the update is committed).
    const v2 = await createDeployment(runtime, { uuid, manifest: { ...manifest, version: '1.1.0' }, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER }, forUpdate: true });
    await carryData(runtime, { from: home, includeUnretained: false }, v2);
    assert.equal(v2.network, home.network);
    assert.equal(v2.volumes[0]!.name, `berth-${HOME}-parental-control-data-1.1.0`);
    const copied = spawnSync('docker', ['run', '--rm', '-v', `${v2.volumes[0]!.name}:/d`, built.imageId, '/bin/sh', '-c', 'cat /d/marker; ls -ln /d/marker'], { encoding: 'utf8' });
    assert.match(copied.stdout, /^kept\n/, `the data was carried over: ${copied.stderr}`);
    assert.match(copied.stdout, /1000\s+1000/, 'ownership kept');
    await removeDeployment(runtime, home, { retainData: false, keepNetwork: true });
    assert.equal((await runtime.listNetworks(`io.berth.execenv=${HOME}`)).length, 1, 'the shared network stays');
    assert.deepEqual((await runtime.listVolumes(`io.berth.execenv=${HOME}`)).map((v) => v.name), [`berth-${HOME}-parental-control-data-1.1.0`], 'the old version\'s data volume goes, the new one stays');
    await removeDeployment(runtime, v2, { retainData: true });
    assert.ok((await runtime.listVolumes(`io.berth.execenv=${HOME}`)).some((v) => v.name === `berth-${HOME}-parental-control-data-1.1.0`), 'retained data stays');
    assert.equal((await berthObjects(runtime)).containers, 1, 'only the lab deployment is left');
    // A later install of the same DU adopts the retained data, whatever version made it.
    const again = await createDeployment(runtime, { uuid, manifest, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER } });
    assert.equal(again.volumes[0]!.name, `berth-${HOME}-parental-control-data-1.1.0`);
    await removeDeployment(runtime, again, { retainData: false });
    await removeDeployment(runtime, lab, { retainData: false });
    assert.deepEqual(await berthObjects(runtime), { containers: 0, volumes: 0, networks: 0 });

    // Capabilities the ExecEnv does not allow: refused before anything is created.
    const greedy = { ...manifest, executionUnits: manifest.executionUnits.map((eu) => ({ ...eu, capabilities: ['NET_ADMIN' as const] })) };
    await assert.rejects(createDeployment(runtime, { uuid, manifest: greedy, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER } }), (error: unknown) => error instanceof DeploymentError && error.kind === 'POLICY' && /NET_ADMIN/.test(error.message));

    // A runtime failure half-way (the second container cannot be created): everything created is removed.
    const twoUnits = { ...manifest, executionUnits: [manifest.executionUnits[0]!, { ...manifest.executionUnits[0]!, name: 'second', network: { mode: 'none' as const } }] };
    let creates = 0;
    const failing: ContainerRuntime = {
      ...runtime,
      createContainer: async (spec) => {
        if (++creates === 2) throw new Error('injected: no more containers');
        return runtime.createContainer(spec);
      },
    };
    await assert.rejects(createDeployment(failing, { uuid, manifest: twoUnits, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER } }), /injected: no more containers/);
    assert.deepEqual(await berthObjects(runtime), { containers: 0, volumes: 0, networks: 0 }, 'nothing left behind');
    assert.equal(spawnSync('docker', ['image', 'inspect', built.imageId], { stdio: 'ignore' }).status, 1, 'the image it loaded is gone too');
  } finally {
    await cleanupAll(runtime, images);
    await rm(work, { recursive: true, force: true });
  }
});
