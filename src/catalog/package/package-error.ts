// Why a package was refused. `code` is stable (tests and callers branch on it); the message names the member
// or manifest key at fault. The catalog client reports every one of these as USP fault 7035 (corrupt data).
import { BerthError } from '../../errors/berth-error.ts';

export type PackageErrorCode =
  | 'NOT_A_PACKAGE'
  | 'MANIFEST_INVALID'
  | 'UNSAFE_MEMBER'
  | 'UNEXPECTED_MEMBER'
  | 'DUPLICATE_MEMBER'
  | 'MISSING_MEMBER'
  | 'SIZE_MISMATCH'
  | 'TOO_LARGE'
  | 'HASH_MISMATCH'
  | 'TRUNCATED'
  | 'CORRUPT'
  | 'TRAILING_DATA'
  | 'BAD_IMAGE'
  | 'INCOMPATIBLE';

export class PackageError extends BerthError {
  declare readonly code: PackageErrorCode;
  readonly member: string | undefined;
  constructor(code: PackageErrorCode, message: string, member?: string) {
    super(code, member === undefined ? message : `${member}: ${message}`);
    this.name = 'PackageError';
    this.member = member;
  }
}
