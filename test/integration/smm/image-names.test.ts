// Images by berth's own names, on the real Docker Engine: a package whose archive carries the tag of an image the
// host uses leaves that tag where it was; a failed install of an image the host already had removes nothing of
// it (named or not); an image's VOLUMEs must be the unit's own data volumes, or the package is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerRuntime } from '../../../src/runtime/docker-runtime.ts';
import type { ContainerRuntime } from '../../../src/runtime/container-runtime.ts';
import { parsePackageManifest } from '../../../src/catalog/package/manifest.ts';
import { createDeployment, DeploymentError, removeDeployment } from '../../../src/smm/deployment.ts';
import type { ExecEnvPolicy } from '../../../src/smm/deployment.ts';
import { DEFAULT_EXEC_ENV_ISOLATION } from '../../../src/smm/exec-env-policy.ts';
import { writeProbeImage } from '../../helpers/probe-image.ts';
import { removeImageNamesOf } from '../../helpers/berth-images.ts';

const ci = process.env['CI'] === 'true';
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const RUN = Math.random().toString(36).slice(2, 8);
const OWNER = `os::test-images-${RUN}`;
const ENV = `images-${RUN}`;
const POLICY: ExecEnvPolicy = { name: ENV, owner: OWNER, allowedCapabilities: [], ...DEFAULT_EXEC_ENV_ISOLATION };
const HOST_TAG = `berth-test/host-${RUN}:1`;

const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8' });
/** The image's names, or undefined when it is gone. */
function tagsOf(image: string): string[] | undefined {
  const result = docker('image', 'inspect', '-f', '{{json .RepoTags}}', image);
  return result.status === 0 ? (JSON.parse(result.stdout) as string[]) : undefined;
}
const idOf = (image: string): string => docker('image', 'inspect', '-f', '{{.Id}}', image).stdout.trim();

function manifest(volumes: { name: string; path: string }[] = []) {
  return parsePackageManifest({
    name: 'impostor',
    vendor: 'images.test',
    version: '1.0.0',
    requires: { berth: '>=0.1.0' },
    executionUnits: [{ name: 'main', command: ['/bin/sleep', '1000'], resources: { memoryKiB: 8192, cpuPercent: 5, diskKiB: 1024 }, volumes }],
    image: { file: 'image.tar', size: 1, sha256: '0'.repeat(64) },
  });
}

const UUID = '0c0c0c0c-0000-5000-8000-000000000000';
const berthObjects = async (runtime: ContainerRuntime) => ({
  containers: (await runtime.listContainers(`io.berth.owner=${OWNER}`)).length,
  volumes: (await runtime.listVolumes(`io.berth.owner=${OWNER}`)).length,
});

test("images: the archive's own names are never applied; what the host had stays; VOLUMEs must be declared", { skip: !dockerWorks && !ci ? 'Docker Engine not running' : false, timeout: 120_000 }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const runtime = createDockerRuntime();
  const work = await mkdtemp(join(tmpdir(), 'berth-images-'));
  const hostImages: string[] = [];
  try {
    // The host's own image, loaded by its administrator with its name.
    const host = await writeProbeImage(join(work, 'host.tar'), { repoTags: [HOST_TAG], marker: `host-${RUN}` });
    assert.equal(docker('load', '-q', '-i', host.path).status, 0);
    hostImages.push(host.imageId);
    assert.equal(idOf(HOST_TAG), host.imageId);

    // A package whose archive claims the host's name for another image.
    const impostor = await writeProbeImage(join(work, 'impostor.tar'), { repoTags: [HOST_TAG, `berth-test/other-${RUN}:latest`], marker: `impostor-${RUN}` });
    const installed = await createDeployment(runtime, { uuid: UUID, manifest: manifest(), openImage: () => createReadStream(impostor.path), policy: POLICY });
    assert.equal(installed.imageId, impostor.imageId);
    assert.equal(idOf(HOST_TAG), host.imageId, "the host's name still names the host's image");
    assert.deepEqual(tagsOf(impostor.imageId), [installed.imageName], "the package's image has berth's name only");
    assert.equal(tagsOf(`berth-test/other-${RUN}:latest`), undefined);
    await removeDeployment(runtime, installed, { retainData: false });
    assert.equal(tagsOf(impostor.imageId), undefined, "berth's own image goes with the app");
    assert.deepEqual(tagsOf(host.imageId), [HOST_TAG]);

    // A package that ships the host's very image (same ID) under another name, and fails to install.
    const twin = await writeProbeImage(join(work, 'twin.tar'), { repoTags: [`berth-test/evil-${RUN}:latest`], marker: `host-${RUN}` });
    assert.equal(twin.imageId, host.imageId);
    const failing: ContainerRuntime = { ...runtime, createContainer: () => Promise.reject(new Error('injected: no more containers')) };
    await assert.rejects(createDeployment(failing, { uuid: UUID, manifest: manifest(), openImage: () => createReadStream(twin.path), policy: POLICY }), /injected/);
    assert.deepEqual(tagsOf(host.imageId), [HOST_TAG], 'the image that was there before stays, with its name and no other');

    // An image the host kept without a name (only its ID): used, never named, never removed.
    const unnamed = await writeProbeImage(join(work, 'unnamed.tar'), { marker: `unnamed-${RUN}` });
    assert.equal(docker('load', '-q', '-i', unnamed.path).status, 0);
    hostImages.push(unnamed.imageId);
    const onUnnamed = await createDeployment(runtime, { uuid: UUID, manifest: manifest(), openImage: () => createReadStream(unnamed.path), policy: POLICY });
    assert.equal(onUnnamed.imageName, undefined);
    await assert.rejects(createDeployment(failing, { uuid: '0d0d0d0d-0000-5000-8000-000000000000', manifest: manifest(), openImage: () => createReadStream(unnamed.path), policy: { ...POLICY, name: `${ENV}-b` } }), /injected/);
    await removeDeployment(runtime, onUnnamed, { retainData: false });
    assert.deepEqual(tagsOf(unnamed.imageId), [], 'still there, still without a name');

    // An image that declares a VOLUME the unit does not mount: refused, nothing left (its image neither).
    const withVolume = await writeProbeImage(join(work, 'volume.tar'), { volumes: ['/var/lib/app'], marker: `volume-${RUN}` });
    await assert.rejects(createDeployment(runtime, { uuid: UUID, manifest: manifest(), openImage: () => createReadStream(withVolume.path), policy: POLICY }), (error: unknown) => {
      assert.ok(error instanceof DeploymentError && error.code === 'POLICY', String(error));
      assert.match(error.message, /the image declares VOLUME \/var\/lib\/app, which execution unit main does not mount/);
      return true;
    });
    assert.deepEqual(await berthObjects(runtime), { containers: 0, volumes: 0 });
    assert.equal(tagsOf(withVolume.imageId), undefined);
    // Declared as the unit's data volume: the container has that volume and no anonymous one.
    const declared = await createDeployment(runtime, { uuid: UUID, manifest: manifest([{ name: 'state', path: '/var/lib/app' }]), openImage: () => createReadStream(withVolume.path), policy: POLICY });
    const mounts = JSON.parse(docker('inspect', '-f', '{{json .Mounts}}', declared.units[0]!.containerId).stdout) as { Name?: string; Destination: string }[];
    assert.deepEqual(mounts.map((m) => [m.Name, m.Destination]), [[declared.volumes[0]!.name, '/var/lib/app']]);
    await removeDeployment(runtime, declared, { retainData: false });
    assert.deepEqual(await berthObjects(runtime), { containers: 0, volumes: 0 });

    // An archive berth does not load (here: compressed): the package is refused as not for this ExecEnv (7225).
    await writeFile(join(work, 'gzipped.tar'), gzipSync(await readFile(withVolume.path)));
    await assert.rejects(createDeployment(runtime, { uuid: UUID, manifest: manifest(), openImage: () => createReadStream(join(work, 'gzipped.tar')), policy: POLICY }), (error: unknown) => {
      assert.ok(error instanceof DeploymentError && error.code === 'IMAGE', String(error));
      assert.match(error.message, /the image of impostor 1\.0\.0 cannot be loaded: the image archive is compressed/);
      return true;
    });
  } finally {
    for (const label of [`io.berth.owner=${OWNER}`]) {
      for (const c of await runtime.listContainers(label)) await runtime.removeContainer(c.id).catch(() => undefined);
      for (const v of await runtime.listVolumes(label)) await runtime.removeVolume(v.name).catch(() => undefined);
    }
    await removeImageNamesOf(runtime, OWNER);
    docker('rmi', HOST_TAG);
    for (const id of hostImages) docker('rmi', id);
    await rm(work, { recursive: true, force: true });
  }
});
