// The sample apps as a user meets them: published to a catalog by the same code `npm run samples` and the demo
// use, verified through the gateway client, their images well-formed `docker save` archives that a real Docker
// loads and runs under berth's hardening (read-only root, no capabilities, uid 1000), doing what they say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import type { Header } from 'tar-stream';
import { startSampleCatalog } from '../../../src/catalog/samples/sample-catalog.ts';
import { BUSYBOX_CANDIDATES } from '../../../src/catalog/samples/sample-apps.ts';
import { createCatalogClient } from '../../../src/catalog/client/catalog-client.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ci = process.env['CI'] === 'true';
const hasBusybox = BUSYBOX_CANDIDATES.some((path) => existsSync(path));
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const LABEL = 'io.berth.test=samples';

async function tarMembers(bytes: Buffer): Promise<Map<string, { header: Header; data: Buffer }>> {
  const members = new Map<string, { header: Header; data: Buffer }>();
  const archive = extract();
  Readable.from([bytes]).pipe(archive);
  for await (const entry of archive) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    members.set(entry.header.name, { header: entry.header, data: Buffer.concat(chunks) });
  }
  return members;
}

test('sample apps: published, verified by a gateway, well-formed images, and rebuilt byte for byte', { skip: !hasBusybox && !ci ? 'busybox-static not installed (apt-get install -y busybox-static)' : false }, async () => {
  assert.ok(hasBusybox, 'CI needs busybox-static (apt-get install -y busybox-static)');
  const work = await mkdtemp(join(tmpdir(), 'berth-samples-'));
  try {
    let catalog = await startSampleCatalog({ dir: work, catalogSourceDir: join(root, 'catalog') });
    assert.deepEqual([...catalog.packages.keys()].sort(), ['energy-monitor@1.0.0', 'parental-control@1.0.0', 'parental-control@1.1.0', 'parental-control@1.2.0']);
    const client = createCatalogClient({ url: catalog.url, rootFile: catalog.rootFile, stateDir: join(work, 'gateway'), berthVersion: '0.1.0' });
    const resolved = await client.resolve(catalog.packages.get('parental-control@1.0.0')!);
    assert.equal(resolved.custom.executionUnits[0]!.memoryKiB, 16384);
    await mkdir(join(work, 'unpacked'));
    const verified = await client.download(resolved, { workDir: join(work, 'unpacked') });
    assert.deepEqual(verified.manifest.executionUnits[0]!.network, { mode: 'published', ports: [{ container: 8080, host: 18080, protocol: 'tcp' }], egress: [] });
    assert.equal(verified.manifest.executionUnits[0]!.user, '1000:1000', 'the sample runs as the uid that owns its /data');

    const image = await tarMembers(await readFile(verified.imagePath));
    const index = JSON.parse(image.get('manifest.json')!.data.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    assert.deepEqual(index[0]!.RepoTags, ['berth-samples/parental-control:1.0.0']);
    const config = JSON.parse(image.get(index[0]!.Config)!.data.toString()) as { config: { User: string; Cmd: string[] }; rootfs: { diff_ids: string[] } };
    const layer = image.get(index[0]!.Layers[0]!)!.data;
    assert.equal(config.rootfs.diff_ids[0], `sha256:${createHash('sha256').update(layer).digest('hex')}`, 'diff_id is the layer hash');
    assert.equal(config.config.User, '1000:1000');
    assert.deepEqual(config.config.Cmd, ['/bin/sh', '/app/run.sh']);
    const files = await tarMembers(layer);
    assert.equal(files.get('bin/busybox')!.header.mode & 0o111, 0o111, 'busybox is executable');
    assert.equal(files.get('bin/httpd')!.header.linkname, 'busybox');
    assert.equal(files.get('app/VERSION')!.data.toString(), '1.0.0\n');
    assert.equal(files.get('app/www/cgi-bin/check')!.header.mode & 0o111, 0o111);
    assert.equal(files.get('data/')!.header.uid, 1000, '/data belongs to the app user');

    // A second run rebuilds everything: identical bytes, so nothing is published again.
    const versionBefore = (await (await fetch(`${catalog.url}/metadata/timestamp.json`)).json()) as { signed: { version: number } };
    await catalog.close();
    catalog = await startSampleCatalog({ dir: work, catalogSourceDir: join(root, 'catalog') });
    const versionAfter = (await (await fetch(`${catalog.url}/metadata/timestamp.json`)).json()) as { signed: { version: number } };
    assert.equal(versionAfter.signed.version, versionBefore.signed.version, 'rebuilt packages are byte-identical');
    await catalog.close();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function cleanupDocker(): void {
  for (const id of docker('ps', '-aq', '--filter', `label=${LABEL}`).split('\n').filter(Boolean)) docker('rm', '-f', id);
  for (const id of docker('volume', 'ls', '-q', '--filter', `label=${LABEL}`).split('\n').filter(Boolean)) docker('volume', 'rm', '-f', id);
  for (const tag of docker('images', '--format', '{{.Repository}}:{{.Tag}}', 'berth-samples/*').split('\n').filter(Boolean)) docker('rmi', '-f', tag);
}

test('sample images run on a real Docker under berth hardening and behave', { skip: !dockerWorks && !ci ? 'Docker Engine not running' : false }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const work = await mkdtemp(join(tmpdir(), 'berth-samples-docker-'));
  cleanupDocker();
  try {
    const catalog = await startSampleCatalog({ dir: work, catalogSourceDir: join(root, 'catalog') });
    await catalog.close();
    const pkg = (name: string) => join(work, 'packages', `${name}.image.tar`);
    for (const name of ['parental-control-1.0.0', 'parental-control-1.2.0', 'energy-monitor-1.0.0']) docker('load', '-i', pkg(name));
    const hardening = ['--label', LABEL, '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--user', '1000:1000'];
    docker('volume', 'create', '--label', LABEL, 'berth-test-pc-data');
    docker('volume', 'create', '--label', LABEL, 'berth-test-em-data');

    docker('run', '-d', '--name', 'berth-test-pc', ...hardening, '-v', 'berth-test-pc-data:/data', '-p', '127.0.0.1:18980:8080', 'berth-samples/parental-control:1.0.0');
    docker('run', '-d', '--name', 'berth-test-em', ...hardening, '-e', 'INTERVAL_SECONDS=1', '-v', 'berth-test-em-data:/data', 'berth-samples/energy-monitor:1.0.0');
    const ask = async (path: string): Promise<string> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return (await (await fetch(`http://127.0.0.1:18980${path}`)).text()).trim();
        } catch (error) {
          if (attempt > 50) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    assert.equal(await ask('/cgi-bin/check?host=www.gambling.example'), 'block', 'subdomains of a listed domain are blocked');
    assert.equal(await ask('/cgi-bin/check?host=school.example'), 'allow');
    assert.equal(await ask('/cgi-bin/block?host=school.example'), 'blocked school.example');
    assert.equal(await ask('/cgi-bin/check?host=school.example'), 'block', 'runtime additions are enforced (and kept in /data)');
    assert.match(await ask('/cgi-bin/check?host=bad;rm'), /give \?host=/);
    await new Promise((r) => setTimeout(r, 2500));
    assert.match(docker('logs', 'berth-test-pc'), /block www\.gambling\.example/);
    assert.match(docker('logs', 'berth-test-em'), /meter: \d+ W, total \d+ Wh/);

    const crash = spawnSync('docker', ['run', '--name', 'berth-test-crash', ...hardening, 'berth-samples/parental-control:1.2.0'], { encoding: 'utf8' });
    assert.equal(crash.status, 3, `the broken release exits with code 3 (${crash.stderr})`);
    assert.match(crash.stderr, /cannot open filter database/);
  } finally {
    cleanupDocker();
    await rm(work, { recursive: true, force: true });
  }
});
