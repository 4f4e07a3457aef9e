// Pure parts of the WebSocket MTP's two roles: the URL the client dials, the subprotocols a server is offered, close
// reasons and the outbound buffer bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webSocketClientUrl } from '../../../src/mtp/websocket/websocket-client.ts';
import { offeredSubprotocols } from '../../../src/mtp/websocket/websocket-server.ts';
import { closeReason, outboundBufferBytes } from '../../../src/mtp/websocket/usp-session.ts';

test('the URL dialled: ws or wss, an IPv6 host in brackets', () => {
  const base = { host: 'ctrl.example', port: 8443, path: '/usp', agentEndpointId: 'os::012345-GW1' };
  assert.equal(webSocketClientUrl({ ...base, encryption: true }), 'wss://ctrl.example:8443/usp?eid=os::012345-GW1');
  assert.equal(webSocketClientUrl({ ...base, encryption: false, host: '::1' }), 'ws://[::1]:8443/usp?eid=os::012345-GW1');
});

test('offered subprotocols, and close reasons cut to the 123 bytes a close frame holds', () => {
  assert.deepEqual(offeredSubprotocols('chat, v1.usp ,x'), ['chat', 'v1.usp', 'x']);
  assert.deepEqual(offeredSubprotocols(undefined), []);
  assert.equal(closeReason('short'), 'short');
  const long = closeReason('é'.repeat(200));
  assert.ok(Buffer.byteLength(long) <= 123, `${Buffer.byteLength(long)} bytes`);
  assert.ok(long.endsWith('…'));
  assert.equal(outboundBufferBytes(5 * 1024 * 1024), 10 * 1024 * 1024);
  assert.equal(outboundBufferBytes(1000), 1024 * 1024);
});
