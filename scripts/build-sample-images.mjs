#!/usr/bin/env node
// Builds the sample apps' container images (catalog/<app>/) as `docker save` archives, offline: no Docker, no
// registry. Each image is one layer made of Debian's static busybox, the app's files under /app, an empty /data
// owned by the app user (1000:1000) and a /tmp, so it runs with a read-only root filesystem, no capabilities and
// a non-root user, as berth runs every app.
//
// Usage:
//   node scripts/build-sample-images.mjs [options]
//
//   --only <app>[@<version>]  build only these releases (repeat it, or separate with commas); default: all of
//                             them, i.e. every catalog/<app>/app.json and catalog/<app>/app-<version>.json
//   --out-dir <dir>           where the archives go (default: build/images); each is <name>-<version>.tar
//   --out <file>              the archive's path instead (only when exactly one release is selected)
//   --size-mb <N>             pad the image with /app/assets/padding.bin (deterministic, incompressible bytes) so
//                             the archive is exactly N MiB; the default file name becomes <name>-<version>-<N>mb.tar
//   --repo <prefix>           the image's repository in RepoTags: <prefix>/<name>:<version> (default: berth-samples)
//   --busybox <path>          the static busybox to use (default: /bin/busybox or /usr/bin/busybox, from
//                             Debian's busybox-static; when missing and run as root it is installed with apt-get)
//   -h, --help                this text
//
// Examples:
//   node scripts/build-sample-images.mjs                                     all sample releases
//   node scripts/build-sample-images.mjs --only parental-control@1.1.0       one release
//   node scripts/build-sample-images.mjs --only energy-monitor --size-mb 10  a ~10 MB app for a benchmark
//   node scripts/build-sample-images.mjs --only energy-monitor --size-mb 100 --out build/images/big.tar
//
// Deterministic: every time stamp is SOURCE_DATE_EPOCH (default 0), owners are numeric, entries are sorted and the
// padding comes from a seeded stream, so building twice gives identical bytes (and so the same image ID).
// `docker load -i <archive>` reads them (checked on Docker Engine 20.10: manifest.json is enough, no index.json).
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import semver from 'semver';
import { pack } from 'tar-stream';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BLOCK = 512;
const MIB = 1024 * 1024;

// The busybox applets the sample scripts call (sh builtins such as echo and printf are linked too, so a shell in
// the container for debugging finds them as commands).
const APPLETS = ['cat', 'cp', 'date', 'echo', 'env', 'grep', 'head', 'httpd', 'id', 'ls', 'mkdir', 'mv', 'od', 'printf', 'rm', 'sed', 'sh', 'sleep', 'tail', 'tr', 'wc'];
const APP_UID = 1000;
const APP_GID = 1000;
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
// ELF e_machine of each Node architecture this builder supports, and its name in an image config.
const ARCHITECTURES = { x64: { docker: 'amd64', elfMachine: 62 }, arm64: { docker: 'arm64', elfMachine: 183 } };

/** An error whose message is meant for the person running the script (printed without a stack). */
export class BuildError extends Error {}

const roundUp = (size) => Math.ceil(size / BLOCK) * BLOCK;

// ---------------------------------------------------------------------------------------------------- releases

/** Every sample release under `catalogDir`: `<app>/app.json` and `<app>/app-<version>.json`, by name and version. */
export async function listSampleReleases(catalogDir = join(ROOT, 'catalog')) {
  const releases = [];
  for (const app of (await readdir(catalogDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const manifests = (await readdir(join(catalogDir, app))).filter(isManifestFile).sort();
    for (const manifestFile of manifests) {
      const manifestPath = join(catalogDir, app, manifestFile);
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
      if (typeof manifest.name !== 'string' || typeof manifest.version !== 'string' || !Array.isArray(manifest.executionUnits) || manifest.executionUnits.length === 0) {
        throw new BuildError(`${relative(process.cwd(), manifestPath)}: not an app manifest (needs name, version and executionUnits)`);
      }
      releases.push({ appDir: join(catalogDir, app), manifestFile, manifest });
    }
  }
  return releases.sort((a, b) => a.manifest.name.localeCompare(b.manifest.name) || semver.compare(a.manifest.version, b.manifest.version));
}

function isManifestFile(name) {
  return /^app(-[0-9A-Za-z.+-]+)?\.json$/.test(name);
}

// ----------------------------------------------------------------------------------------------------- busybox

/**
 * The static busybox to put in the images. A dynamically linked one (Debian's `busybox` package) would not run in
 * an image without a C library, and one for another CPU would not run at all: both are refused here.
 */
export function findStaticBusybox(explicitPath) {
  const arch = ARCHITECTURES[process.arch];
  if (!arch) throw new BuildError(`unsupported architecture ${process.arch}: the sample images are built for amd64 or arm64`);
  const path = explicitPath ?? BUSYBOX_CANDIDATES.find((candidate) => existsSync(candidate));
  if (!path || !existsSync(path)) {
    throw new BuildError(`no static busybox${explicitPath ? ` at ${explicitPath}` : ''}: install it with  apt-get install -y busybox-static`);
  }
  const elf = readElfSummary(path);
  if (!elf) throw new BuildError(`${path} is not an ELF executable`);
  if (elf.machine !== arch.elfMachine) throw new BuildError(`${path} is not built for this machine (${arch.docker})`);
  if (elf.dynamic) throw new BuildError(`${path} is dynamically linked (as Debian's busybox package is); the images need a static one: apt-get install -y busybox-static`);
  return path;
}

/** Reads just enough of an ELF file: its machine and whether it asks for a dynamic loader (a PT_INTERP segment). */
function readElfSummary(path) {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(64);
    if (readSync(fd, header, 0, 64, 0) < 64 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = header[4] === 2;
    const le = header[5] === 1;
    const u16 = (buf, at) => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
    const u32 = (buf, at) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
    const machine = u16(header, 18);
    const phoff = is64 ? Number(le ? header.readBigUInt64LE(32) : header.readBigUInt64BE(32)) : u32(header, 28);
    const phentsize = u16(header, is64 ? 54 : 42);
    const phnum = u16(header, is64 ? 56 : 44);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    let dynamic = false;
    for (let i = 0; i < phnum; i++) if (u32(table, i * phentsize) === 3 /* PT_INTERP */) dynamic = true;
    return { machine, dynamic };
  } finally {
    closeSync(fd);
  }
}

// When busybox-static is missing, install it if we may (root with apt-get), else say what to install.
async function ensureBusybox(explicitPath) {
  if (explicitPath || BUSYBOX_CANDIDATES.some((path) => existsSync(path))) return;
  const { ensureBusybox: install } = await import('./ensure-deps.mjs');
  install({ required: true });
}

// ------------------------------------------------------------------------------------------------------- layer

/**
 * The root filesystem as a sorted list of tar entries. File contents are not read here: `source` names a file to
 * stream, `content` is a small in-memory text, `padding` is generated while writing. Every size is known up front,
 * so the layer's length is known before a byte is written.
 */
async function layerEntries({ appDir, manifest, busybox, paddingBytes }) {
  const root = { uid: 0, gid: 0 };
  const entries = [
    { name: 'bin/', type: 'directory', mode: 0o755, ...root },
    { name: 'bin/busybox', type: 'file', mode: 0o755, ...root, size: (await stat(busybox)).size, source: busybox },
    ...APPLETS.map((applet) => ({ name: `bin/${applet}`, type: 'symlink', mode: 0o777, ...root, linkname: 'busybox' })),
    { name: 'etc/', type: 'directory', mode: 0o755, ...root },
    text('etc/passwd', `root:x:0:0:root:/root:/bin/sh\napp:x:${APP_UID}:${APP_GID}:app:/data:/bin/sh\n`),
    text('etc/group', `root:x:0:\napp:x:${APP_GID}:\n`),
    // A fresh named volume takes the owner and mode of the image's folder it is mounted on: this makes the data
    // volume writable for the app user without any chown at run time (which needs a capability the app lacks).
    { name: 'data/', type: 'directory', mode: 0o755, uid: APP_UID, gid: APP_GID },
    // Normally a tmpfs is mounted here; sticky and world-writable like any /tmp in case one is not.
    { name: 'tmp/', type: 'directory', mode: 0o1777, ...root },
    { name: 'app/', type: 'directory', mode: 0o755, ...root },
    // The scripts show the release they are (the same sources serve several versions).
    text('app/VERSION', `${manifest.version}\n`),
  ];
  for (const file of await appFiles(appDir)) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) entries.push({ name: `app/${parts.slice(0, i).join('/')}/`, type: 'directory', mode: 0o755, ...root });
    const source = join(appDir, file);
    const info = await stat(source);
    // Git keeps no reliable mode bits across checkouts: scripts and CGI programs are executable by their place.
    const executable = file.endsWith('.sh') || file.endsWith('.cgi') || parts.includes('cgi-bin') || (info.mode & 0o100) !== 0;
    entries.push({ name: `app/${file}`, type: 'file', mode: executable ? 0o755 : 0o644, ...root, size: info.size, source });
  }
  if (paddingBytes !== undefined) {
    entries.push({ name: 'app/assets/', type: 'directory', mode: 0o755, ...root });
    entries.push({ name: 'app/assets/padding.bin', type: 'file', mode: 0o644, ...root, size: paddingBytes, padding: `${manifest.name}@${manifest.version}` });
  }
  // One entry per path (a folder is reached by each file in it), sorted byte-wise: a parent sorts before its
  // contents, and the order never depends on the file system's.
  const unique = new Map();
  for (const entry of entries) {
    const seen = unique.get(entry.name);
    if (seen && !(seen.type === 'directory' && entry.type === 'directory')) throw new BuildError(`${appDir}: /${entry.name} collides with a file the builder adds`);
    if (!seen) unique.set(entry.name, entry);
  }
  const sorted = [...unique.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const entry of sorted) {
    // Longer or non-ASCII names would need PAX headers, and the layer's size would not be known beforehand.
    if (!/^[\x21-\x7e]{1,100}$/.test(entry.name)) throw new BuildError(`${entry.name}: names in the image must be printable ASCII of at most 100 bytes`);
  }
  return sorted;
}

function text(name, content) {
  const bytes = Buffer.from(content);
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: bytes.length, content: bytes };
}

/** The app's files, relative to its folder; the manifests (app*.json) stay out of the image. */
async function appFiles(appDir) {
  const out = [];
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(appDir, path).split('\\').join('/');
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && !(dir === appDir && isManifestFile(entry.name))) out.push(rel);
      else if (!entry.isFile() && !entry.isDirectory()) throw new BuildError(`${path}: only plain files and folders can go into a sample image`);
    }
  };
  await walk(appDir);
  return out;
}

/** Each tar member is a 512-byte header and its data padded to 512 bytes; the archive ends with two zero blocks. */
function tarSize(members) {
  return members.reduce((sum, size) => sum + BLOCK + roundUp(size), 2 * BLOCK);
}

function layerSize(entries) {
  return tarSize(entries.map((entry) => (entry.type === 'file' ? entry.size : 0)));
}

/**
 * Deterministic incompressible bytes: AES-256-CTR's key stream, keyed by a hash of the seed. A counter-mode
 * stream like sha256(seed‖counter) but about ten times faster, which matters for a 100 MiB image.
 */
async function* paddingStream(seed, bytes) {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(`berth sample padding\0${seed}`).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(MIB);
  for (let left = bytes; left > 0; left -= zeros.length) yield cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
}

/** Streams the layer tar through `destinations` (a pipeline's tail), one entry at a time; no file is held whole. */
async function writeLayer(entries, mtime, ...destinations) {
  const archive = pack();
  const writing = pipeline(archive, ...destinations);
  try {
    for (const entry of entries) {
      const header = { name: entry.name, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, uname: '', gname: '', mtime };
      if (entry.type === 'symlink') archive.entry({ ...header, linkname: entry.linkname });
      else if (entry.type === 'directory') archive.entry(header);
      else if (entry.content) archive.entry({ ...header, size: entry.size }, entry.content);
      else {
        // tar-stream fails the entry with "Size mismatch" if a file changed size since it was measured.
        const body = entry.source ? createReadStream(entry.source) : paddingStream(entry.padding, entry.size);
        await pipeline(body, archive.entry({ ...header, size: entry.size }));
      }
    }
    archive.finalize();
  } catch (error) {
    archive.destroy(error);
  }
  await writing;
}

/** Hashes and counts what passes through; as the last stage of a pipeline it also swallows it. */
function hashing({ passThrough }) {
  const hash = createHash('sha256');
  let bytes = 0;
  const observe = (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
  };
  const stream = passThrough
    ? new Transform({ transform: (chunk, _encoding, callback) => (observe(chunk), callback(null, chunk)) })
    : new Writable({ write: (chunk, _encoding, callback) => (observe(chunk), callback()) });
  return { stream, result: () => ({ digest: hash.digest('hex'), bytes }) };
}

// ------------------------------------------------------------------------------------------------------- image

function imageConfig({ manifest, manifestFile, diffId, created }) {
  const unit = manifest.executionUnits[0];
  return {
    architecture: ARCHITECTURES[process.arch].docker,
    os: 'linux',
    created,
    config: {
      // berth gives each execution unit its own command and env when it creates the container; the image carries
      // the first unit's so that a plain `docker run` of the image behaves like the app too.
      Cmd: unit.command,
      Env: ['PATH=/bin', ...Object.entries(unit.env ?? {}).map(([key, value]) => `${key}=${value}`)],
      User: `${APP_UID}:${APP_GID}`,
      WorkingDir: '/app',
      Labels: {
        'org.opencontainers.image.title': manifest.name,
        'org.opencontainers.image.version': manifest.version,
        'org.opencontainers.image.vendor': manifest.vendor ?? '',
        'org.opencontainers.image.description': manifest.description ?? '',
      },
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    history: [{ created, created_by: `scripts/build-sample-images.mjs: static busybox + catalog/${basename(dirname(manifestFile))}/ (${basename(manifestFile)})` }],
  };
}

function archiveDocuments({ release, repo, diffId, created }) {
  const config = Buffer.from(JSON.stringify(imageConfig({ manifest: release.manifest, manifestFile: join(release.appDir, release.manifestFile), diffId, created })));
  const imageId = createHash('sha256').update(config).digest('hex');
  const layerPath = `${diffId}/layer.tar`;
  const manifest = Buffer.from(JSON.stringify([{ Config: `${imageId}.json`, RepoTags: [`${repo}/${release.manifest.name}:${release.manifest.version}`], Layers: [layerPath] }]));
  return { config, imageId, manifest, layerPath };
}

/** The whole archive's size for a given layer size: manifest.json, the config, the layer's folder and the layer. */
function archiveSize(documents, layerBytes) {
  return tarSize([documents.manifest.length, documents.config.length, 0, layerBytes]);
}

/**
 * Builds one release's image archive at `outPath` (written under a temporary name, then renamed, so a reader never
 * sees half an archive). `sizeBytes`: pad /app/assets/padding.bin so the archive is exactly that long.
 * Returns what `docker load` will report: the image ID and tag, plus the sizes.
 */
export async function buildSampleImage({ release, outPath, busybox, repo = 'berth-samples', sizeBytes, epoch = sourceDateEpoch() }) {
  const mtime = new Date(epoch * 1000);
  const created = mtime.toISOString().replace('.000Z', 'Z');
  let paddingBytes;
  if (sizeBytes !== undefined) {
    // The config's length does not depend on the layer's digest (always 64 hex digits), so a placeholder gives the
    // exact overhead; sizes are multiples of 512, hence an exact total when the target is one too.
    const unpadded = await layerEntries({ ...release, busybox, paddingBytes: 0 });
    const overhead = archiveSize(archiveDocuments({ release, repo, diffId: '0'.repeat(64), created }), layerSize(unpadded));
    if (sizeBytes < overhead) throw new BuildError(`${release.manifest.name} ${release.manifest.version} is already ${formatSize(overhead)} without padding: ask for more than that`);
    paddingBytes = Math.floor((sizeBytes - overhead) / BLOCK) * BLOCK;
  }
  const entries = await layerEntries({ ...release, busybox, paddingBytes });
  const expectedLayerBytes = layerSize(entries);

  // Pass 1 hashes the layer: its digest names the layer in the archive and goes into the config, and a tar header
  // must carry its member's name and size before the data. Pass 2 streams the same bytes into the archive.
  const first = hashing({ passThrough: false });
  await writeLayer(entries, mtime, first.stream);
  const { digest: diffId, bytes: layerBytes } = first.result();
  if (layerBytes !== expectedLayerBytes) throw new Error(`layer is ${layerBytes} bytes, expected ${expectedLayerBytes} (tar framing changed?)`);
  const documents = archiveDocuments({ release, repo, diffId, created });

  const temp = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.partial`);
  try {
    const archive = pack();
    const writing = pipeline(archive, createWriteStream(temp));
    const header = { mtime, uid: 0, gid: 0, uname: '', gname: '', mode: 0o644 };
    const second = hashing({ passThrough: true });
    try {
      archive.entry({ ...header, name: 'manifest.json' }, documents.manifest);
      archive.entry({ ...header, name: `${documents.imageId}.json` }, documents.config);
      archive.entry({ ...header, name: `${diffId}/`, type: 'directory', mode: 0o755 });
      await writeLayer(entries, mtime, second.stream, archive.entry({ ...header, name: documents.layerPath, size: layerBytes }));
      archive.finalize();
    } catch (error) {
      archive.destroy(error);
    }
    await writing;
    // An input that changed between the passes (busybox upgraded meanwhile) would make the config lie.
    if (second.result().digest !== diffId) throw new BuildError(`${release.manifest.name}: an input changed while building; run it again`);
    await rename(temp, outPath);
  } finally {
    await rm(temp, { force: true });
  }
  const size = (await stat(outPath)).size;
  return {
    name: release.manifest.name,
    version: release.manifest.version,
    tag: `${repo}/${release.manifest.name}:${release.manifest.version}`,
    imageId: `sha256:${documents.imageId}`,
    path: outPath,
    size,
    layerSize: layerBytes,
    paddingBytes: paddingBytes ?? 0,
  };
}

function sourceDateEpoch() {
  const value = process.env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return 0;
  if (!/^\d+$/.test(value)) throw new BuildError(`SOURCE_DATE_EPOCH must be a number of seconds, not ${JSON.stringify(value)}`);
  return Number(value);
}

function formatSize(bytes) {
  return bytes >= MIB ? `${(bytes / MIB).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

// --------------------------------------------------------------------------------------------------------- CLI

/** The comment at the top of this file. */
function usage() {
  const lines = [];
  for (const line of readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1)) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n');
}

function selectReleases(releases, only) {
  if (only.length === 0) return releases;
  const wanted = only.flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
  const selected = new Set();
  for (const want of wanted) {
    const [name, version] = want.split('@');
    const matches = releases.filter((r) => r.manifest.name === name && (version === undefined || r.manifest.version === version));
    if (matches.length === 0) {
      const known = releases.map((r) => `${r.manifest.name}@${r.manifest.version}`).join(', ');
      throw new BuildError(`--only ${want}: no such sample release (there are: ${known})`);
    }
    for (const match of matches) selected.add(match);
  }
  return releases.filter((r) => selected.has(r));
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string', multiple: true, default: [] },
      'out-dir': { type: 'string' },
      out: { type: 'string' },
      'size-mb': { type: 'string' },
      repo: { type: 'string', default: 'berth-samples' },
      busybox: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(usage());
    return;
  }
  let sizeBytes;
  if (values['size-mb'] !== undefined) {
    const mib = Number(values['size-mb']);
    if (!Number.isInteger(mib) || mib <= 0) throw new BuildError(`--size-mb takes a whole number of MiB, not ${values['size-mb']}`);
    sizeBytes = mib * MIB;
  }
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(values.repo)) {
    throw new BuildError(`--repo ${values.repo}: not a repository name Docker accepts (lower-case, e.g. berth-samples)`);
  }
  const releases = selectReleases(await listSampleReleases(), values.only);
  if (values.out !== undefined && releases.length !== 1) {
    throw new BuildError(`--out names one archive, but ${releases.length} releases are selected: add --only <app>@<version>`);
  }
  await ensureBusybox(values.busybox);
  const busybox = findStaticBusybox(values.busybox);
  const outDir = resolve(values['out-dir'] ?? join(ROOT, 'build', 'images'));
  const suffix = sizeBytes !== undefined ? `-${values['size-mb']}mb` : '';
  for (const release of releases) {
    const outPath = values.out !== undefined ? resolve(values.out) : join(outDir, `${release.manifest.name}-${release.manifest.version}${suffix}.tar`);
    await mkdir(dirname(outPath), { recursive: true });
    const built = await buildSampleImage({ release, outPath, busybox, repo: values.repo, ...(sizeBytes !== undefined ? { sizeBytes } : {}) });
    const padding = built.paddingBytes ? `, padding ${formatSize(built.paddingBytes)}` : '';
    console.log(`${built.tag.padEnd(40)} ${relative(process.cwd(), built.path).padEnd(44)} ${formatSize(built.size).padStart(10)}${padding}  ${built.imageId.slice(0, 19)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error) => {
    if (error instanceof BuildError || error?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || error?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      console.error(`build-sample-images: ${error.message}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  });
}
