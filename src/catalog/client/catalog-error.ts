// Why a package could not be taken from the catalog, with the USP fault code the agent reports for it
// (TR-181 2.16 SoftwareModules faults): 7033 server unreachable, 7034 server insecure, 7035 corrupt data,
// 7036 bad or missing signature, 7225 package not meant for this agent (requires.berth). It is the SMM catalog
// port's PackageUnavailable, so the agent's SMM reports the code without knowing this client.
import { PackageUnavailable } from '../../smm/package-catalog.ts';
import { ErrorCode } from '../../usp/errors.ts';

/** The codes of the fault table (usp/errors.ts) a CatalogError may carry. */
export const CatalogFault = {
  ServerUnreachable: ErrorCode.ServerUnreachable,
  ServerInsecure: ErrorCode.ServerInsecure,
  CorruptData: ErrorCode.CorruptData,
  BadSignature: ErrorCode.BadSignature,
  Incompatible: ErrorCode.DuToExecEnvMismatch,
} as const;

export type CatalogFaultCode = (typeof CatalogFault)[keyof typeof CatalogFault];

export class CatalogError extends PackageUnavailable {
  declare readonly uspErrorCode: CatalogFaultCode;
  constructor(uspErrorCode: CatalogFaultCode, message: string, options?: { cause?: unknown }) {
    super(uspErrorCode, message, options);
    this.name = 'CatalogError';
  }
}

// Node/undici error codes of a TLS peer that fails verification.
const TLS_FAILURES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Turns a failure to reach the server (fetch's TypeError, a timeout, a TLS refusal) into 7033 or 7034. */
export function toTransportError(error: unknown, url: string): CatalogError {
  if (error instanceof CatalogError) return error;
  const codes = codesOf(error);
  if (codes.some((code) => TLS_FAILURES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))) {
    return new CatalogError(CatalogFault.ServerInsecure, `catalog server at ${new URL(url).origin} failed the TLS check (${codes.join(', ')})`, { cause: error });
  }
  const name = (error as { name?: unknown }).name;
  const why = name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : codes[0] ?? (error as Error).message;
  return new CatalogError(CatalogFault.ServerUnreachable, `catalog server at ${new URL(url).origin} unreachable (${why})`, { cause: error });
}
