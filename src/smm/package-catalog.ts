// The signed app catalog as Software Module Management uses it: a port, declared here and implemented by the
// catalog client (catalog/client/), so smm/ holds no catalog code. A package that cannot be had is reported as a
// PackageUnavailable carrying the USP fault code the operation ends with (7033–7036, 7225); anything else the
// catalog throws is the agent's own failure (7003), or no disk space for the download (ENOSPC, EDQUOT: 7227).
import type { DownloadOptions, ResolvedPackage, VerifiedPackage } from '../catalog/client/catalog-client.ts';
import { UspError } from '../usp/errors.ts';

export interface PackageCatalog {
  /** The URL's signed summary (TUF): known before a byte of the package is downloaded. */
  resolve(url: string, signal?: AbortSignal): Promise<ResolvedPackage>;
  /** Downloads and verifies the package into `options.workDir`. */
  download(resolved: ResolvedPackage, options: DownloadOptions): Promise<VerifiedPackage>;
}

/** Why the catalog could not give a package, with the USP fault code (`uspErrorCode`) DUStateChange! reports for it. */
export class PackageUnavailable extends UspError {
  constructor(uspErrorCode: number, message: string, options: { cause?: unknown } = {}) {
    super(uspErrorCode, message, options);
    this.name = 'PackageUnavailable';
  }
}
