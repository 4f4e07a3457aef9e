// `berth catalog init | serve | publisher add | rotate-root`: the catalog administrator's commands.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { addPublisher, initRepository, refreshExpiring, rotateRoot } from '../catalog/repository/repository.ts';
import { defaultOfflineKeysDir } from '../catalog/repository/repository-layout.ts';
import { DEFAULT_BIN_COUNT, isValidBinCount, MAX_BIN_COUNT } from '../catalog/repository/hash-bins.ts';
import { buildCatalogServer } from '../catalog/server/catalog-server.ts';
import { DEFAULT_SERVER_LIMITS } from '../catalog/server/server-limits.ts';
import { createLogger } from '../log.ts';
import { helpOfVerbs } from './commands.ts';
import { UsageError } from './usage.ts';

const VERB_USAGE = {
  init: `  berth catalog init --dir <dir> [--offline-keys <dir>-offline-keys] [--root-keys N] [--root-threshold M] [--bins ${DEFAULT_BIN_COUNT}]
        new TUF repository with fresh keys; <dir>/root.json is what gateways ship as catalog.root;
        the offline keys (root, targets) go to their own folder, never inside <dir>;
        publishers are delegated through --bins hash bins (a power of two up to ${MAX_BIN_COUNT})
`,
  serve: `  berth catalog serve --dir <dir> [--host 127.0.0.1] [--port 8700] [--tls-cert <cert.pem> --tls-key <key.pem>]
        [--max-package-bytes ${DEFAULT_SERVER_LIMITS.maxPackageBytes}] [--max-connections ${DEFAULT_SERVER_LIMITS.maxConnections}]
        serve metadata, packages, the publish API and the app page (HTTPS with a certificate);
        keeps timestamp and snapshot signed (needs only <dir>, never the offline keys)
`,
  'publisher add': `  berth catalog publisher add --dir <dir> --vendor <vendor> --key <publisher.pub.pem> [--offline-keys <folder>]
        delegate <vendor>/*/* to a publisher's key, in the vendor's hash bin (again with a new key: replaces
        and revokes the old one); signs the bin (and targets for a new vendor) with the targets key; moves the
        publishers of a catalog made before hash bins into bins
`,
  'rotate-root': `  berth catalog rotate-root --dir <dir> [--offline-keys <folder>] [--root-keys N] [--root-threshold M]
        new root keys and timestamp key; the new root is signed by the old and new root keys
`,
};
export const CATALOG_HELP = helpOfVerbs(VERB_USAGE);
const USAGE = CATALOG_HELP.usage;

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got '${value}'`);
  return n;
}

function requireDir(dir: string | undefined, verb: string): string {
  if (!dir) throw new UsageError(`berth catalog ${verb} needs --dir <dir>\n${USAGE}`);
  return dir;
}

/** The offline keys' folder: given, or next to the catalog. */
function offlineKeysOf(given: string | undefined, dir: string): string {
  return given === undefined ? defaultOfflineKeysDir(dir) : resolve(given);
}

/** A new catalog never gets its offline keys inside the folder the server reads. */
function checkOutsideCatalog(offline: string, dir: string): string {
  const inside = relative(resolve(dir), offline);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new UsageError(`--offline-keys ${offline} is inside the catalog folder ${dir}, which the server reads; put the offline keys elsewhere`);
  }
  return offline;
}

export async function runCatalogCommand(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'init': {
      const { values } = parseArgs({
        args: rest,
        options: { dir: { type: 'string' }, 'offline-keys': { type: 'string' }, 'root-keys': { type: 'string' }, 'root-threshold': { type: 'string' }, bins: { type: 'string' } },
        strict: true,
      });
      const dir = requireDir(values.dir, 'init');
      const rootKeys = positiveInt(values['root-keys'], '--root-keys');
      const rootThreshold = positiveInt(values['root-threshold'], '--root-threshold');
      const bins = positiveInt(values.bins, '--bins');
      if (bins !== undefined && !isValidBinCount(bins)) throw new UsageError(`--bins must be a power of two from 2 to ${MAX_BIN_COUNT}, got ${bins}`);
      const { rootFile, offlineKeysDir } = await initRepository(dir, {
        offlineKeysDir: checkOutsideCatalog(offlineKeysOf(values['offline-keys'], dir), dir),
        ...(rootKeys ? { rootKeys } : {}),
        ...(rootThreshold ? { rootThreshold } : {}),
        ...(bins ? { bins } : {}),
      });
      process.stdout.write(
        `catalog created in ${dir}\n` +
          `trust root    ${rootFile}   (ship it with gateways: config catalog.root)\n` +
          `online keys   ${join(dir, 'keys')}/   (snapshot, timestamp: all that serve needs)\n` +
          `offline keys  ${offlineKeysDir}/   (root, targets: publisher add and rotate-root need them; keep them off the server)\n`,
      );
      return 0;
    }
    case 'serve': {
      const { values } = parseArgs({
        args: rest,
        options: {
          dir: { type: 'string' },
          host: { type: 'string' },
          port: { type: 'string' },
          'log-level': { type: 'string' },
          'tls-cert': { type: 'string' },
          'tls-key': { type: 'string' },
          'max-package-bytes': { type: 'string' },
          'max-connections': { type: 'string' },
        },
        strict: true,
      });
      if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together');
      const dir = requireDir(values.dir, 'serve');
      const port = values.port === undefined ? 8700 : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got '${values.port ?? ''}'`);
      const logger = createLogger((values['log-level'] ?? 'info') as 'info');
      const tls = values['tls-cert'] && values['tls-key'] ? { cert: await readFile(values['tls-cert'], 'utf8'), key: await readFile(values['tls-key'], 'utf8') } : undefined;
      const maxPackageBytes = positiveInt(values['max-package-bytes'], '--max-package-bytes');
      const maxConnections = positiveInt(values['max-connections'], '--max-connections');
      const limits = { ...(maxPackageBytes ? { maxPackageBytes } : {}), ...(maxConnections ? { maxConnections } : {}) };
      const server = buildCatalogServer({ dir, logger, limits, ...(tls ? { tls } : {}) });
      // Keep timestamp and snapshot signed: a gateway refuses an expired timestamp (freeze protection).
      let timer: NodeJS.Timeout | undefined;
      const keepFresh = async (): Promise<void> => {
        let next = Date.now() + 60_000;
        try {
          const result = await refreshExpiring(dir);
          if (result.renewed) logger.info('timestamp and snapshot re-signed');
          next = Math.max(Date.now() + 1000, Math.min(result.nextCheckAt, Date.now() + 3_600_000));
        } catch (error) {
          logger.error({ err: error }, 'could not re-sign timestamp');
        }
        timer = setTimeout(() => void keepFresh(), next - Date.now());
      };
      await keepFresh();
      const address = await server.listen({ host: values.host ?? '127.0.0.1', port });
      process.stdout.write(`catalog serving ${dir} at ${address}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          clearTimeout(timer);
          void server.close().then(() => {
            resolve();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return 0;
    }
    case 'publisher': {
      const [sub, ...args] = rest;
      if (sub !== 'add') throw new UsageError(`unknown catalog publisher verb '${sub ?? ''}'\n${USAGE}`);
      const { values } = parseArgs({ args, options: { dir: { type: 'string' }, vendor: { type: 'string' }, key: { type: 'string' }, 'offline-keys': { type: 'string' } }, strict: true });
      if (!values.vendor || !values.key) throw new UsageError(`berth catalog publisher add needs --vendor and --key\n${USAGE}`);
      const dir = requireDir(values.dir, 'publisher add');
      const pem = await readFile(values.key, 'utf8');
      const result = await addPublisher(dir, values.vendor, pem, { offlineKeysDir: offlineKeysOf(values['offline-keys'], dir) });
      if (result.migrated > 0) process.stdout.write(`moved the catalog's ${result.migrated} publishers into hash bins (their roles stay valid)\n`);
      process.stdout.write(`${result.replaced ? 'replaced the key of' : 'added'} publisher ${values.vendor} (keyid ${result.keyId.slice(0, 16)}), paths ${values.vendor}/*/*, in ${result.bin}\n`);
      return 0;
    }
    case 'rotate-root': {
      const { values } = parseArgs({
        args: rest,
        options: { dir: { type: 'string' }, 'offline-keys': { type: 'string' }, 'root-keys': { type: 'string' }, 'root-threshold': { type: 'string' } },
        strict: true,
      });
      const dir = requireDir(values.dir, 'rotate-root');
      const rootKeys = positiveInt(values['root-keys'], '--root-keys');
      const rootThreshold = positiveInt(values['root-threshold'], '--root-threshold');
      const result = await rotateRoot(dir, {
        offlineKeysDir: offlineKeysOf(values['offline-keys'], dir),
        ...(rootKeys ? { rootKeys } : {}),
        ...(rootThreshold ? { rootThreshold } : {}),
      });
      process.stdout.write(`root rotated to version ${result.version}; gateways pick it up on their next refresh (${result.rootFile} is the new root to ship)\n`);
      return 0;
    }
    case undefined:
      process.stdout.write(USAGE);
      return 2;
    default:
      throw new UsageError(`unknown catalog verb '${verb}'\n${USAGE}`);
  }
}
