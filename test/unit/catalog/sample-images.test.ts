// scripts/build-sample-images.mjs as its users run it: the archives it writes are `docker save` archives whose
// manifest, config and layer agree, whose layer holds what the apps need to run as uid 1000 on a read-only root,
// that come out byte-identical on every build, and that --size-mb makes exactly as large as asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { extract } from 'tar-stream';
import type { Header } from 'tar-stream';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const script = join(root, 'scripts', 'build-sample-images.mjs');
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((path) => existsSync(path));
const ci = process.env['CI'] === 'true';
const skip = busybox === undefined && !ci ? 'busybox-static is not installed (apt-get install -y busybox-static)' : false;
const MIB = 1024 * 1024;

interface Member {
  header: Header;
  data: Buffer;
}

interface SaveManifest {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

interface ImageConfig {
  architecture: string;
  os: string;
  config: { Cmd: string[]; Env: string[]; User: string; WorkingDir: string; Labels: Record<string, string> };
  rootfs: { type: string; diff_ids: string[] };
  history: unknown[];
}

interface AppManifest {
  name: string;
  version: string;
  executionUnits: { command: string[]; env?: Record<string, string> }[];
}

function build(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function buildOk(args: string[], env: Record<string, string> = {}): string {
  const result = build(args, env);
  assert.equal(result.status, 0, `build-sample-images ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function tarMembers(source: Readable): Promise<Map<string, Member>> {
  const members = new Map<string, Member>();
  const archive = extract();
  source.pipe(archive);
  for await (const entry of archive) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    assert.ok(!members.has(entry.header.name), `${entry.header.name} appears once`);
    members.set(entry.header.name, { header: entry.header, data: Buffer.concat(chunks) });
  }
  return members;
}

/** Opens an archive the way `docker load` reads it: manifest.json → config → layer. */
async function openImage(path: string): Promise<{ manifest: SaveManifest[]; configBytes: Buffer; config: ImageConfig; layerBytes: Buffer; layer: Map<string, Member> }> {
  const outer = await tarMembers(createReadStream(path));
  const manifestMember = outer.get('manifest.json');
  assert.ok(manifestMember, `${path} has a manifest.json`);
  const manifest = JSON.parse(manifestMember.data.toString()) as SaveManifest[];
  assert.equal(manifest.length, 1, 'one image per archive');
  const configMember = outer.get(manifest[0]!.Config);
  assert.ok(configMember, `the config ${manifest[0]!.Config} is in the archive`);
  assert.equal(manifest[0]!.Layers.length, 1);
  const layerMember = outer.get(manifest[0]!.Layers[0]!);
  assert.ok(layerMember, `the layer ${manifest[0]!.Layers[0]!} is in the archive`);
  return {
    manifest,
    configBytes: configMember.data,
    config: JSON.parse(configMember.data.toString()) as ImageConfig,
    layerBytes: layerMember.data,
    layer: await tarMembers(Readable.from([layerMember.data])),
  };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

async function sampleManifests(): Promise<AppManifest[]> {
  const manifests: AppManifest[] = [];
  for (const app of await readdir(join(root, 'catalog'))) {
    const dir = join(root, 'catalog', app);
    if (!(await stat(dir)).isDirectory()) continue;
    for (const file of (await readdir(dir)).filter((name) => /^app(-[\w.+-]+)?\.json$/.test(name))) {
      manifests.push(JSON.parse(await readFile(join(dir, file), 'utf8')) as AppManifest);
    }
  }
  return manifests;
}

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sample-images-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('every sample release becomes a docker save archive whose manifest, config and layer agree', { skip }, async () => {
  assert.ok(busybox, 'CI needs busybox-static (apt-get install -y busybox-static)');
  const busyboxBytes = await readFile(busybox);
  const releases = await sampleManifests();
  assert.ok(releases.length >= 4, 'parental-control 1.0.0, 1.1.0, the crashing 1.2.0 and energy-monitor');
  await withTempDir(async (dir) => {
    const stdout = buildOk(['--out-dir', dir]);
    for (const release of releases) {
      const label = `${release.name} ${release.version}`;
      const tag = `berth-samples/${release.name}:${release.version}`;
      assert.match(stdout, new RegExp(`${tag.replace(/[.+]/g, '\\$&')}\\s.*\\d MiB`), `the output lists ${tag} with its size`);
      const image = await openImage(join(dir, `${release.name}-${release.version}.tar`));

      assert.deepEqual(image.manifest[0]!.RepoTags, [tag]);
      assert.equal(image.manifest[0]!.Config, `${sha256(image.configBytes)}.json`, `${label}: the config is named by its hash (the image ID)`);
      assert.deepEqual(image.config.rootfs, { type: 'layers', diff_ids: [`sha256:${sha256(image.layerBytes)}`] }, `${label}: diff_id is the layer's sha256`);
      assert.equal(image.config.os, 'linux');
      assert.equal(image.config.architecture, process.arch === 'arm64' ? 'arm64' : 'amd64');
      const unit = release.executionUnits[0]!;
      assert.deepEqual(image.config.config.Cmd, unit.command, `${label}: the image runs the first execution unit's command`);
      assert.equal(image.config.config.User, '1000:1000');
      assert.equal(image.config.config.Labels['org.opencontainers.image.version'], release.version);
      for (const [key, value] of Object.entries(unit.env ?? {})) assert.ok(image.config.config.Env.includes(`${key}=${value}`), `${label}: env ${key}`);
      assert.ok(image.config.history.length > 0);

      const files = image.layer;
      const bin = files.get('bin/busybox');
      assert.ok(bin, `${label}: /bin/busybox`);
      assert.equal(bin.header.type, 'file');
      assert.equal((bin.header.mode ?? 0) & 0o111, 0o111, 'busybox is executable');
      assert.ok(bin.data.equals(busyboxBytes), 'it is the installed static busybox');
      assert.equal(files.get('bin/sh')?.header.type, 'symlink');
      assert.equal(files.get('bin/sh')?.header.linkname, 'busybox');
      const program = files.get(unit.command[unit.command.length - 1]!.slice(1));
      assert.ok(program, `${label}: the command's script ${unit.command.join(' ')} is in the image`);
      assert.equal((program.header.mode ?? 0) & 0o111, 0o111, `${label}: its script is executable`);
      assert.equal(files.get('app/VERSION')?.data.toString(), `${release.version}\n`);
      const data = files.get('data/');
      assert.equal(data?.header.type, 'directory', `${label}: /data`);
      assert.equal(data.header.uid, 1000, '/data belongs to the app user, so a fresh volume does too');
      assert.equal(data.header.gid, 1000);
      assert.equal(files.get('tmp/')?.header.mode, 0o1777);
      assert.match(files.get('etc/passwd')?.data.toString() ?? '', /^app:x:1000:1000:/m);
      assert.match(files.get('etc/group')?.data.toString() ?? '', /^app:x:1000:/m);
      assert.ok(![...files.keys()].some((name) => /(^|\/)app(-[^/]*)?\.json$/.test(name)), 'the manifests stay out of the image');
      const names = [...files.keys()];
      assert.deepEqual(names, [...names].sort(), 'entries are sorted');
      assert.ok([...files.values()].every((member) => member.header.mtime?.getTime() === 0 && member.header.uname === '' && member.header.gname === ''), 'no time stamps or user names from the build machine');
    }
    const pc = await openImage(join(dir, 'parental-control-1.0.0.tar'));
    for (const cgi of ['check', 'block', 'index.cgi']) assert.equal((pc.layer.get(`app/www/cgi-bin/${cgi}`)?.header.mode ?? 0) & 0o111, 0o111, `CGI ${cgi} is executable (httpd runs only those)`);
  });
});

test('building twice gives identical bytes; SOURCE_DATE_EPOCH sets the time stamps', { skip }, async () => {
  assert.ok(busybox, 'CI needs busybox-static (apt-get install -y busybox-static)');
  await withTempDir(async (dir) => {
    buildOk(['--only', 'parental-control@1.1.0', '--out', join(dir, 'first.tar')]);
    buildOk(['--only', 'parental-control@1.1.0', '--out', join(dir, 'second.tar')]);
    const first = await readFile(join(dir, 'first.tar'));
    assert.ok(first.equals(await readFile(join(dir, 'second.tar'))), 'same bytes, hence the same image ID');

    buildOk(['--only', 'parental-control@1.1.0', '--out', join(dir, 'dated.tar')], { SOURCE_DATE_EPOCH: '1700000000' });
    const dated = await openImage(join(dir, 'dated.tar'));
    assert.ok([...dated.layer.values()].every((member) => member.header.mtime?.getTime() === 1700000000_000));
    assert.ok(!first.equals(await readFile(join(dir, 'dated.tar'))));
    assert.deepEqual(await readdir(dir), ['dated.tar', 'first.tar', 'second.tar'], 'no temporary files left behind');
  });
});

test('--size-mb pads the image to exactly the size asked, with incompressible bytes', { skip }, async () => {
  assert.ok(busybox, 'CI needs busybox-static (apt-get install -y busybox-static)');
  await withTempDir(async (dir) => {
    const out = join(dir, 'big.tar');
    const stdout = buildOk(['--only', 'energy-monitor', '--size-mb', '10', '--out', out]);
    assert.match(stdout, /10\.0 MiB/);
    assert.equal((await stat(out)).size, 10 * MIB);
    const image = await openImage(out);
    const padding = image.layer.get('app/assets/padding.bin');
    assert.ok(padding, '/app/assets/padding.bin');
    assert.ok(padding.data.length > 7 * MIB);
    const sample = padding.data.subarray(0, MIB);
    assert.ok(deflateRawSync(sample, { level: 9 }).length > 0.99 * sample.length, 'the padding does not compress');
    assert.equal(image.config.rootfs.diff_ids[0], `sha256:${sha256(image.layerBytes)}`);

    // Without --out the padded image gets its own name next to the plain one.
    buildOk(['--only', 'energy-monitor', '--size-mb', '3', '--out-dir', dir]);
    assert.equal((await stat(join(dir, 'energy-monitor-1.0.0-3mb.tar'))).size, 3 * MIB);
  });
});

test('refuses what it cannot do and says why', { skip }, async () => {
  await withTempDir(async (dir) => {
    const several = build(['--out', join(dir, 'x.tar')]);
    assert.equal(several.status, 2);
    assert.match(several.stderr, /--out names one archive.*--only/);

    const unknown = build(['--only', 'no-such-app', '--out-dir', dir]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /no such sample release.*parental-control@1\.0\.0/);

    // node itself is a dynamically linked executable: not something an image without a C library can run.
    const dynamic = build(['--only', 'energy-monitor', '--busybox', process.execPath, '--out-dir', dir]);
    assert.equal(dynamic.status, 2);
    assert.match(dynamic.stderr, /dynamically linked.*apt-get install -y busybox-static/);

    const tooSmall = build(['--only', 'energy-monitor', '--size-mb', '1', '--out-dir', dir]);
    assert.equal(tooSmall.status, 2);
    assert.match(tooSmall.stderr, /without padding/);
    assert.deepEqual(await readdir(dir), [], 'nothing written');
  });
});
