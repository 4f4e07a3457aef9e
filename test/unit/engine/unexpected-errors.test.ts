// What a Controller is told, and what the operator finds in the log, when a binding throws: a berth error with a USP
// code reaches the Controller as it is and is no error in the log; anything else is logged at `error` with its stack
// and the path, and answered 7003 on that path (7022 for a command, synchronous or asynchronous).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createTestModel } from '../../helpers/model.ts';
import type { TestModel } from '../../helpers/model.ts';
import { handleGet } from '../../../src/engine/handle-get.ts';
import { handleOperate } from '../../../src/engine/handle-operate.ts';
import { createRequestManager } from '../../../src/engine/requests.ts';
import type { OperationResult } from '../../../src/engine/requests.ts';
import type { CommandHandler } from '../../../src/datamodel/bindings-types.ts';
import { ErrorCode, UspError } from '../../../src/usp/errors.ts';
import type { Logger } from '../../../src/log.ts';

interface LogLine {
  level: number;
  msg: string;
  where?: string;
  command?: string;
  err?: { type: string; message: string; stack: string };
}

const ERROR_LEVEL = 50;

/** A logger that keeps every line, down to `trace`, so a test can also see what was not logged at `error`. */
function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as LogLine); done(); } }));
  return { logger, lines };
}

function failingRead(model: TestModel, name: string, error: unknown): void {
  const read = model.dm.read.bind(model.dm);
  model.dm.read = (obj, param) => {
    if (param === name) throw error;
    return read(obj, param);
  };
}

function failingCommands(model: TestModel, error: Error): void {
  const handler: CommandHandler = () => Promise.reject(error);
  model.dm.commandHandler = () => handler;
}

test('Get: a plain Error from a binding is 7003 on that path only, logged at error with its stack and the path', () => {
  const model = createTestModel();
  const { logger, lines } = capturingLogger();
  const ctx = { ...model.ctx(), logger };
  failingRead(model, 'UpTime', new RangeError('a bug in a getter'));
  const results = handleGet(ctx, { paramPaths: ['Device.LocalAgent.UpTime', 'Device.LocalAgent.SoftwareVersion'] }).reqPathResults!;
  assert.equal(results[0]!.errCode, 7003);
  assert.equal(results[0]!.errMsg, 'internal error at Device.LocalAgent.UpTime: a bug in a getter');
  assert.equal(results[1]!.errCode, 0, 'the other path is still answered');
  const errors = lines.filter((line) => line.level >= ERROR_LEVEL);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.where, 'Device.LocalAgent.UpTime');
  assert.equal(errors[0]!.err?.type, 'RangeError');
  assert.match(errors[0]!.err?.stack ?? '', /RangeError: a bug in a getter\n\s+at /);
});

test('Get: a berth error with a USP code reaches the Controller as it is, and is no error in the log', () => {
  const model = createTestModel();
  const { logger, lines } = capturingLogger();
  const ctx = { ...model.ctx(), logger };
  failingRead(model, 'UpTime', new UspError(ErrorCode.InvalidValue, 'the stored value is refused'));
  const result = handleGet(ctx, { paramPaths: ['Device.LocalAgent.UpTime'] }).reqPathResults![0]!;
  assert.equal(result.errCode, 7012);
  assert.equal(result.errMsg, 'the stored value is refused');
  assert.deepEqual(lines.filter((line) => line.level >= ERROR_LEVEL), []);
});

test('synchronous Operate: a plain Error from the command is a cmd_failure 7022 naming the command, logged with its stack', async () => {
  const model = createTestModel();
  const { logger, lines } = capturingLogger();
  failingCommands(model, new Error('the command broke'));
  const response = await handleOperate({ ...model.ctx(), logger }, { command: 'Device.LocalAgent.Controller.1.SendOnBoardRequest()' });
  const result = response.operationResults![0]!;
  assert.equal(result.executedCommand, 'Device.LocalAgent.Controller.1.SendOnBoardRequest()');
  assert.equal(result.cmdFailure?.errCode, 7022);
  assert.equal(result.cmdFailure?.errMsg, 'internal error at Device.LocalAgent.Controller.1.SendOnBoardRequest(): the command broke');
  const errors = lines.filter((line) => line.level >= ERROR_LEVEL);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.where, 'Device.LocalAgent.Controller.1.SendOnBoardRequest()');
  assert.match(errors[0]!.err?.stack ?? '', /Error: the command broke\n\s+at /);
});

test('synchronous Operate: a berth error with a USP code is that cmd_failure, and is no error in the log', async () => {
  const model = createTestModel();
  const { logger, lines } = capturingLogger();
  failingCommands(model, new UspError(ErrorCode.InvalidEuState, 'the unit is Stopping'));
  const response = await handleOperate({ ...model.ctx(), logger }, { command: 'Device.LocalAgent.Controller.1.SendOnBoardRequest()' });
  assert.deepEqual(response.operationResults![0]!.cmdFailure, { errCode: 7230, errMsg: 'the unit is Stopping' });
  assert.deepEqual(lines.filter((line) => line.level >= ERROR_LEVEL), []);
});

async function runAsync(error: Error): Promise<{ result: OperationResult; lines: LogLine[] }> {
  const model = createTestModel();
  const { logger, lines } = capturingLogger();
  failingCommands(model, error);
  const requests = createRequestManager(model.dm, logger);
  const completed = new Promise<OperationResult>((resolve) => {
    requests.onOperationComplete((_obj, _name, _key, result) => {
      resolve(result);
    });
  });
  const response = await handleOperate({ ...model.ctx(), logger, requests }, { command: 'Device.ScheduleTimer()', commandKey: 'k', inputArgs: { DelaySeconds: '1' } });
  assert.ok(response.operationResults![0]!.reqObjPath, 'the command was started');
  return { result: await completed, lines };
}

test('asynchronous Operate: a plain Error from the command completes with 7022, logged with its stack and the command', async () => {
  const { result, lines } = await runAsync(new TypeError('the timer broke'));
  assert.deepEqual(result, { errCode: 7022, errMsg: 'the timer broke' });
  const errors = lines.filter((line) => line.level >= ERROR_LEVEL);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.command, 'Device.ScheduleTimer()');
  assert.match(errors[0]!.err?.stack ?? '', /TypeError: the timer broke\n\s+at /);
});

test('asynchronous Operate: a berth error with a USP code completes with that code, and is no error in the log', async () => {
  const { result, lines } = await runAsync(new UspError(ErrorCode.SystemResourcesExceeded, 'no room for it'));
  assert.deepEqual(result, { errCode: 7227, errMsg: 'no room for it' });
  assert.deepEqual(lines.filter((line) => line.level >= ERROR_LEVEL), []);
});
