// Where a catalog keeps things on disk. `repository/` is the public part: plain files that any static web server
// or CDN can serve (TUF metadata and hash-prefixed targets). `keys/` is private: root keys belong offline (the
// folder is only where `catalog init` leaves them), targets signs publisher delegations, snapshot and timestamp
// are the online keys the server signs with.
import { join } from 'node:path';

export interface RepositoryLayout {
  readonly dir: string;
  readonly publicDir: string;
  readonly metadataDir: string;
  readonly targetsDir: string;
  readonly incomingDir: string;
  readonly keysDir: string;
  readonly rootKeysDir: string;
  readonly retiredKeysDir: string;
  readonly lockDir: string;
  keyFile(role: 'targets' | 'snapshot' | 'timestamp'): string;
  /** `<v>.<role>.json`: consistent snapshots never overwrite a version a client may be reading. */
  versionedMetadata(version: number, role: string): string;
  timestampFile(): string;
  /** The file of a target under one of its hashes, as tuf-js asks for it: `<dir>/<hash>.<basename>`. */
  targetFile(targetPath: string, hash: string): string;
}

export function layoutOf(dir: string): RepositoryLayout {
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
    rootKeysDir: join(keysDir, 'root'),
    retiredKeysDir: join(keysDir, 'retired'),
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
