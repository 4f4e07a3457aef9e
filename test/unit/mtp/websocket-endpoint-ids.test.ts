// Pure parts of the WebSocket binding that say who a peer is: the eid query (R-WS.10b/10c), the deprecated
// bbf-usp-protocol extension header (R-WS.10a/11a), Endpoint IDs in certificates (urn:bbf:usp:id: SAN URIs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeEndpointIdForQuery,
  endpointIdFromQuery,
  parseExtensionOffers,
  pathWithEndpointId,
  uspExtensionHeader,
  uspExtensionOffer,
  withoutUspExtension,
} from '../../../src/mtp/websocket/endpoint-id-query.ts';
import { endpointIdsFromSubjectAltName, parseSubjectAltName } from '../../../src/mtp/websocket/certificate-endpoint-ids.ts';

test('eid query: the Endpoint ID is opaque, so its own % becomes %25 (the R-WS.10c example), and colons stay', () => {
  assert.equal(encodeEndpointIdForQuery('doc::agent%21'), 'doc::agent%2521');
  assert.equal(encodeEndpointIdForQuery('os::012345-GW0001'), 'os::012345-GW0001');
  assert.equal(encodeEndpointIdForQuery('proto::a b&c=d#e/f?g'), 'proto::a%20b%26c%3Dd%23e%2Ff%3Fg');
  assert.equal(encodeEndpointIdForQuery('self::é'), 'self::%C3%A9');
});

test('eid query: round trip, and decoded from any position among other query data', () => {
  for (const eid of ['doc::agent%21', 'oui:00256D:my-unique-bbf-id-42', 'proto::x+y', 'self::a.b_c~d']) {
    assert.deepEqual(endpointIdFromQuery(`?eid=${encodeEndpointIdForQuery(eid)}`), { endpointId: eid }, eid);
  }
  assert.deepEqual(endpointIdFromQuery('a=1&eid=doc::agent%2521&b=2'), { endpointId: 'doc::agent%21' });
  // `+` is not a space in a URI query (RFC 3986), only in HTML forms.
  assert.deepEqual(endpointIdFromQuery('eid=proto::a+b'), { endpointId: 'proto::a+b' });
  assert.equal(endpointIdFromQuery(''), undefined);
  assert.equal(endpointIdFromQuery('?a=1&eidx=2&xeid=3'), undefined);
});

test('eid query: two eids, bad percent-encoding, empty, too long or with spaces is an error naming the cause', () => {
  assert.deepEqual(endpointIdFromQuery('eid=a::b&eid=c::d'), { error: 'the query has more than one eid' });
  assert.deepEqual(endpointIdFromQuery('eid=a::%zz'), { error: 'the eid in the query is not valid percent-encoding' });
  assert.match((endpointIdFromQuery('eid=') as { error: string }).error, /empty/);
  assert.match((endpointIdFromQuery('eid') as { error: string }).error, /empty/);
  assert.match((endpointIdFromQuery(`eid=${'a'.repeat(257)}`) as { error: string }).error, /longer than 256/);
  assert.match((endpointIdFromQuery('eid=proto::a%20b') as { error: string }).error, /characters no Endpoint ID has/);
  assert.match((endpointIdFromQuery('eid=proto::%22') as { error: string }).error, /characters no Endpoint ID has/);
});

test('the path the client asks for: eid added to the query, after & when there is one; / when the path is empty', () => {
  assert.equal(pathWithEndpointId('/usp', 'doc::agent%21'), '/usp?eid=doc::agent%2521');
  assert.equal(pathWithEndpointId('', 'a::b'), '/?eid=a::b');
  assert.equal(pathWithEndpointId('usp', 'a::b'), '/usp?eid=a::b');
  assert.equal(pathWithEndpointId('/usp?tenant=7', 'a::b'), '/usp?tenant=7&eid=a::b');
  assert.equal(pathWithEndpointId('/usp?', 'a::b'), '/usp?eid=a::b');
});

test('bbf-usp-protocol extension: found among other offers, quoted or not, with escapes; absent or without eid', () => {
  assert.deepEqual(uspExtensionOffer('bbf-usp-protocol; eid="proto::ctrl"'), { offered: true, endpointId: 'proto::ctrl' });
  assert.deepEqual(uspExtensionOffer('permessage-deflate; client_max_window_bits, BBF-USP-Protocol ; EID=proto::ctrl'), { offered: true, endpointId: 'proto::ctrl' });
  assert.deepEqual(uspExtensionOffer('bbf-usp-protocol; eid="a,b;c\\"d"'), { offered: true, endpointId: 'a,b;c"d' });
  assert.deepEqual(uspExtensionOffer('bbf-usp-protocol'), { offered: true });
  assert.deepEqual(uspExtensionOffer('permessage-deflate'), { offered: false });
  assert.deepEqual(uspExtensionOffer(undefined), { offered: false });
  assert.deepEqual(uspExtensionOffer(',,;;"'), { offered: false });
  assert.equal(parseExtensionOffers('a; x=1, b').length, 2);
});

test('bbf-usp-protocol extension: the answer quotes the eid, and taking it out of a header leaves the rest', () => {
  assert.equal(uspExtensionHeader('os::012345-GW1'), 'bbf-usp-protocol; eid="os::012345-GW1"');
  assert.equal(uspExtensionHeader('a"b\\c'), 'bbf-usp-protocol; eid="a\\"b\\\\c"');
  assert.deepEqual(uspExtensionOffer(uspExtensionHeader('a"b\\c')), { offered: true, endpointId: 'a"b\\c' });
  assert.equal(withoutUspExtension('bbf-usp-protocol; eid="x, y"'), undefined);
  assert.equal(withoutUspExtension('bbf-usp-protocol; eid="x, y", permessage-deflate'), 'permessage-deflate');
});

test('certificate Endpoint IDs: every urn:bbf:usp:id: SAN URI, nothing from DNS names or other URNs', () => {
  const san = 'DNS:localhost, IP Address:127.0.0.1, URI:urn:bbf:usp:id:proto::ctrl, URI:URN:BBF:USP:ID:oui:00256D:a%21b, URI:urn:example:x, DNS:urn:bbf:usp:id:dns-only';
  assert.deepEqual(endpointIdsFromSubjectAltName(san), ['proto::ctrl', 'oui:00256D:a%21b']);
  assert.deepEqual(endpointIdsFromSubjectAltName('DNS:localhost'), []);
  assert.deepEqual(endpointIdsFromSubjectAltName(undefined), []);
  assert.deepEqual(endpointIdsFromSubjectAltName('URI:urn:bbf:usp:id:'), []);
});

test('certificate Endpoint IDs: a value Node quotes (a comma inside) is one entry, not a smuggled second one', () => {
  // Node's own rendering of a SAN URI "urn:bbf:usp:id:evil, URI:urn:bbf:usp:id:proto::ctrl" (checked with openssl).
  const san = 'URI:"urn:bbf:usp:id:evil\\u002c URI:urn:bbf:usp:id:proto::ctrl", DNS:localhost';
  assert.deepEqual(parseSubjectAltName(san), [
    { type: 'URI', value: 'urn:bbf:usp:id:evil, URI:urn:bbf:usp:id:proto::ctrl' },
    { type: 'DNS', value: 'localhost' },
  ]);
  assert.deepEqual(endpointIdsFromSubjectAltName(san), ['evil, URI:urn:bbf:usp:id:proto::ctrl']);
  // Unreadable text ends the list rather than guessing.
  assert.deepEqual(parseSubjectAltName('URI:"unterminated, DNS:x'), []);
});
