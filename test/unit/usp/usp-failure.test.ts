// toUspFailure, the one mapping from a thrown value to what a Controller is told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { BerthError } from '../../../src/errors/berth-error.ts';
import { ErrorCode, UspError } from '../../../src/usp/errors.ts';
import { toUspFailure } from '../../../src/usp/usp-failure.ts';

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }));
  return { logger, lines };
}

test('a berth error with a USP code keeps its code and message and logs nothing', () => {
  const { logger, lines } = capture();
  const error = new BerthError('NOT_FOR_THIS_AGENT', 'needs berth >=9', { uspErrorCode: ErrorCode.DuToExecEnvMismatch });
  assert.deepEqual(toUspFailure(error, logger, { du: 'x' }), { code: 7225, message: 'needs berth >=9', unexpected: false });
  assert.deepEqual(toUspFailure(new UspError(ErrorCode.InvalidValue, 'bad'), logger, {}, ErrorCode.CommandFailure), { code: 7012, message: 'bad', unexpected: false });
  assert.deepEqual(lines, []);
});

test('a berth error without a USP code, a plain Error and a thrown non-Error are logged with their stack and become the fallback', () => {
  const { logger, lines } = capture();
  const runtime = new BerthError('UNAVAILABLE', 'Docker Engine not reachable', { cause: new Error('ECONNREFUSED') });
  assert.deepEqual(toUspFailure(runtime, logger, { du: 'app' }), { code: 7003, message: 'Docker Engine not reachable', unexpected: true });
  assert.deepEqual(toUspFailure(new Error('boom'), logger, { where: 'Device.X()' }, ErrorCode.CommandFailure), { code: 7022, message: 'boom', unexpected: true });
  assert.deepEqual(toUspFailure('a string', logger, {}), { code: 7003, message: 'a string', unexpected: true });
  assert.equal(lines.length, 3);
  for (const line of lines) assert.equal(line['level'], 50);
  const [first, second] = lines as [{ du: string; uspErrorCode: number; err: { stack: string; code: string } }, { where: string; uspErrorCode: number }];
  assert.equal(first.du, 'app');
  assert.equal(first.err.code, 'UNAVAILABLE', 'the stable code is in the log line');
  assert.match(first.err.stack, /Docker Engine not reachable\n\s+at /);
  assert.equal(second.where, 'Device.X()');
  assert.equal(second.uspErrorCode, 7022);
});
