// A small `docker save` archive for network and image tests, built offline from Debian's static busybox: `sh`,
// `nc`, `id`, `sleep` and a few more, with the RepoTags and VOLUMEs a test wants written into it (a hostile
// package's archive may carry any). `marker` changes the image's content, so two images get two IDs.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { pack } from 'tar-stream';
import type { Pack } from 'tar-stream';
import { findStaticBusybox } from '../../src/catalog/samples/sample-apps.ts';

const APPLETS = ['sh', 'nc', 'id', 'sleep', 'cat', 'echo', 'true'];

async function tarOf(fill: (archive: Pack) => void): Promise<Buffer> {
  const archive = pack();
  fill(archive);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface ProbeImage {
  path: string;
  /** The image ID Docker will report (sha256 of the config). */
  imageId: string;
}

export async function writeProbeImage(path: string, options: { repoTags?: string[]; volumes?: string[]; marker?: string } = {}): Promise<ProbeImage> {
  const busybox = await readFile(findStaticBusybox());
  const epoch = new Date(0);
  const layer = await tarOf((archive) => {
    archive.entry({ name: 'bin/', type: 'directory', mode: 0o755, mtime: epoch });
    archive.entry({ name: 'bin/busybox', mode: 0o755, mtime: epoch }, busybox);
    for (const applet of APPLETS) archive.entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox', mtime: epoch });
    archive.entry({ name: 'tmp/', type: 'directory', mode: 0o1777, mtime: epoch });
    archive.entry({ name: 'marker', mode: 0o644, mtime: epoch }, Buffer.from(options.marker ?? 'probe'));
  });
  const diffId = createHash('sha256').update(layer).digest('hex');
  const config = Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sleep', '1000'], Env: ['PATH=/bin'], Volumes: Object.fromEntries((options.volumes ?? []).map((v) => [v, {}])) },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    }),
  );
  const imageId = createHash('sha256').update(config).digest('hex');
  const manifest = Buffer.from(JSON.stringify([{ Config: `${imageId}.json`, RepoTags: options.repoTags ?? [], Layers: [`${diffId}/layer.tar`] }]));
  await writeFile(
    path,
    await tarOf((archive) => {
      archive.entry({ name: `${diffId}/layer.tar`, mtime: epoch }, layer);
      archive.entry({ name: `${imageId}.json`, mtime: epoch }, config);
      archive.entry({ name: 'manifest.json', mtime: epoch }, manifest);
    }),
  );
  return { path, imageId: `sha256:${imageId}` };
}
