// Whether a socket error means the TLS settings are wrong: the peer's certificate does not verify against the CA,
// names another host or has expired, or the handshake itself failed (TLS to a plain port). An operator must act,
// so every MTP shows Error_Misconfigured rather than retrying as if the broker were merely unreachable. The codes
// are Node's own (ERR_TLS_*, ERR_SSL_*, EPROTO) and OpenSSL's verification results (UNABLE_TO_VERIFY_LEAF_SIGNATURE,
// CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, …).
const OPENSSL_VERIFY_RESULT = /CERT|VERIFY|SIGNATURE|ISSUER|SELF_SIGNED/;

export function isTlsFailure(code: string | undefined): boolean {
  if (code === undefined) return false;
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code === 'EPROTO' || OPENSSL_VERIFY_RESULT.test(code);
}
