// A PackageCatalog (src/smm/package-catalog.ts) that serves real packages without HTTP or TUF: each is packed by
// berth's own package writer from a `docker save` archive written without Docker, and "downloaded" by berth's own
// package reader into the operation's work folder, as the real catalog client does after verifying the bytes.
// The catalog's own tests cover the signing and the transport; these tests are about what SMM does with a package.
import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import type { ResolvedPackage, VerifiedPackage, DownloadOptions } from '../../src/catalog/client/catalog-client.ts';
import { packApp } from '../../src/catalog/package/package-writer.ts';
import { readPackageFile } from '../../src/catalog/package/package-reader.ts';
import { writeDockerArchive } from '../../src/catalog/samples/docker-archive.ts';
import { targetCustomOf, targetPathOf } from '../../src/catalog/target-custom.ts';
import { PackageUnavailable } from '../../src/smm/package-catalog.ts';
import type { PackageCatalog } from '../../src/smm/package-catalog.ts';

export const CATALOG_URL = 'https://catalog.test';
export const FAKE_VENDOR = 'fake.example';

/** What the fake runtime's onStart handler (smm-fake-fixture.ts) makes a unit do, from its command. */
export const CRASH_AT_START = '--crash-at-start';

export interface FakeUnit {
  name: string;
  command?: string[];
  autoStart?: boolean;
  memoryKiB?: number;
  diskKiB?: number;
  network?: { mode: 'none' | 'isolated' };
  volumes?: { name: string; path: string; retain?: boolean }[];
}

export interface FakeAppRelease {
  name: string;
  version: string;
  units: FakeUnit[];
  /** The image archive cannot be loaded (a layer whose digest is not the one its config names). */
  brokenImage?: boolean;
}

interface Stored {
  path: string;
  resolved: ResolvedPackage;
}

/** An archive Docker refuses: well-formed, but the layer is not the one the config's diff_ids name. */
async function writeBrokenArchive(path: string): Promise<void> {
  const layer = Buffer.from('not the layer the config names');
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const archive = pack();
  archive.entry({ name: 'manifest.json', mtime: new Date(0) }, JSON.stringify([{ Config: configName, RepoTags: [], Layers: ['layer/layer.tar'] }]));
  archive.entry({ name: configName, mtime: new Date(0) }, config);
  archive.entry({ name: 'layer/layer.tar', mtime: new Date(0) }, layer);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  await writeFile(path, Buffer.concat(chunks));
}

export class FakePackageCatalog implements PackageCatalog {
  readonly #dir: string;
  readonly #packages = new Map<string, Stored>();
  /** URLs resolved and downloaded, in order. */
  readonly resolved: string[] = [];
  readonly downloaded: string[] = [];

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Packs a release and returns the URL an InstallDU or Update names. */
  async add(release: FakeAppRelease): Promise<string> {
    const dir = join(this.#dir, `${release.name}-${release.version}`);
    await mkdir(dir, { recursive: true });
    const imagePath = join(dir, 'image.tar');
    if (release.brokenImage) await writeBrokenArchive(imagePath);
    else {
      await writeDockerArchive({
        outPath: imagePath,
        repoTag: `${release.name}:${release.version}`,
        entries: [{ type: 'file', path: 'release', mode: 0o644, content: `${release.name} ${release.version}\n` }],
        config: { cmd: ['/bin/app'], env: [], user: '', workingDir: '/', labels: {} },
      });
    }
    const manifest = {
      name: release.name,
      vendor: FAKE_VENDOR,
      version: release.version,
      description: `${release.name} ${release.version}`,
      requires: { berth: '>=0.0.0' },
      executionUnits: release.units.map((unit) => ({
        name: unit.name,
        command: unit.command ?? ['/bin/app'],
        autoStart: unit.autoStart ?? true,
        resources: { memoryKiB: unit.memoryKiB ?? 8192, cpuPercent: 10, diskKiB: unit.diskKiB ?? 4096 },
        network: unit.network ?? { mode: 'none' },
        volumes: unit.volumes ?? [],
      })),
    };
    const packagePath = join(dir, `${release.name}-${release.version}.berth`);
    const packed = await packApp({ manifest, imagePath, outPath: packagePath });
    const targetPath = targetPathOf({ vendor: FAKE_VENDOR, name: release.name, version: release.version });
    const url = `${CATALOG_URL}/targets/${targetPath}`;
    const length = (await stat(packagePath)).size;
    this.#packages.set(url, {
      path: packagePath,
      resolved: { url, targetPath, length, hashes: { sha256: packed.packageSha256 }, custom: targetCustomOf(packed.manifest, packed.packageSize, packed.unpackedSize), downloadUrl: url },
    });
    return url;
  }

  resolve(url: string): Promise<ResolvedPackage> {
    this.resolved.push(url);
    const stored = this.#packages.get(url);
    if (!stored) return Promise.reject(new PackageUnavailable(7036, `${url}: no signed target of that name in the catalog`));
    return Promise.resolve(stored.resolved);
  }

  async download(resolved: ResolvedPackage, options: DownloadOptions): Promise<VerifiedPackage> {
    this.downloaded.push(resolved.url);
    const stored = this.#packages.get(resolved.url);
    if (!stored) throw new PackageUnavailable(7036, `${resolved.url}: no signed target of that name in the catalog`);
    options.onProgress?.(resolved.length, resolved.length);
    const read = await readPackageFile(stored.path, { workDir: options.workDir, maxUnpackedBytes: resolved.custom.unpackedSize });
    return { resolved, manifest: read.manifest, imagePath: read.imagePath, unpackedSize: read.unpackedSize };
  }
}
