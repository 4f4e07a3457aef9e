// `berth app pack | publish | verify`: the app developer's commands.
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCatalogClient } from '../catalog/client/catalog-client.ts';
import { CatalogError, CatalogFault } from '../catalog/client/catalog-error.ts';
import { PackageError } from '../catalog/package/package-error.ts';
import { packApp } from '../catalog/package/package-writer.ts';
import { checkPackageFile, DEFAULT_MAX_UNPACKED_BYTES, readPackageManifestFile } from '../catalog/package/package-reader.ts';
import { readBoundedBody } from '../catalog/bounded-body.ts';
import { publishPackage } from '../catalog/publisher/publish-package.ts';
import { formatBytes } from '../catalog/server/catalog-page.ts';
import { targetPathOf } from '../catalog/target-custom.ts';
import { BERTH_VERSION } from '../version.ts';
import { parseByteSize } from './byte-size.ts';
import { helpOfVerbs } from './commands.ts';
import { UsageError } from './usage.ts';

const VERB_USAGE = {
  pack: `  berth app pack    --manifest <app.json> --image <docker-save.tar> --out <file.berth>
`,
  publish: `  berth app publish <file.berth> --catalog <url> --key <publisher.pem> [--adopt-existing] [--max-unpacked <size>]
        signs the package into your catalog role and uploads it; prints the URL a Controller passes to InstallDU
        (--max-unpacked: refuse a package that unpacks to more, e.g. 512MiB; default 4GiB, a catalog's default)
`,
  verify: `  berth app verify  <file.berth|package-url> --catalog <url> [--root <root.json>]
        checks a package against the catalog's signed metadata, as a gateway would
`,
};
export const APP_HELP = helpOfVerbs(VERB_USAGE);
const USAGE = APP_HELP.usage;

/** A one-line progress bar on a terminal; nothing when output is piped. */
function progressBar(label: string): { update(done: number, total: number): void; end(): void } {
  const tty = process.stderr.isTTY;
  let last = -1;
  return {
    update(done, total) {
      if (!tty) return;
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
      if (percent === last) return;
      last = percent;
      const width = 30;
      const filled = Math.round((percent / 100) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}% ${formatBytes(done)}/${formatBytes(total)}`);
    },
    end() {
      if (tty && last >= 0) process.stderr.write('\n');
    },
  };
}

// What a catalog's 1.root.json may weigh (tuf-js's bound on root metadata).
const MAX_ROOT_BYTES = 512_000;

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function runAppCommand(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'pack': {
      const { values } = parseArgs({ args: rest, options: { manifest: { type: 'string' }, image: { type: 'string' }, out: { type: 'string' } }, strict: true });
      if (!values.manifest || !values.image || !values.out) throw new UsageError(`berth app pack needs --manifest, --image and --out\n${USAGE}`);
      let manifest: unknown;
      try {
        manifest = JSON.parse(await readFile(values.manifest, 'utf8'));
      } catch (error) {
        throw new UsageError(`${values.manifest}: ${(error as Error).message}`);
      }
      const result = await packApp({ manifest, imagePath: values.image, outPath: values.out });
      process.stdout.write(
        `packed ${result.manifest.vendor}/${result.manifest.name} ${result.manifest.version} → ${values.out} (${formatBytes(result.packageSize)}, sha256 ${result.packageSha256.slice(0, 16)}…)\n`,
      );
      return 0;
    }
    case 'publish': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { catalog: { type: 'string' }, key: { type: 'string' }, 'adopt-existing': { type: 'boolean' }, 'max-unpacked': { type: 'string' } },
        allowPositionals: true,
        strict: true,
      });
      const file = positionals[0];
      if (!file || !values.catalog || !values.key) throw new UsageError(`berth app publish needs <file.berth>, --catalog and --key\n${USAGE}`);
      let maxUnpackedBytes = DEFAULT_MAX_UNPACKED_BYTES;
      if (values['max-unpacked'] !== undefined) {
        const parsed = parseByteSize(values['max-unpacked']);
        if (parsed === undefined) throw new UsageError(`--max-unpacked ${values['max-unpacked']}: give a size in bytes, optionally with KiB, MiB, GiB or TiB (512MiB)`);
        maxUnpackedBytes = parsed;
      }
      const bar = progressBar('uploading');
      let outcome;
      try {
        outcome = await publishPackage({
          catalogUrl: values.catalog,
          packageFile: file,
          privateKeyPem: await readFile(values.key, 'utf8'),
          maxUnpackedBytes,
          onProgress: (sent, total) => {
            bar.update(sent, total);
          },
          ...(values['adopt-existing'] ? { adoptExisting: true } : {}),
        });
      } catch (error) {
        if (!(error instanceof PackageError)) throw error;
        const hint = error.code === 'TOO_LARGE' ? ` (limit ${formatBytes(maxUnpackedBytes)}; raise it with --max-unpacked)` : '';
        process.stderr.write(`berth: REFUSED: ${file}: ${error.message}${hint}\n`);
        return 1;
      }
      bar.end();
      process.stderr.write(
        outcome.alreadyPublished
          ? `${outcome.custom.name} ${outcome.custom.version} was already published; nothing to do\n`
          : `published ${outcome.custom.vendor}/${outcome.custom.name} ${outcome.custom.version} (role version ${outcome.version})\n`,
      );
      // The URL alone on stdout, so scripts can capture it for InstallDU.
      process.stdout.write(`${outcome.url}\n`);
      return 0;
    }
    case 'verify': {
      const { values, positionals } = parseArgs({ args: rest, options: { catalog: { type: 'string' }, root: { type: 'string' } }, allowPositionals: true, strict: true });
      const subject = positionals[0];
      if (!subject || !values.catalog) throw new UsageError(`berth app verify needs <file.berth|url> and --catalog\n${USAGE}`);
      const catalog = values.catalog.replace(/\/+$/, '');
      const work = await mkdtemp(join(tmpdir(), 'berth-verify-'));
      try {
        let rootFile = values.root;
        if (!rootFile) {
          // Trust on first use, said out loud: a gateway ships its root instead.
          const response = await fetch(`${catalog}/metadata/1.root.json`).catch((error: unknown) => {
            throw new CatalogError(7033, `catalog at ${catalog} unreachable (${(error as Error).message})`);
          });
          if (!response.ok) throw new CatalogError(7033, `catalog at ${catalog} has no 1.root.json (${response.status})`);
          rootFile = join(work, 'root.json');
          const root = await readBoundedBody(response, MAX_ROOT_BYTES, () => new CatalogError(CatalogFault.CorruptData, `the catalog's 1.root.json is larger than ${MAX_ROOT_BYTES} bytes`));
          await writeFile(rootFile, root);
          process.stderr.write(`note: trusting the catalog's own 1.root.json (pass --root <root.json> to pin the trust root)\n`);
        }
        const client = createCatalogClient({ url: catalog, rootFile, stateDir: join(work, 'trusted'), berthVersion: BERTH_VERSION });
        let url = subject;
        const isUrl = /^https?:\/\//.test(subject);
        if (!isUrl) {
          // Only the manifest, to know which target to ask for: the rest is read once the catalog's signed
          // summary says how large it may unpack, as a gateway reads it.
          url = `${catalog}/targets/${targetPathOf(await readPackageManifestFile(subject))}`;
        }
        const resolved = await client.resolve(url);
        if (isUrl) {
          const bar = progressBar('verifying');
          await client.download(resolved, { workDir: join(work, 'download'), onProgress: (done, total) => { bar.update(done, total); } });
          bar.end();
        } else {
          const size = (await stat(subject)).size;
          const sha256 = await sha256Of(subject);
          if (size !== resolved.length || sha256 !== resolved.hashes['sha256']) {
            throw new CatalogError(7035, `${subject} is not the package the catalog signed for ${resolved.targetPath} (size ${size} vs ${resolved.length}, sha256 ${sha256.slice(0, 16)}… vs ${(resolved.hashes['sha256'] ?? '').slice(0, 16)}…)`);
          }
          const checked = await checkPackageFile(subject, { maxUnpackedBytes: Math.max(resolved.custom.unpackedSize, 1) });
          if (checked.unpackedSize !== resolved.custom.unpackedSize) {
            throw new CatalogError(7035, `${subject} unpacks to ${checked.unpackedSize} bytes; the signed summary says ${resolved.custom.unpackedSize}`);
          }
        }
        const c = resolved.custom;
        process.stdout.write(
          `OK  ${c.vendor}/${c.name} ${c.version}: signed by ${c.vendor}, ${formatBytes(resolved.length)} (unpacked ${formatBytes(c.unpackedSize)})\n` +
            c.executionUnits.map((eu) => `    ${eu.name}: ${eu.memoryKiB} KiB memory, ${eu.cpuPercent}% CPU, ${eu.diskKiB} KiB disk\n`).join('') +
            `    URL for InstallDU: ${url}\n`,
        );
        return 0;
      } catch (error) {
        if (error instanceof CatalogError) {
          process.stderr.write(`berth: REFUSED (USP fault ${error.uspErrorCode}): ${error.message}\n`);
          return 1;
        }
        if (error instanceof PackageError) {
          process.stderr.write(`berth: REFUSED (USP fault ${CatalogFault.CorruptData}): ${subject}: ${error.message}\n`);
          return 1;
        }
        throw error;
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
    case undefined:
      process.stdout.write(USAGE);
      return 2;
    default:
      throw new UsageError(`unknown app verb '${verb}'\n${USAGE}`);
  }
}
