// The sample apps in catalog/ (parental-control with an update and a broken release, energy-monitor): their
// images are built from the repository's own sources plus Debian's static busybox, without Docker or a
// registry, then packed, signed by the sample publisher and published. The demo and the tests use this.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { once } from 'node:events';
import { packApp } from '../package/package-writer.ts';
import { publishPackage } from '../publisher/publish-package.ts';
import { writeDockerArchive } from './docker-archive.ts';
import type { LayerEntry } from './docker-archive.ts';

export const SAMPLE_VENDOR = 'berth-samples.example';

/** Each sample: its source folder under catalog/ and the manifest file of one release. */
export const SAMPLE_RELEASES = [
  { app: 'parental-control', manifest: 'app.json' },
  { app: 'parental-control', manifest: 'app-1.1.0.json' },
  { app: 'parental-control', manifest: 'app-1.2.0.json' },
  { app: 'energy-monitor', manifest: 'app.json' },
] as const;

// The busybox applets the sample scripts call, linked into /bin.
const APPLETS = ['sh', 'httpd', 'sed', 'tr', 'grep', 'cat', 'cp', 'date', 'echo', 'mkdir', 'od', 'mv', 'wc', 'sleep', 'printf', 'tail', 'head', 'ls', 'env', 'id', 'rm'];

export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export function findStaticBusybox(): string {
  const found = BUSYBOX_CANDIDATES.find((path) => existsSync(path));
  if (!found) throw new Error('the sample images need a static busybox: apt-get install -y busybox-static');
  return found;
}

/** Deterministic incompressible bytes (sha256 in counter mode), for sample images of a given size. */
async function writePadding(path: string, bytes: number, seed: string): Promise<void> {
  const out = createWriteStream(path);
  let written = 0;
  let counter = 0;
  while (written < bytes) {
    const block = Buffer.allocUnsafe(Math.min(1024 * 1024, bytes - written));
    for (let offset = 0; offset < block.length; counter++) {
      offset += createHash('sha256').update(`${seed}:${counter}`).digest().copy(block, offset);
    }
    written += block.length;
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function appFiles(appDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else if (!/^app(-[\w.]+)?\.json$/.test(name)) out.push(relative(appDir, path));
    }
  };
  await walk(appDir);
  return out;
}

export interface BuiltSample {
  name: string;
  version: string;
  imagePath: string;
  packagePath: string;
  imageId: string;
}

export async function buildSampleRelease(options: {
  catalogSourceDir: string;
  app: string;
  manifestFile: string;
  outDir: string;
  busybox: string;
  paddingBytes?: number;
}): Promise<BuiltSample> {
  const appDir = join(options.catalogSourceDir, options.app);
  const manifest = JSON.parse(await readFile(join(appDir, options.manifestFile), 'utf8')) as {
    name: string;
    version: string;
    executionUnits: { command: string[] }[];
  };
  await mkdir(options.outDir, { recursive: true });
  const entries: LayerEntry[] = [
    { type: 'directory', path: 'bin/', mode: 0o755 },
    { type: 'file-from', path: 'bin/busybox', mode: 0o755, source: options.busybox },
    ...APPLETS.map((applet): LayerEntry => ({ type: 'symlink', path: `bin/${applet}`, target: 'busybox' })),
    { type: 'directory', path: 'etc/', mode: 0o755 },
    { type: 'file', path: 'etc/passwd', mode: 0o644, content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/data:/bin/sh\n' },
    { type: 'file', path: 'etc/group', mode: 0o644, content: 'root:x:0:\napp:x:1000:\n' },
    // A fresh named volume takes the ownership of the image's folder: the app (uid 1000) can write /data.
    { type: 'directory', path: 'data/', mode: 0o755, uid: 1000, gid: 1000 },
    { type: 'directory', path: 'tmp/', mode: 0o1777 },
    { type: 'directory', path: 'app/', mode: 0o755 },
    { type: 'file', path: 'app/VERSION', mode: 0o644, content: `${manifest.version}\n` },
  ];
  const madeDirs = new Set(['app']);
  for (const file of await appFiles(appDir)) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `app/${parts.slice(0, i).join('/')}`;
      if (!madeDirs.has(dir)) {
        madeDirs.add(dir);
        entries.push({ type: 'directory', path: `${dir}/`, mode: 0o755 });
      }
    }
    const executable = file.endsWith('.sh') || file.includes('cgi-bin/');
    entries.push({ type: 'file-from', path: `app/${file}`, mode: executable ? 0o755 : 0o644, source: join(appDir, file) });
  }
  const padding = join(options.outDir, `.${manifest.name}-${manifest.version}.padding`);
  if (options.paddingBytes) {
    await writePadding(padding, options.paddingBytes, `${manifest.name}-${manifest.version}`);
    entries.push({ type: 'directory', path: 'app/assets/', mode: 0o755 }, { type: 'file-from', path: 'app/assets/padding.bin', mode: 0o644, source: padding });
  }
  const suffix = options.paddingBytes ? `-${Math.round(options.paddingBytes / 1e6)}mb` : '';
  const imagePath = join(options.outDir, `${manifest.name}-${manifest.version}${suffix}.image.tar`);
  const packagePath = join(options.outDir, `${manifest.name}-${manifest.version}${suffix}.berth`);
  try {
    const { imageId } = await writeDockerArchive({
      outPath: imagePath,
      repoTag: `berth-samples/${manifest.name}:${manifest.version}`,
      entries,
      config: {
        cmd: manifest.executionUnits[0]!.command,
        env: ['PATH=/bin'],
        user: '1000:1000',
        workingDir: '/app',
        labels: { 'org.opencontainers.image.title': manifest.name, 'org.opencontainers.image.version': manifest.version },
      },
    });
    await rm(packagePath, { force: true });
    await packApp({ manifest, imagePath, outPath: packagePath });
    return { name: manifest.name, version: manifest.version, imagePath, packagePath, imageId };
  } finally {
    await rm(padding, { force: true });
  }
}

export async function buildSamples(options: { catalogSourceDir: string; outDir: string; busybox?: string; paddingBytes?: number }): Promise<BuiltSample[]> {
  const busybox = options.busybox ?? findStaticBusybox();
  const built: BuiltSample[] = [];
  for (const release of SAMPLE_RELEASES) {
    built.push(
      await buildSampleRelease({
        catalogSourceDir: options.catalogSourceDir,
        app: release.app,
        manifestFile: release.manifest,
        outDir: options.outDir,
        busybox,
        ...(options.paddingBytes ? { paddingBytes: options.paddingBytes } : {}),
      }),
    );
  }
  return built;
}

export async function publishSamples(options: { catalogUrl: string; privateKeyPem: string; samples: readonly BuiltSample[] }): Promise<Map<string, string>> {
  const urls = new Map<string, string>();
  for (const sample of options.samples) {
    const outcome = await publishPackage({ catalogUrl: options.catalogUrl, packageFile: sample.packagePath, privateKeyPem: options.privateKeyPem });
    urls.set(`${sample.name}@${sample.version}`, outcome.url);
  }
  return urls;
}
