// The fuzzer's generators are pure functions of their seed: the same (seed, batch, record) gives the same bytes,
// sent the same way, so a printed seed reproduces a failure; other seeds give other inputs. Also: the protobuf
// mutator's wire parser, the sandbox guard, the size bounds, and the row bookkeeping of the state checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usp, usp_record } from '../../../src/usp/generated/usp.js';
import { encodeMsg, encodeRecord, buildNoSessionRecord } from '../../../src/usp/codec.ts';
import { createPrng, mixSeed } from '../../fuzz/prng.ts';
import { encodeVarint, mutateProtobuf, parseWireFields } from '../../fuzz/protobuf-mutate.ts';
import { generateInput, estimatedBytes } from '../../fuzz/fuzz-input.ts';
import type { InputSettings } from '../../fuzz/fuzz-input.ts';
import { hostilePath, modelPath } from '../../fuzz/usp-paths.ts';
import { message } from '../../fuzz/usp-messages.ts';
import { pathLeavesSandbox, recordLeavesSandbox } from '../../fuzz/write-guard.ts';
import { sandboxRowsToDelete, tableOf, unexplainedRows, rowCounts } from '../../fuzz/agent-state.ts';
import { PROFILES, UsageError, parseFuzzOptions } from '../../fuzz/fuzz-options.ts';

const TARGET = { agentId: 'os::012345-FUZZ01', agentTopic: 'usp/agent/os::012345-FUZZ01', controllerId: 'proto::fuzz', probeControllerId: 'proto::fuzz-probe' };
const SETTINGS: InputSettings = {
  target: TARGET,
  bounds: PROFILES['smoke']!,
  agentMaxMessageBytes: 5 * 1024 * 1024,
  brokerMaxPacketBytes: 10 * 1024 * 1024,
  maxRandomBytes: 1024 * 1024,
};

function digest(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

test('the PRNG repeats itself from a seed, and different seeds differ', () => {
  const a = createPrng(42);
  const b = createPrng(42);
  const c = createPrng(43);
  const fromA = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(Array.from({ length: 100 }, () => b.next()), fromA);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c.next()), fromA);
  assert.equal(mixSeed(1, 2, 3), mixSeed(1, 2, 3));
  assert.notEqual(mixSeed(1, 2, 3), mixSeed(1, 3, 2), 'the order of the words matters');
});

test('the PRNG stays in its ranges and reaches their ends', () => {
  const rng = createPrng(7);
  const ints = new Set<number>();
  const lengths = new Set<number>();
  for (let i = 0; i < 5000; i++) {
    const n = rng.int(5);
    assert.ok(n >= 0 && n < 5);
    ints.add(n);
    const between = rng.between(-2, 2);
    assert.ok(between >= -2 && between <= 2);
    const f = rng.float();
    assert.ok(f >= 0 && f < 1);
    const length = rng.length(4096);
    assert.ok(length >= 0 && length <= 4096);
    lengths.add(length);
  }
  assert.equal(ints.size, 5);
  assert.ok(lengths.has(0) && lengths.has(1), 'empty and one-byte inputs are generated');
  assert.ok([...lengths].some((l) => l >= 2048), 'and large ones');
  assert.equal(rng.bytes(13).length, 13);
});

test('an input is a pure function of (seed, batch, record): same bytes, same channel, same description', () => {
  for (let index = 0; index < 150; index++) {
    const first = generateInput(1234, 3, index, SETTINGS);
    const again = generateInput(1234, 3, index, SETTINGS);
    assert.equal(again.description, first.description);
    assert.equal(again.generator, first.generator);
    assert.equal(again.skipped, first.skipped);
    assert.deepEqual(again.publishes.map((p) => p.channel), first.publishes.map((p) => p.channel));
    assert.deepEqual(again.publishes.map((p) => digest(p.bytes)), first.publishes.map((p) => digest(p.bytes)));
  }
});

test('another seed, batch or record gives other inputs', () => {
  const sample = (seed: number, batch: number): string[] => Array.from({ length: 40 }, (_, i) => digest(generateInput(seed, batch, i, SETTINGS).publishes[0]!.bytes));
  const base = sample(1, 0);
  for (const other of [sample(2, 0), sample(1, 1)]) {
    const same = other.filter((bytes, i) => bytes === base[i]).length;
    assert.ok(same < 5, `${same} of 40 inputs identical`);
  }
  assert.notEqual(new Set(base).size, 1);
});

test('every generator and every channel is used, and inputs stay under the broker limit', () => {
  const generators = new Set<string>();
  const channels = new Set<string>();
  for (let index = 0; index < 600; index++) {
    const input = generateInput(99, 0, index, SETTINGS);
    generators.add(input.generator);
    for (const publish of input.publishes) {
      channels.add(publish.channel);
      assert.ok(publish.bytes.length <= SETTINGS.brokerMaxPacketBytes, `${input.description}: ${publish.bytes.length} bytes`);
    }
  }
  assert.deepEqual([...generators].sort(), ['mutated', 'oversized', 'random-bytes', 'semantic']);
  assert.equal(channels.size, 7);
});

test('semantic messages cover every request type the agent serves, and the ones it must refuse', () => {
  const names = new Set<string>();
  const rng = createPrng(5);
  for (let i = 0; i < 2000; i++) names.add(message(rng, TARGET, SETTINGS.bounds, `m${i}`).name);
  for (const name of ['Get', 'GetInstances', 'GetSupportedDM', 'GetSupportedProtocol', 'Set', 'Add', 'Delete', 'Operate', 'NotifyResp', 'Notify', 'Register', 'Deregister', 'GetResp', 'Error', 'unknown msg_type', 'no header', 'empty body', 'empty request']) {
    assert.ok(names.has(name), `no ${name} in 2,000 messages`);
  }
});

test('oversized inputs respect the bounds they are given', () => {
  const small: InputSettings = { ...SETTINGS, bounds: { maxPaths: 7, maxObjects: 3, maxParamSettings: 5, maxStringBytes: 100 }, weights: { oversized: 1, 'random-bytes': 0, mutated: 0, semantic: 0 } };
  for (let index = 0; index < 60; index++) {
    const input = generateInput(8, 0, index, small);
    const record = usp_record.Record.decode(input.publishes[0]!.bytes);
    const msg = usp.Msg.decode(record.noSessionContext!.payload!);
    const request = msg.body!.request!;
    assert.ok((request.get?.paramPaths?.length ?? 0) <= 7, input.description);
    assert.ok((request.add?.createObjs?.length ?? 0) <= 3, input.description);
    assert.ok((request.set?.updateObjs?.[0]?.paramSettings?.length ?? 0) <= 5, input.description);
    if (!input.description.includes('agent limit')) assert.ok(input.publishes[0]!.bytes.length < 2000, `${input.description}: ${input.publishes[0]!.bytes.length} bytes`);
  }
});

test('a Record near the agent limit has exactly the size asked for', () => {
  const only: InputSettings = { ...SETTINGS, weights: { oversized: 1, 'random-bytes': 0, mutated: 0, semantic: 0 } };
  let checked = 0;
  for (let index = 0; index < 200 && checked < 3; index++) {
    const input = generateInput(3, 0, index, only);
    const size = /Get Record of (\d+) bytes/.exec(input.description);
    if (!size) continue;
    assert.equal(input.publishes[0]!.bytes.length, Number(size[1]));
    checked += 1;
  }
  assert.equal(checked, 3);
});

test('estimatedBytes counts a value shared by many objects once per object', () => {
  const shared = { value: 'x'.repeat(1000) };
  assert.ok(estimatedBytes({ objs: Array.from({ length: 100 }, () => shared) }) >= 100_000);
});

test('the wire parser reads what protobufjs writes, and refuses what is not a message', () => {
  const bytes = encodeRecord(buildNoSessionRecord({ toId: 'a', fromId: 'b', msg: Uint8Array.of(1, 2, 3) }));
  const fields = parseWireFields(bytes)!;
  assert.deepEqual(fields.map((f) => [f.fieldNumber, f.wireType]), [[1, 2], [2, 2], [3, 2], [7, 2]]);
  assert.equal(parseWireFields(Uint8Array.of(0x0a, 0x05, 0x61)), undefined, 'a length past the end');
  assert.equal(parseWireFields(Uint8Array.of(0x0f)), undefined, 'wire type 7');
  assert.deepEqual([...encodeVarint(300)], [0xac, 0x02]);
});

test('mutations are deterministic from the seed and change the bytes', () => {
  const valid = encodeRecord(buildNoSessionRecord({ toId: TARGET.agentId, fromId: TARGET.controllerId, msg: encodeMsg({ header: { msgId: 'x', msgType: usp.Header.MsgType.GET }, body: { request: { get: { paramPaths: ['Device.LocalAgent.'] } } } }) }));
  let changed = 0;
  for (let seed = 0; seed < 200; seed++) {
    const one = mutateProtobuf(valid, createPrng(seed));
    const two = mutateProtobuf(valid, createPrng(seed));
    assert.equal(digest(one.bytes), digest(two.bytes));
    assert.deepEqual(one.mutations, two.mutations);
    assert.ok(one.mutations.length >= 1 && one.mutations.length <= 3);
    if (digest(one.bytes) !== digest(valid)) changed += 1;
  }
  assert.ok(changed > 190, `${changed} of 200 mutations changed the Record`);
});

test('paths: model paths name real objects; hostile paths include the known troublemakers', () => {
  const rng = createPrng(11);
  const model = Array.from({ length: 300 }, () => modelPath(rng));
  assert.ok(model.every((p) => p.startsWith('Device.')));
  assert.ok(model.some((p) => p.includes('.*.')) && model.some((p) => p.includes('[')), 'wildcards and search expressions');
  const hostile = new Set(Array.from({ length: 600 }, () => hostilePath(rng)));
  assert.ok(hostile.has('Device.') && hostile.has(''), 'Device. and the empty path');
  assert.ok([...hostile].some((p) => p.length > 65_536), 'a path over the agent limit');
  assert.ok([...hostile].some((p) => p.includes('+.')), 'reference following');
});

test('the sandbox: writes to the fuzzer\'s rows pass, writes that could cut its own line do not', () => {
  for (const ok of [
    ['Device.LocalAgent.Subscription.*.', 'delete'],
    ['Device.LocalAgent.Subscription.[ID=="x"].', 'set'],
    ['Device.LocalAgent.Controller.', 'add'],
    ['Device.LocalAgent.Controller.3.MTP.', 'add'],
    ['Device.LocalAgent.ControllerTrust.Role.4.', 'delete'],
    ['Device.ScheduleTimer()', 'operate'],
    ['Device.LocalAgent.Request.*.Cancel()', 'operate'],
    ['Device.LocalAgent.', 'set'],
    ['Not.A.Path', 'delete'],
    ['Device..', 'delete'],
  ] as const) assert.equal(pathLeavesSandbox(ok[0], ok[1]), undefined, ok[0]);
  for (const bad of [
    ['Device.LocalAgent.Controller.1.', 'set'],
    ['Device.LocalAgent.Controller.*.', 'delete'],
    ['Device.LocalAgent.Controller.[EndpointID=="proto::fuzz"].', 'delete'],
    ['Device.LocalAgent.ControllerTrust.Role.1.', 'delete'],
    ['Device.MQTT.Client.1.', 'set'],
    ['Device.MQTT.Client.1.ForceReconnect()', 'operate'],
    ['Device.LocalAgent.MTP.1.', 'set'],
    ['Device.LocalAgent.Subscription.*.Recipient+.', 'set'],
    ['Device.DeviceInfo.VendorLogFile.1.Upload()', 'operate'],
  ] as const) assert.ok(pathLeavesSandbox(bad[0], bad[1]), bad[0]);

  const record = (request: usp.Request.$Properties, toId = TARGET.agentId): Uint8Array =>
    encodeRecord(buildNoSessionRecord({ toId, fromId: TARGET.controllerId, msg: encodeMsg({ header: { msgId: 'g', msgType: usp.Header.MsgType.SET }, body: { request } }) }));
  const disable = { set: { updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'Enable', value: 'false' }] }] } };
  assert.match(recordLeavesSandbox(record(disable), TARGET.agentId)!, /Controller\.1\./);
  assert.equal(recordLeavesSandbox(record(disable, 'os::other'), TARGET.agentId), undefined, 'another agent\'s Record is dropped unread');
  assert.equal(recordLeavesSandbox(record({ get: { paramPaths: ['Device.LocalAgent.Controller.1.'] } }), TARGET.agentId), undefined, 'reads go anywhere');
  assert.equal(recordLeavesSandbox(Uint8Array.of(0xff, 0xff), TARGET.agentId), undefined, 'bytes the agent cannot decode');
});

test('generated inputs that would write outside the sandbox are marked, not sent', () => {
  for (let index = 0; index < 800; index++) {
    const input = generateInput(21, 0, index, SETTINGS);
    if (input.skipped) continue;
    for (const publish of input.publishes) assert.equal(recordLeavesSandbox(publish.bytes, TARGET.agentId), undefined, input.description);
  }
});

test('state bookkeeping: tables, unexplained rows, what a reset deletes', () => {
  assert.equal(tableOf('Device.LocalAgent.Controller.3.MTP.12.'), 'Device.LocalAgent.Controller.{i}.MTP.{i}.');
  const initial = new Set(['Device.LocalAgent.Controller.1.', 'Device.LocalAgent.Controller.2.', 'Device.LocalAgent.ControllerTrust.Role.1.']);
  const rows = [...initial, 'Device.LocalAgent.Subscription.4.', 'Device.LocalAgent.Subscription.5.', 'Device.LocalAgent.Controller.3.', 'Device.LocalAgent.Controller.3.MTP.1.', 'Device.LocalAgent.Request.2.'];
  const reported = new Set(['Device.LocalAgent.Subscription.4.', 'Device.LocalAgent.Controller.3.', 'Device.LocalAgent.Controller.3.MTP.1.']);
  assert.deepEqual(unexplainedRows(rows, initial, reported), ['Device.LocalAgent.Subscription.5.']);
  assert.deepEqual(sandboxRowsToDelete(rows, initial), ['Device.LocalAgent.Subscription.4.', 'Device.LocalAgent.Subscription.5.', 'Device.LocalAgent.Controller.3.']);
  assert.deepEqual(rowCounts(rows)[0], ['Device.LocalAgent.Controller.{i}.', 3]);
});

test('options: flags and FUZZ_* variables, flags first; a reproduce line with what decides the inputs', () => {
  const fromEnv = parseFuzzOptions([], { FUZZ_SEED: '17', FUZZ_RECORDS: '50', FUZZ_SECONDS: '9' }, () => 1);
  assert.deepEqual([fromEnv.seed, fromEnv.seedGiven, fromEnv.records, fromEnv.seconds], [17, true, 50, 9]);
  const fromFlags = parseFuzzOptions(['--seed', '5', '--records', '10', '--profile', 'smoke', '--max-paths', '3'], { FUZZ_SEED: '17' }, () => 1);
  assert.equal(fromFlags.seed, 5);
  assert.equal(fromFlags.bounds.maxPaths, 3);
  assert.equal(fromFlags.reproduceCommand, 'npm run fuzz -- --seed 5 --profile smoke --max-paths 3');
  const random = parseFuzzOptions([], {}, () => 4242);
  assert.deepEqual([random.seed, random.seedGiven], [4242, false]);
  assert.deepEqual(parseFuzzOptions(['--batch', '2', '--record', '9'], {}, () => 1).only, { batch: 2, record: 9 });
  assert.throws(() => parseFuzzOptions(['--record', '9'], {}, () => 1), UsageError);
  assert.throws(() => parseFuzzOptions(['--seed', 'x'], {}, () => 1), UsageError);
  assert.throws(() => parseFuzzOptions(['--profile', 'huge'], {}, () => 1), UsageError);
  assert.throws(() => parseFuzzOptions(['--bogus'], {}, () => 1), UsageError);
});
