// The STOMP 1.2 frame codec: escaping, binary bodies, EOL variants, heart-beats, chunk boundaries and its bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFrameDecoder, encodeFrame, escapeHeader, frameLimitsFor, StompFrameError, unescapeHeader } from '../../../src/mtp/stomp/stomp-frame.ts';
import type { StompFrame, StompFrameLimits } from '../../../src/mtp/stomp/stomp-frame.ts';

const LIMITS: StompFrameLimits = { maxFrameBytes: 4096, maxHeaders: 8, maxHeaderLineBytes: 256 };

function decodeAll(chunks: readonly Uint8Array[], limits: StompFrameLimits = LIMITS): StompFrame[] {
  const frames: StompFrame[] = [];
  const decoder = createFrameDecoder(limits, (frame) => frames.push(frame));
  for (const chunk of chunks) decoder.push(chunk);
  return frames;
}

function plain(frame: StompFrame): { command: string; headers: [string, string][]; body: number[] } {
  return { command: frame.command, headers: [...frame.headers], body: [...frame.body] };
}

test('header escaping round-trips \\r \\n : and \\ (STOMP 1.2), and an undefined escape is an error', () => {
  const nasty = 'proto::agent\r\nx\\y:z é';
  assert.equal(escapeHeader(nasty), 'proto\\c\\cagent\\r\\nx\\\\y\\cz é');
  assert.equal(unescapeHeader(escapeHeader(nasty)), nasty);
  assert.throws(() => unescapeHeader('a\\tb'), /undefined escape sequence \\t/);
  assert.throws(() => unescapeHeader('a\\'), /lone backslash/);

  const bytes = encodeFrame('SEND', [['reply-to-dest', nasty], ['we:ird\nname', 'v']]);
  assert.match(bytes.toString('utf8'), /^SEND\nreply-to-dest:proto\\c\\cagent\\r\\nx\\\\y\\cz é\nwe\\cird\\nname:v\n\n\0$/);
  const [frame] = decodeAll([bytes]);
  assert.deepEqual([...frame!.headers], [['reply-to-dest', nasty], ['we:ird\nname', 'v']]);
});

test('the STOMP frame escapes (endpoint-id colons become \\c); CONNECT and CONNECTED are not escaped', () => {
  assert.equal(encodeFrame('STOMP', [['accept-version', '1.2'], ['endpoint-id', 'os::012345-AB']]).toString(), 'STOMP\naccept-version:1.2\nendpoint-id:os\\c\\c012345-AB\n\n\0');
  assert.equal(encodeFrame('CONNECT', [['endpoint-id', 'os::012345-AB']]).toString(), 'CONNECT\nendpoint-id:os::012345-AB\n\n\0');
  assert.throws(() => encodeFrame('CONNECT', [['x', 'a\nb']]), StompFrameError);
  const [connected] = decodeAll([Buffer.from('CONNECTED\nversion:1.2\nsubscribe-dest:/queue/a\\cb:c\n\n\0')]);
  assert.equal(connected!.headers.get('subscribe-dest'), '/queue/a\\cb:c', 'CONNECTED values are taken literally');
});

test('a binary body with NULs travels with content-length; an empty body has none', () => {
  const body = new Uint8Array([0, 1, 0, 0, 255, 10, 13, 0]);
  const bytes = encodeFrame('SEND', [['destination', '/queue/x']], body);
  assert.match(bytes.subarray(0, bytes.length - body.length - 1).toString(), /content-length:8\n\n$/);
  assert.deepEqual(plain(decodeAll([bytes])[0]!), { command: 'SEND', headers: [['destination', '/queue/x'], ['content-length', '8']], body: [...body] });
  assert.equal(encodeFrame('DISCONNECT', [['receipt', '1']]).toString(), 'DISCONNECT\nreceipt:1\n\n\0');
  assert.throws(() => encodeFrame('SEND', [['content-length', '3']], body), /set by the encoder/);
  assert.throws(() => encodeFrame('send', []), /not a STOMP command/);
});

test('CRLF line ends, heart-beat EOLs between frames, a body without content-length, a repeated header', () => {
  const stream = Buffer.from('\n\r\n\nMESSAGE\r\ndestination:/queue/a\r\nk:first\r\nk:second\r\n\r\nhello\0\n\n\r\nRECEIPT\nreceipt-id:7\n\n\0\n');
  const frames = decodeAll([stream]).map(plain);
  assert.deepEqual(frames, [
    { command: 'MESSAGE', headers: [['destination', '/queue/a'], ['k', 'first']], body: [...Buffer.from('hello')] },
    { command: 'RECEIPT', headers: [['receipt-id', '7']], body: [] },
  ]);
});

test('the same frames come out whatever the chunk boundaries: every split point, and byte by byte', () => {
  const body = new Uint8Array(300).map((_, i) => (i % 5 === 0 ? 0 : i % 256));
  const stream = Buffer.concat([
    Buffer.from('\n'),
    encodeFrame('MESSAGE', [['destination', '/queue/agent'], ['reply-to-dest', '/queue/ctl:1'], ['content-type', 'application/vnd.bbf.usp.msg']], body),
    Buffer.from('\r\n\n'),
    Buffer.from('ERROR\r\nmessage:bad\\cthing\r\n\r\ntext body\0'),
    encodeFrame('RECEIPT', [['receipt-id', 'sub-1']]),
  ]);
  const expected = decodeAll([stream]).map(plain);
  assert.equal(expected.length, 3);
  assert.deepEqual(expected[0]!.body, [...body]);
  assert.equal(expected[1]!.headers[0]![1], 'bad:thing');
  for (let at = 0; at <= stream.length; at += 1) {
    assert.deepEqual(decodeAll([stream.subarray(0, at), stream.subarray(at)]).map(plain), expected, `split at ${at}`);
  }
  const bytes = [...stream].map((byte) => Uint8Array.of(byte));
  assert.deepEqual(decodeAll(bytes).map(plain), expected);
});

test('a content-length beyond the frame limit is refused from its headers, before any body is buffered', () => {
  const frames: StompFrame[] = [];
  const decoder = createFrameDecoder(LIMITS, (frame) => frames.push(frame));
  assert.throws(() => { decoder.push(Buffer.from('MESSAGE\ndestination:/queue/a\ncontent-length:1000000\n\n')); }, /announces a 1000000-byte body: larger than the 4096-byte frame limit/);
  assert.ok(decoder.bufferedBytes < 100);
  // Dead from then on: the stream cannot be resynchronised.
  assert.throws(() => { decoder.push(Buffer.from('RECEIPT\nreceipt-id:1\n\n\0')); }, StompFrameError);
  assert.equal(frames.length, 0);
});

test('a body without content-length is bounded too: refused as soon as the frame passes the limit', () => {
  const decoder = createFrameDecoder(LIMITS, () => undefined);
  decoder.push(Buffer.from('MESSAGE\ndestination:/queue/a\n\n'));
  let pushed = 0;
  assert.throws(() => {
    for (;;) {
      decoder.push(Buffer.alloc(1000, 0x41));
      pushed += 1000;
      assert.ok(decoder.bufferedBytes <= LIMITS.maxFrameBytes, `holds ${decoder.bufferedBytes} bytes after ${pushed}`);
    }
  }, /larger than 4096 bytes/);
  assert.ok(pushed < 5000);
});

test('too many headers, an overlong header line (even without its LF), no colon, a bad command are errors', () => {
  const headers = Array.from({ length: 9 }, (_, i) => `h${i}:v\n`).join('');
  assert.throws(() => decodeAll([Buffer.from(`MESSAGE\n${headers}\n\0`)]), /more than 8 headers/);
  const decoder = createFrameDecoder(LIMITS, () => undefined);
  decoder.push(Buffer.from('MESSAGE\nx:'));
  assert.throws(() => { decoder.push(Buffer.alloc(300, 0x61)); }, /longer than 256 bytes/);
  assert.throws(() => decodeAll([Buffer.from('MESSAGE\nno colon here\n\n\0')]), /has no ':'/);
  assert.throws(() => decodeAll([Buffer.from('GET / HTTP/1.1\r\n\r\n')]), /not a STOMP command/);
  assert.throws(() => decodeAll([Buffer.from('MESSAGE\nk:a\\tb\n\n\0')]), /undefined escape sequence/);
  // A line of CRs and no LF still counts against the bound.
  assert.throws(() => decodeAll([Buffer.alloc(400, 0x0d)]), /longer than 256 bytes/);
});

test('content-length must be digits and be followed by NUL', () => {
  assert.throws(() => decodeAll([Buffer.from('MESSAGE\ncontent-length:3\n\nabcX')]), /3-byte body \(content-length\) is not followed by NUL/);
  assert.throws(() => decodeAll([Buffer.from('MESSAGE\ncontent-length:-1\n\n\0')]), /invalid content-length/);
  assert.throws(() => decodeAll([Buffer.from('MESSAGE\ncontent-length:0x10\n\n\0')]), /invalid content-length/);
  assert.deepEqual(decodeAll([Buffer.from('MESSAGE\ncontent-length:0\n\n\0')]).map((f) => f.body.length), [0]);
});

test('frameLimitsFor leaves header room beside the Record', () => {
  const limits = frameLimitsFor(1000);
  const body = new Uint8Array(1000);
  const frame = encodeFrame('MESSAGE', [['destination', '/queue/'.padEnd(2000, 'x')], ['reply-to-dest', '/queue/'.padEnd(2000, 'y')]], body);
  assert.equal(decodeAll([frame], limits)[0]!.body.length, 1000);
});
