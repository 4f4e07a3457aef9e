// The gateway's side of the catalog: turn a package URL into a verified, unpacked package.
//   resolve(url)   refresh TUF metadata (rollback, freeze, mix-and-match and endless-data protections are
//                  tuf-js's) and find the target under its publisher's delegation; returns the signed summary,
//                  so the agent can run admission control before downloading a byte.
//   download(...)  one streaming pass: bytes are counted against the signed length, hashed, and unpacked as they
//                  arrive; nothing is returned (and everything written is removed) unless length and hash match.
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import semver from 'semver';
import { Updater } from 'tuf-js';
import type { Logger } from 'pino';
import { checkBerthCompatibility } from '../package/manifest.ts';
import type { PackageManifest } from '../package/manifest.ts';
import { PackageError } from '../package/package-error.ts';
import { readPackage } from '../package/package-reader.ts';
import { isSafeTargetPath, targetCustomOf, targetCustomSchema } from '../target-custom.ts';
import type { TargetCustom } from '../target-custom.ts';
import { CatalogError, CatalogFault, toTransportError } from './catalog-error.ts';
import { CatalogFetcher, fetchWithIdleTimeout } from './catalog-fetcher.ts';
import type { HttpGetResponse } from './http-get.ts';
import { createTrustedMetadataStore } from './trusted-metadata-store.ts';
import { useLinearModelMaps } from '../tuf/linear-models.ts';

export interface CatalogClientOptions {
  /** Base URL of the catalog (metadata under /metadata, targets under /targets). */
  url: string;
  /** The root.json the gateway ships (OEM), used until a newer root has been trusted. */
  rootFile: string;
  /** Where the trusted metadata lives (crash-safe generations). */
  stateDir: string;
  berthVersion: string;
  logger?: Logger | undefined;
  /** A stalled transfer fails after this long without data (default 30 s). */
  idleTimeoutMs?: number;
}

export interface ResolvedPackage {
  url: string;
  targetPath: string;
  length: number;
  hashes: Record<string, string>;
  custom: TargetCustom;
  /** Where the bytes are fetched from: the hash-prefixed name of consistent snapshots. */
  downloadUrl: string;
}

export interface VerifiedPackage {
  resolved: ResolvedPackage;
  manifest: PackageManifest;
  /** The `docker save` archive, inside the caller's work folder. */
  imagePath: string;
  unpackedSize: number;
}

export interface DownloadOptions {
  workDir: string;
  signal?: AbortSignal;
  onProgress?: (received: number, total: number) => void;
  maxUnpackedBytes?: number;
}

export interface CatalogClient {
  resolve(url: string, signal?: AbortSignal): Promise<ResolvedPackage>;
  download(resolved: ResolvedPackage, options: DownloadOptions): Promise<VerifiedPackage>;
}

const SUPPORTED_HASHES = new Set(['sha256', 'sha512']);
const LOCAL_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EEXIST', 'EMFILE']);

/** Serializes refreshes: one tuf-js Updater at a time over the trusted metadata. */
function createMutex(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
}

function normalizedBase(url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new CatalogError(CatalogFault.ServerUnreachable, `catalog URL ${url} is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new CatalogError(CatalogFault.ServerInsecure, `catalog URL ${url} must be http(s)`);
  base.pathname = base.pathname.replace(/\/+$/, '');
  base.search = '';
  base.hash = '';
  return base;
}

export function createCatalogClient(options: CatalogClientOptions): CatalogClient {
  // The snapshot lists every publisher: read in linear time, not the library's quadratic (tuf/linear-models.ts).
  useLinearModelMaps();
  const base = normalizedBase(options.url);
  const baseText = base.toString().replace(/\/+$/, '');
  const metadataBaseUrl = `${baseText}/metadata`;
  const targetBaseUrl = `${baseText}/targets`;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const userAgent = `berth/${options.berthVersion}`;
  const store = createTrustedMetadataStore(options.stateDir, () => readFile(options.rootFile));
  const exclusive = createMutex();
  const log = options.logger;

  function targetPathOf(url: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CatalogError(CatalogFault.BadSignature, `${url} is not a URL`);
    }
    const prefix = `${targetBaseUrl}/`;
    const plain = `${parsed.origin}${parsed.pathname}`;
    if (parsed.username || parsed.password) throw new CatalogError(CatalogFault.BadSignature, 'package URL must not carry credentials');
    if (!plain.startsWith(prefix) || parsed.search || parsed.hash) {
      throw new CatalogError(CatalogFault.BadSignature, `${url} is not a package of the configured catalog ${baseText} (nothing signed vouches for it)`);
    }
    let path: string;
    try {
      path = decodeURIComponent(plain.slice(prefix.length));
    } catch {
      throw new CatalogError(CatalogFault.BadSignature, `${url} is not a catalog package path (bad %-escape)`);
    }
    if (!isSafeTargetPath(path)) throw new CatalogError(CatalogFault.BadSignature, `${path} is not a catalog package path (<vendor>/<app>/<app>-<version>.berth)`);
    return path;
  }

  async function refreshAndFind(targetPath: string, signal: AbortSignal | undefined): Promise<ReturnType<Updater['getTargetInfo']>> {
    const work = await store.begin();
    const fetcher = new CatalogFetcher({ idleTimeoutMs, userAgent, signal });
    // A new Updater per refresh: tuf-js refreshes once per instance and fixes its clock at construction.
    const updater = new Updater({ metadataDir: work, metadataBaseUrl, targetBaseUrl, fetcher, config: { fetchRetry: 1, userAgent } });
    let committed = false;
    try {
      await updater.refresh();
      const info = await updater.getTargetInfo(targetPath);
      await store.commit(work);
      committed = true;
      return info;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (fetcher.lastTransportError) throw fetcher.lastTransportError;
      if (error instanceof CatalogError) throw error;
      // Everything else tuf-js refuses is metadata that does not verify: bad signature, rollback, expiry,
      // mix-and-match, hash or length of a metadata file (tuf-js's classes are not exported; see tuf-notes §7).
      throw new CatalogError(CatalogFault.BadSignature, `catalog metadata refused: ${(error as Error).message}`, { cause: error });
    } finally {
      if (!committed) await store.discard(work);
    }
  }

  return {
    async resolve(url, signal) {
      const targetPath = targetPathOf(url);
      return exclusive(async () => {
        const info = await refreshAndFind(targetPath, signal);
        if (!info) {
          throw new CatalogError(CatalogFault.BadSignature, `no signed target ${targetPath} in the catalog (unknown, or not within its publisher's delegation)`);
        }
        const parsed = targetCustomSchema.parse(info.custom);
        if (!parsed.success) throw new CatalogError(CatalogFault.BadSignature, `target ${targetPath} has no valid signed summary`);
        const custom = parsed.data;
        if (!semver.satisfies(options.berthVersion, custom.requiresBerth, { includePrerelease: true })) {
          throw new CatalogError(CatalogFault.Incompatible, `${custom.name} ${custom.version} needs berth ${custom.requiresBerth}; this is berth ${options.berthVersion}`);
        }
        const hashes = Object.fromEntries(Object.entries(info.hashes).filter(([algorithm]) => SUPPORTED_HASHES.has(algorithm)));
        if (Object.keys(hashes).length === 0) throw new CatalogError(CatalogFault.BadSignature, `target ${targetPath} lists no sha256/sha512 hash`);
        const firstHash = Object.values(info.hashes)[0]!;
        const slash = targetPath.lastIndexOf('/');
        const downloadUrl = `${targetBaseUrl}/${targetPath.slice(0, slash)}/${firstHash}.${targetPath.slice(slash + 1)}`;
        log?.debug({ targetPath, length: info.length }, 'catalog target resolved');
        return { url, targetPath, length: info.length, hashes, custom, downloadUrl };
      });
    },

    async download(resolved, { workDir, signal, onProgress, maxUnpackedBytes }) {
      let response: HttpGetResponse;
      try {
        response = await fetchWithIdleTimeout(resolved.downloadUrl, { idleTimeoutMs, userAgent, signal });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw toTransportError(error, resolved.downloadUrl);
      }
      if (!response.ok) {
        response.body.destroy();
        throw new CatalogError(CatalogFault.ServerUnreachable, `catalog server answered ${response.status} for ${resolved.targetPath}`);
      }
      const hashers = Object.keys(resolved.hashes).map((algorithm) => ({ algorithm, hash: createHash(algorithm) }));
      let received = 0;
      const body: AsyncIterable<Uint8Array> = response.body;
      // The package bytes, metered and hashed on their way to the unpacker.
      const metered = async function* (): AsyncGenerator<Uint8Array> {
        for await (const chunk of body) {
          received += chunk.length;
          if (received > resolved.length) {
            throw new CatalogError(CatalogFault.CorruptData, `${resolved.targetPath} is longer than the ${resolved.length} bytes its signed metadata says`);
          }
          for (const { hash } of hashers) hash.update(chunk);
          onProgress?.(received, resolved.length);
          yield chunk;
        }
      };
      const source = metered();
      // The unpacker sees the stream without the power to close it: after the tar's end marker the rest must
      // still be read, counted and hashed.
      const view: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => source.next() }) };
      let unpacked;
      try {
        unpacked = await readPackage(view, { workDir, maxUnpackedBytes: maxUnpackedBytes ?? Math.max(resolved.custom.unpackedSize, 1) });
      } catch (error) {
        await source.return(undefined).catch(() => undefined);
        if (signal?.aborted) throw signal.reason;
        if (error instanceof CatalogError) throw error;
        if (error instanceof PackageError) {
          throw new CatalogError(CatalogFault.CorruptData, `${resolved.targetPath}: ${error.message}`, { cause: error });
        }
        // A full or read-only disk here is the gateway's problem, not the server's: passed on as it is.
        if (LOCAL_FAILURES.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
        throw toTransportError(error, resolved.downloadUrl);
      }
      try {
        // The unpacker stops at the tar end marker; whatever follows still counts towards length and hash.
        while (!(await source.next()).done);
        if (received !== resolved.length) {
          throw new CatalogError(CatalogFault.CorruptData, `${resolved.targetPath} is ${received} bytes; its signed metadata says ${resolved.length}`);
        }
        for (const { algorithm, hash } of hashers) {
          const actual = hash.digest('hex');
          if (actual !== resolved.hashes[algorithm]) {
            throw new CatalogError(CatalogFault.CorruptData, `${resolved.targetPath}: ${algorithm} ${actual} does not match the signed ${resolved.hashes[algorithm]!}`);
          }
        }
        const summary = targetCustomOf(unpacked.manifest, received, unpacked.unpackedSize);
        for (const key of ['name', 'vendor', 'version', 'unpackedSize'] as const) {
          if (summary[key] !== resolved.custom[key]) {
            throw new CatalogError(CatalogFault.CorruptData, `${resolved.targetPath}: the package's ${key} (${summary[key]}) differs from the signed summary (${resolved.custom[key]})`);
          }
        }
        if (JSON.stringify(summary.executionUnits) !== JSON.stringify(resolved.custom.executionUnits)) {
          throw new CatalogError(CatalogFault.CorruptData, `${resolved.targetPath}: the package's execution units differ from the signed summary`);
        }
        try {
          checkBerthCompatibility(unpacked.manifest, options.berthVersion);
        } catch (error) {
          throw new CatalogError(CatalogFault.Incompatible, (error as Error).message, { cause: error });
        }
        return { resolved, manifest: unpacked.manifest, imagePath: unpacked.imagePath, unpackedSize: unpacked.unpackedSize };
      } catch (error) {
        await rm(unpacked.imagePath, { force: true });
        if (signal?.aborted) throw signal.reason;
        if (error instanceof CatalogError) throw error;
        throw toTransportError(error, resolved.downloadUrl);
      }
    },
  };
}
