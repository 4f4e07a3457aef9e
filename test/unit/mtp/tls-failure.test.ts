// Which socket errors every MTP reports as a TLS misconfiguration (Error_Misconfigured) rather than an unreachable
// broker: the codes Node and OpenSSL really give for each cause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTlsFailure } from '../../../src/mtp/tls-failure.ts';

test('TLS failures: certificate verification, host name, expiry, handshake', () => {
  for (const code of [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE', // a certificate of a CA the operator did not give
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'CERT_HAS_EXPIRED',
    'CERT_NOT_YET_VALID',
    'ERR_TLS_CERT_ALTNAME_INVALID', // the certificate names another host
    'ERR_SSL_WRONG_VERSION_NUMBER', // TLS to a plain port
    'EPROTO',
  ]) assert.equal(isTlsFailure(code), true, code);
});

test('not TLS failures: the broker is away, or there is no code', () => {
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', undefined]) assert.equal(isTlsFailure(code), false, String(code));
});
