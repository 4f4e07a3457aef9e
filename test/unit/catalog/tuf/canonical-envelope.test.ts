// The signature check a catalog runs on a role's bytes before it parses them: it must accept every role berth app
// publish sends (including strings with control characters, which canonical JSON leaves raw) and only those.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePublishHead } from '../../../../src/catalog/publish-protocol.ts';
import { parseCanonicalJson, verifyCanonicalEnvelope } from '../../../../src/catalog/tuf/canonical-envelope.ts';
import { generateKeyPairPem, signingKeyFromPem } from '../../../../src/catalog/tuf/keys.ts';
import { signEnvelope } from '../../../../src/catalog/tuf/signed-metadata.ts';

const publisher = signingKeyFromPem(generateKeyPairPem().privatePem);
const stranger = signingKeyFromPem(generateKeyPairPem().privatePem);
const keys = new Map([[publisher.keyId, publisher.json.keyval.public]]);
const signed = { _type: 'targets', version: 2, targets: { 'a/b/b-1.berth': { length: 3, custom: { description: 'line one\nline "two"\t\\ é' } } } };

function roleBytes(envelope: unknown): Buffer {
  return encodePublishHead(envelope as Parameters<typeof encodePublishHead>[0]).subarray(4);
}

test('a role signed by the delegated key is accepted on its bytes, and parses back to what was signed', () => {
  const envelope = signEnvelope(signed, [publisher]);
  const bytes = roleBytes(envelope);
  assert.equal(verifyCanonicalEnvelope(bytes, keys, 1), 'signed');
  assert.deepEqual(parseCanonicalJson(bytes), envelope);
});

test('unsigned, signed by a stranger, altered after signing, or below the threshold: unsigned', () => {
  assert.equal(verifyCanonicalEnvelope(roleBytes({ signatures: [], signed }), keys, 1), 'unsigned');
  assert.equal(verifyCanonicalEnvelope(roleBytes(signEnvelope(signed, [stranger])), keys, 1), 'unsigned');
  const envelope = signEnvelope(signed, [publisher]);
  const altered = roleBytes({ ...envelope, signed: { ...signed, version: 3 } });
  assert.equal(verifyCanonicalEnvelope(altered, keys, 1), 'unsigned');
  // The same key twice does not make two signatures.
  const twice = roleBytes({ signatures: [...envelope.signatures, ...envelope.signatures], signed });
  assert.equal(verifyCanonicalEnvelope(twice, keys, 2), 'unsigned');
});

test('anything not laid out as a canonical envelope is refused without being parsed', () => {
  const envelope = signEnvelope(signed, [publisher]);
  assert.equal(verifyCanonicalEnvelope(Buffer.from(JSON.stringify({ signed: envelope.signed, signatures: envelope.signatures })), keys, 1), 'not-canonical');
  assert.equal(verifyCanonicalEnvelope(Buffer.from(`[${'{},'.repeat(1000)}{}]`), keys, 1), 'not-canonical');
  assert.equal(verifyCanonicalEnvelope(Buffer.from(`{"signatures":[${'1,'.repeat(20_000)}1],"signed":{}}`), keys, 1), 'not-canonical', 'signature list too long');
  assert.equal(verifyCanonicalEnvelope(Buffer.from('{"signatures":{"a":1},"signed":{}}'), keys, 1), 'not-canonical');
});
