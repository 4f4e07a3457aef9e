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
import { DEFAULT_EXEC_ENV_ISOLATION } from '../../../src/smm/exec-env-policy.ts';
import { removeImageNamesOf } from '../../helpers/berth-images.ts';

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

async function cleanupAll(runtime: ContainerRuntime): Promise<void> {
  for (const env of ENVS) {
    const label = `io.berth.execenv=${env}`;
    for (const c of await runtime.listContainers(label)) await runtime.removeContainer(c.id).catch(() => undefined);
    for (const v of await runtime.listVolumes(label)) await runtime.removeVolume(v.name).catch(() => undefined);
    for (const n of await runtime.listNetworks(label)) await runtime.removeNetwork(n.id).catch(() => undefined);
  }
  await removeImageNamesOf(runtime, OWNER);
}

test('deployments: create, start, share an image, retain data, remove; a failure half-way leaves nothing', { skip: !dockerWorks && !ci ? 'Docker Engine not running' : false }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const runtime = createDockerRuntime();
    const work = await mkdtemp(join(tmpdir(), 'berth-deploy-'));
  try {
    const busybox = findStaticBusybox();
    const built = await buildSampleRelease({ catalogSourceDir: join(root, 'catalog'), app: 'parental-control', manifestFile: 'app.json', outDir: work, busybox });
    const { manifest } = await readPackageFile(built.packagePath, { workDir: join(work, 'unpacked'), maxUnpackedBytes: 1e9 });
    const uuid = duUuid(manifest.name, manifest.vendor);
    const openImage = () => createReadStream(built.imagePath);

    const home = await createDeployment(runtime, { uuid, manifest, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER, ...DEFAULT_EXEC_ENV_ISOLATION } });
    assert.equal(home.imageId, built.imageId);
    assert.match(home.imageName ?? '', /^berth\/os-test-[a-z0-9]+\/test-home-[a-z0-9]+\/parental-control:1\.0\.0-[0-9a-f]{8}$/, 'the image carries berth\'s own name');
    assert.deepEqual(spawnSync('docker', ['image', 'inspect', '-f', '{{json .RepoTags}}', built.imageId], { encoding: 'utf8' }).stdout.trim(), JSON.stringify([home.imageName]), "and not the archive's berth-samples/parental-control:1.0.0");
    const hostConfig = JSON.parse(spawnSync('docker', ['inspect', '-f', '{{json .HostConfig.PortBindings}}', home.units[0]!.containerId], { encoding: 'utf8' }).stdout) as unknown;
    assert.deepEqual(hostConfig, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] }, 'published on the ExecEnv\'s address only');
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

    // Its host port is taken: the same app in another ExecEnv may not publish it too.
    await assert.rejects(
      createDeployment(runtime, { uuid, manifest, openImage, policy: { name: LAB, allowedCapabilities: [], owner: OWNER, ...DEFAULT_EXEC_ENV_ISOLATION } }),
      (error: unknown) => error instanceof DeploymentError && error.code === 'TAKEN' && /host port 18080\/tcp, which an app in another ExecEnv already publishes/.test(error.message),
    );
    // The same app in a second ExecEnv on another port: the image is shared.
    const lab = await createDeployment(runtime, {
      uuid,
      manifest: { ...manifest, executionUnits: manifest.executionUnits.map((eu) => ({ ...eu, network: { mode: 'published' as const, ports: [{ container: 8080, host: 18081, protocol: 'tcp' as const }], egress: [] } })) },
      openImage,
      policy: { name: LAB, allowedCapabilities: [], owner: OWNER, ...DEFAULT_EXEC_ENV_ISOLATION },
    });
    // An update's new version shares the app's network; its data volume is new, filled with a copy of the old one's
    // (so the old version's data is untouched until the update is committed).
    const v2 = await createDeployment(runtime, { uuid, manifest: { ...manifest, version: '1.1.0' }, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER, ...DEFAULT_EXEC_ENV_ISOLATION }, forUpdate: true });
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
    const again = await createDeployment(runtime, { uuid, manifest, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER, ...DEFAULT_EXEC_ENV_ISOLATION } });
    assert.equal(again.volumes[0]!.name, `berth-${HOME}-parental-control-data-1.1.0`);
    await removeDeployment(runtime, again, { retainData: false });
    await removeDeployment(runtime, lab, { retainData: false });
    assert.deepEqual(await berthObjects(runtime), { containers: 0, volumes: 0, networks: 0 });

    // What the ExecEnv does not allow — capabilities, root, the gateway's own ports, ports below 1024, egress — is
    // refused before anything is created.
    const refusedPolicy = async (change: (eu: (typeof manifest.executionUnits)[number]) => object, pattern: RegExp): Promise<void> => {
      const asking = { ...manifest, executionUnits: manifest.executionUnits.map((eu) => ({ ...eu, ...change(eu) })) };
      await assert.rejects(createDeployment(runtime, { uuid, manifest: asking, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER, ...DEFAULT_EXEC_ENV_ISOLATION } }), (error: unknown) => {
        assert.ok(error instanceof DeploymentError && error.code === 'POLICY', String(error));
        assert.match(error.message, pattern);
        return true;
      });
    };
    await refusedPolicy(() => ({ capabilities: ['NET_ADMIN'] }), /NET_ADMIN/);
    await refusedPolicy(() => ({ user: '0:0' }), /run as root \(user 0:0\); ExecEnv test-home-\w+ does not allow root \(config execEnvs\[\]\.allowRoot\)/);
    await refusedPolicy((eu) => ({ network: { ...eu.network, ports: [{ container: 8080, host: 1883, protocol: 'tcp' }] } }), /host port 1883\/tcp, which ExecEnv test-home-\w+ reserves for the gateway's own services/);
    await refusedPolicy((eu) => ({ network: { ...eu.network, ports: [{ container: 8080, host: 1000, protocol: 'udp' }] } }), /host port 1000\/udp, outside the ports ExecEnv test-home-\w+ lets apps publish \(1024-65535/);
    await refusedPolicy((eu) => ({ network: { ...eu.network, egress: ['internet'] } }), /asks to reach the internet .* does not allow/);

    // A runtime failure half-way (the second container cannot be created): everything created is removed.
    const twoUnits = { ...manifest, executionUnits: [manifest.executionUnits[0]!, { ...manifest.executionUnits[0]!, name: 'second', network: { mode: 'none' as const, egress: [] } }] };
    let creates = 0;
    const failing: ContainerRuntime = {
      ...runtime,
      createContainer: async (spec) => {
        if (++creates === 2) throw new Error('injected: no more containers');
        return runtime.createContainer(spec);
      },
    };
    await assert.rejects(createDeployment(failing, { uuid, manifest: twoUnits, openImage, policy: { name: HOME, allowedCapabilities: [], owner: OWNER, ...DEFAULT_EXEC_ENV_ISOLATION } }), /injected: no more containers/);
    assert.deepEqual(await berthObjects(runtime), { containers: 0, volumes: 0, networks: 0 }, 'nothing left behind');
    assert.equal(spawnSync('docker', ['image', 'inspect', built.imageId], { stdio: 'ignore' }).status, 1, 'the image it loaded is gone too');
  } finally {
    await cleanupAll(runtime);
    await rm(work, { recursive: true, force: true });
  }
});
