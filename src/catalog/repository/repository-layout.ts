// Where a catalog keeps things on disk. `repository/` is the public part: plain files that any static web server
// or CDN can serve (TUF metadata and hash-prefixed targets). `keys/` holds the online keys the server signs with
// (snapshot, timestamp). The offline keys (root, and targets, which signs publisher delegations) are kept apart,
// in a folder of their own (`<dir>-offline-keys/` unless told otherwise): the server never reads them, and the
// administrator can move them off the machine between `publisher add` and `rotate-root`.
import { join, resolve } from 'node:path';

export interface RepositoryLayout {
  readonly dir: string;
  readonly publicDir: string;
  readonly metadataDir: string;
  readonly targetsDir: string;
  readonly incomingDir: string;
  /** Online keys: snapshot and timestamp, and retired timestamp keys. */
  readonly keysDir: string;
  readonly retiredKeysDir: string;
  /** Offline keys: root (one file per key), targets, and retired root keys. */
  readonly offlineKeysDir: string;
  readonly rootKeysDir: string;
  readonly retiredRootKeysDir: string;
  readonly targetsKeyFile: string;
  readonly lockDir: string;
  keyFile(role: 'snapshot' | 'timestamp'): string;
  /** `<v>.<role>.json`: consistent snapshots never overwrite a version a client may be reading. */
  versionedMetadata(version: number, role: string): string;
  timestampFile(): string;
  /** The file of a target under one of its hashes, as tuf-js asks for it: `<dir>/<hash>.<basename>`. */
  targetFile(targetPath: string, hash: string): string;
}

/** `<dir>-offline-keys`, next to the catalog folder (never inside what the server reads). */
export function defaultOfflineKeysDir(dir: string): string {
  return `${resolve(dir)}-offline-keys`;
}

export function layoutOf(dir: string, offlineKeysDir: string = defaultOfflineKeysDir(dir)): RepositoryLayout {
  const publicDir = join(dir, 'repository');
  const metadataDir = join(publicDir, 'metadata');
  const targetsDir = join(publicDir, 'targets');
  const keysDir = join(dir, 'keys');
  return {
    dir,
    publicDir,
    metadataDir,
    targetsDir,
    incomingDir: join(dir, 'incoming'),
    keysDir,
    retiredKeysDir: join(keysDir, 'retired'),
    offlineKeysDir,
    rootKeysDir: join(offlineKeysDir, 'root'),
    retiredRootKeysDir: join(offlineKeysDir, 'retired'),
    targetsKeyFile: join(offlineKeysDir, 'targets.pem'),
    lockDir: join(dir, '.lock'),
    keyFile: (role) => join(keysDir, `${role}.pem`),
    versionedMetadata: (version, role) => join(metadataDir, `${version}.${encodeURIComponent(role)}.json`),
    timestampFile: () => join(metadataDir, 'timestamp.json'),
    targetFile: (targetPath, hash) => {
      const slash = targetPath.lastIndexOf('/');
      return join(targetsDir, targetPath.slice(0, slash), `${hash}.${targetPath.slice(slash + 1)}`);
    },
  };
}
