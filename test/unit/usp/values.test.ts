// TR-106 value types: canonical forms and 7011/7012 for every type, lists, dateTime calendars and timezones,
// binary lengths, toDateTime, and TR-369 typed search comparison (operators, quoting, 7008) as tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, UspError } from '../../../src/usp/errors.ts';
import type { SearchOp } from '../../../src/usp/path.ts';
import { canonicalValue, compileTerm, INFINITE_TIME, matchesTerm, splitList, toDateTime, UNKNOWN_TIME, utcTimestamp } from '../../../src/usp/values.ts';
import type { ParamType, ValueSpec } from '../../../src/usp/values.ts';

function codeOf(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof UspError, `expected a UspError, got ${error instanceof Error ? `${error.name}: ${error.message}` : typeof error}`);
    return error.uspErrorCode;
  }
}

const OK = 'ok';
const T = ErrorCode.InvalidType; // 7011
const V = ErrorCode.InvalidValue; // 7012
const P = ErrorCode.InvalidPathSyntax; // 7008

/** [spec, input, canonical output or error code] */
type Case = readonly [ValueSpec, string, string | number];

const str: ValueSpec = { type: 'string' };
const bool: ValueSpec = { type: 'boolean' };
const uint: ValueSpec = { type: 'unsignedInt' };
const int: ValueSpec = { type: 'int' };
const ulong: ValueSpec = { type: 'unsignedLong' };
const long: ValueSpec = { type: 'long' };
const dec: ValueSpec = { type: 'decimal' };
const time: ValueSpec = { type: 'dateTime' };
const b64: ValueSpec = { type: 'base64' };
const hex: ValueSpec = { type: 'hexBinary' };

const canonicalCases: readonly Case[] = [
  // string: anything, subject to length (in characters) and enumeration
  [str, '', ''],
  [str, 'any text, with commas and "quotes" and %', 'any text, with commas and "quotes" and %'],
  [str, '  kept as is  ', '  kept as is  '],
  [{ type: 'string', maxLength: 3 }, 'abc', 'abc'],
  [{ type: 'string', maxLength: 3 }, 'abcd', V],
  [{ type: 'string', maxLength: 1 }, '😀', '😀'], // one character, two UTF-16 units
  [{ type: 'string', maxLength: 1 }, 'é', 'é'],
  [{ type: 'string', minLength: 6, maxLength: 6 }, '00D09E', '00D09E'],
  [{ type: 'string', minLength: 6, maxLength: 6 }, '00D09', V],
  [{ type: 'string', minLength: 1 }, '', V],
  [{ type: 'string', enumValues: ['Enabled', 'Disabled'] }, 'Enabled', 'Enabled'],
  [{ type: 'string', enumValues: ['Enabled', 'Disabled'] }, 'enabled', V],
  [{ type: 'string', enumValues: ['Enabled', 'Disabled'] }, '', V],
  // boolean: true/false/1/0 only
  [bool, 'true', 'true'],
  [bool, 'false', 'false'],
  [bool, '1', 'true'],
  [bool, '0', 'false'],
  [bool, 'TRUE', T],
  [bool, 'True', T],
  [bool, 'yes', T],
  [bool, '', T],
  [bool, ' true', T],
  [bool, '01', T],
  [bool, '2', T],
  // unsignedInt: XML Schema lexical forms, 0..4294967295
  [uint, '0', '0'],
  [uint, '4294967295', '4294967295'],
  [uint, '+5', '5'],
  [uint, '007', '7'],
  [uint, '-0', '0'],
  [uint, `${'0'.repeat(100)}42`, '42'],
  [uint, '4294967296', T],
  [uint, '-1', T],
  [uint, '', T],
  [uint, '+', T],
  [uint, '-', T],
  [uint, '1.0', T],
  [uint, '1e3', T],
  [uint, ' 1', T],
  [uint, '1 ', T],
  [uint, '0x10', T],
  [uint, '1_000', T],
  [uint, '١', T], // Arabic-Indic digit one
  [uint, '9'.repeat(1000), T],
  [{ type: 'unsignedInt', range: { min: 1, max: 10 } }, '1', '1'],
  [{ type: 'unsignedInt', range: { min: 1, max: 10 } }, '10', '10'],
  [{ type: 'unsignedInt', range: { min: 1, max: 10 } }, '0', V],
  [{ type: 'unsignedInt', range: { min: 1, max: 10 } }, '11', V],
  [{ type: 'unsignedInt', range: { min: 1 } }, '4294967295', '4294967295'],
  [{ type: 'unsignedInt', range: { max: 5 } }, '6', V],
  [{ type: 'unsignedInt', range: { min: 1, max: 10 } }, '-1', T], // not an unsignedInt at all: type before range
  // int: -2^31..2^31-1
  [int, '-2147483648', '-2147483648'],
  [int, '2147483647', '2147483647'],
  [int, '-2147483649', T],
  [int, '2147483648', T],
  [int, '-007', '-7'],
  [int, '-0', '0'],
  [{ type: 'int', range: { min: -1, max: 4094 } }, '-1', '-1'],
  [{ type: 'int', range: { min: -1, max: 4094 } }, '-2', V],
  // unsignedLong and long: 64-bit, exact beyond 2^53
  [ulong, '18446744073709551615', '18446744073709551615'],
  [ulong, '18446744073709551616', T],
  [ulong, '9007199254740993', '9007199254740993'],
  [ulong, '-1', T],
  [long, '-9223372036854775808', '-9223372036854775808'],
  [long, '9223372036854775807', '9223372036854775807'],
  [long, '9223372036854775808', T],
  [long, '-9223372036854775809', T],
  [{ type: 'long', range: { min: -10n, max: 9007199254740993n } }, '9007199254740993', '9007199254740993'],
  [{ type: 'long', range: { min: -10n, max: 9007199254740993n } }, '9007199254740994', V],
  [{ type: 'unsignedLong', range: { max: 100 } }, '101', V],
  // decimal
  [dec, '1.5', '1.5'],
  [dec, '+01.50', '1.5'],
  [dec, '-0.0', '0'],
  [dec, '-0', '0'],
  [dec, '.5', '0.5'],
  [dec, '-.5', '-0.5'],
  [dec, '5.', '5'],
  [dec, '100', '100'],
  [dec, '007.000', '7'],
  [dec, '-12.340', '-12.34'],
  [dec, '0.000000000000000000001', '0.000000000000000000001'],
  [dec, '1e5', T],
  [dec, '.', T],
  [dec, '', T],
  [dec, '+', T],
  [dec, '1.2.3', T],
  [dec, '1,5', T],
  [dec, 'NaN', T],
  [dec, 'Infinity', T],
  [dec, ' 1.5', T],
  [{ type: 'decimal', range: { min: 0, max: 100 } }, '100', '100'],
  [{ type: 'decimal', range: { min: 0, max: 100 } }, '100.5', V],
  [{ type: 'decimal', range: { min: 0, max: 100 } }, '-0.1', V],
  // dateTime (TR-106 §3.2.1)
  [time, UNKNOWN_TIME, UNKNOWN_TIME],
  [time, INFINITE_TIME, INFINITE_TIME],
  [time, '2024-05-01T12:00:00Z', '2024-05-01T12:00:00Z'],
  [time, '2024-02-29T23:59:59Z', '2024-02-29T23:59:59Z'],
  [time, '2000-02-29T00:00:00Z', '2000-02-29T00:00:00Z'],
  [time, '2024-05-01T12:00:00.123456Z', '2024-05-01T12:00:00.123456Z'],
  [time, '2024-05-01T12:00:00.0Z', '2024-05-01T12:00:00.0Z'],
  [time, '2024-05-01T12:00:00+00:00', '2024-05-01T12:00:00+00:00'],
  [time, '2024-05-01T12:00:00-00:00', '2024-05-01T12:00:00-00:00'],
  [time, '2024-05-01T12:00:00+02:00', '2024-05-01T12:00:00+02:00'],
  [time, '2024-05-01T12:00:00-14:00', '2024-05-01T12:00:00-14:00'],
  [time, '0001-01-03T03:04:05', '0001-01-03T03:04:05'], // relative time since boot: untimezoned, year < 1000
  [time, '0999-12-31T23:59:59.5', '0999-12-31T23:59:59.5'],
  [time, '2024-05-01T12:00:00', T], // absolute times carry a timezone
  [time, '1000-01-01T00:00:00', T],
  [time, '2023-02-29T00:00:00Z', T],
  [time, '1900-02-29T00:00:00Z', T],
  [time, '2024-04-31T00:00:00Z', T],
  [time, '2024-13-01T00:00:00Z', T],
  [time, '2024-00-01T00:00:00Z', T],
  [time, '2024-01-00T00:00:00Z', T],
  [time, '2024-01-01T24:00:00Z', T],
  [time, '2024-01-01T23:60:00Z', T],
  [time, '2024-01-01T23:59:60Z', T],
  [time, '0000-01-01T00:00:00Z', T],
  [time, '2024-05-01T12:00:00+14:30', T],
  [time, '2024-05-01T12:00:00+15:00', T],
  [time, '2024-05-01T12:00:00+02:60', T],
  [time, '2024-05-01T12:00:00+2:00', T],
  [time, '2024-05-01T12:00:00+0200', T],
  [time, '2024-05-01T12:00:00z', T],
  [time, '2024-05-01T12:00:00ZZ', T],
  [time, '2024-05-01T12:00:00.Z', T],
  [time, '2024-05-01 12:00:00Z', T],
  [time, '2024-05-01T12:00Z', T],
  [time, '2024-5-01T12:00:00Z', T],
  [time, '2024-05-01', T],
  [time, '12024-05-01T12:00:00Z', T],
  [time, '-2024-05-01T12:00:00Z', T],
  [time, '', T],
  [time, 'now', T],
  // base64 (RFC 4648, padded)
  [b64, '', ''],
  [b64, 'YQ==', 'YQ=='],
  [b64, 'YWI=', 'YWI='],
  [b64, 'YWJj', 'YWJj'],
  [b64, 'YWJjZA==', 'YWJjZA=='],
  [b64, '+/+/', '+/+/'],
  [b64, 'YQ=', T],
  [b64, 'YQ', T],
  [b64, 'Y===', T],
  [b64, '====', T],
  [b64, 'YW=j', T],
  [b64, '=YWJ', T],
  [b64, 'YWJj\n', T],
  [b64, 'YW Jj', T],
  [b64, '-_-_', T], // base64url alphabet
  [b64, 'YQ==YQ==', T],
  [{ type: 'base64', maxLength: 2 }, 'YWI=', 'YWI='], // lengths count decoded bytes
  [{ type: 'base64', maxLength: 2 }, 'YWJj', V],
  [{ type: 'base64', minLength: 1 }, '', V],
  // hexBinary
  [hex, '', ''],
  [hex, '00', '00'],
  [hex, 'DEADbeef', 'DEADbeef'],
  [hex, '0', T],
  [hex, 'GG', T],
  [hex, '0x00', T],
  [hex, ' 00', T],
  [hex, '00 ', T],
  [{ type: 'hexBinary', maxLength: 2 }, 'AABB', 'AABB'],
  [{ type: 'hexBinary', maxLength: 2 }, 'AABBCC', V],
  [{ type: 'hexBinary', minLength: 2, maxLength: 2 }, 'AA', V],
  // lists (TR-106 §3.2.2): one comma, optional whitespace; "" is the empty list; items checked one by one
  [{ type: 'unsignedInt', list: true }, '', ''],
  [{ type: 'unsignedInt', list: true }, '   ', ''],
  [{ type: 'unsignedInt', list: true }, '1', '1'],
  [{ type: 'unsignedInt', list: true }, '1, 2 ,03', '1,2,3'],
  [{ type: 'unsignedInt', list: true }, ' 1,\t+2 ', '1,2'],
  [{ type: 'unsignedInt', list: true }, '1,,2', T],
  [{ type: 'unsignedInt', list: true }, '1,', T],
  [{ type: 'unsignedInt', list: true }, '1;2', T],
  [{ type: 'unsignedInt', list: true }, '1,-2', T],
  [{ type: 'unsignedInt', list: true, range: { max: 10 } }, '1,11', V],
  [{ type: 'boolean', list: true }, '1,0,true', 'true,false,true'],
  [{ type: 'string', list: true }, 'a,b', 'a,b'],
  [{ type: 'string', list: true }, 'a , b', 'a,b'],
  [{ type: 'string', list: true }, 'Device.LocalAgent.ControllerTrust.Role.1', 'Device.LocalAgent.ControllerTrust.Role.1'],
  [{ type: 'string', list: true, enumValues: ['MQTT', 'STOMP'] }, 'MQTT, STOMP', 'MQTT,STOMP'],
  [{ type: 'string', list: true, enumValues: ['MQTT', 'STOMP'] }, 'MQTT,CoAP', V],
  [{ type: 'string', list: true, maxLength: 3 }, 'abc,def', 'abc,def'], // per item
  [{ type: 'string', list: true, maxLength: 3 }, 'abc,defg', V],
  [{ type: 'dateTime', list: true }, `${UNKNOWN_TIME}, 2024-05-01T12:00:00Z`, `${UNKNOWN_TIME},2024-05-01T12:00:00Z`],
  [{ type: 'hexBinary', list: true }, 'AA,B', T],
  [{ type: 'decimal', list: true }, '1.50, -0', '1.5,0'],
];

test('canonicalValue: canonical forms, 7011 for values not of the type, 7012 for range/enumeration/length', () => {
  for (const [spec, input, expected] of canonicalCases) {
    const label = `${spec.list ? 'list of ' : ''}${spec.type} ${JSON.stringify(input.length > 80 ? `${input.slice(0, 80)}…` : input)}`;
    if (typeof expected === 'string') {
      assert.equal(canonicalValue(spec, input), expected, label);
      assert.equal(canonicalValue(spec, expected), expected, `${label}: canonical form is a fixed point`);
    } else {
      assert.equal(codeOf(() => canonicalValue(spec, input)), expected, label);
    }
  }
});

test('error messages say what is wrong', () => {
  const messageOf = (spec: ValueSpec, text: string): string => {
    try {
      canonicalValue(spec, text);
    } catch (error) {
      if (error instanceof UspError) return error.message;
    }
    return '';
  };
  assert.match(messageOf(uint, '4294967296'), /"4294967296" is not a valid unsignedInt \(0\.\.4294967295\)/);
  assert.match(messageOf({ type: 'unsignedInt', range: { min: 1, max: 10 } }, '11'), /outside the allowed range 1\.\.10/);
  assert.match(messageOf({ type: 'string', enumValues: ['A', 'B'] }, 'C'), /"C" is not one of: A, B/);
  assert.match(messageOf({ type: 'string', maxLength: 2 }, 'abc'), /3 characters long; at most 2/);
  assert.match(messageOf({ type: 'hexBinary', maxLength: 1 }, 'AABB'), /2 bytes long; at most 1/);
  assert.match(messageOf({ type: 'unsignedInt', list: true }, '1,x'), /^list item 2: "x" is not a valid unsignedInt/);
  assert.match(messageOf(time, '2024-05-01T12:00:00'), /relative times since boot/);
  assert.ok(messageOf({ type: 'string', enumValues: ['A'] }, 'x'.repeat(10000)).length < 200, 'long values are shortened in messages');
  assert.ok(messageOf(uint, 'x'.repeat(10000)).length < 200, 'long values are shortened in messages');
});

test('splitList follows TR-106 separators', () => {
  const cases: readonly [string, readonly string[]][] = [
    ['', []],
    [' \t ', []],
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    [' a , b ', ['a', 'b']],
    ['a,,b', ['a', '', 'b']],
    [',', ['', '']],
    ['a b,c', ['a b', 'c']],
    ['a%2Cb,c', ['a%2Cb', 'c']],
  ];
  for (const [input, expected] of cases) assert.deepEqual(splitList(input), expected, JSON.stringify(input));
});

test('toDateTime: UTC with Z and no milliseconds; Unknown/Infinite Time outside 0001..9999', () => {
  const cases: readonly [Date, string][] = [
    [new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 789)), '2024-05-01T12:00:00Z'],
    [new Date(0), '1970-01-01T00:00:00Z'],
    [new Date(-62135596800000), UNKNOWN_TIME], // 0001-01-01T00:00:00Z itself
    [new Date(-62135596800001), UNKNOWN_TIME], // before year 1
    [new Date(-62135596799000), '0001-01-01T00:00:01Z'],
    [new Date(253402300799999), INFINITE_TIME], // 9999-12-31T23:59:59.999Z
    [new Date(253402300800000), INFINITE_TIME], // year 10000
    [new Date(8.64e15), INFINITE_TIME],
    [new Date(Number.NaN), UNKNOWN_TIME],
  ];
  for (const [date, expected] of cases) {
    assert.equal(toDateTime(date), expected, String(date.getTime()));
    assert.equal(canonicalValue(time, expected), expected);
  }
  assert.match(toDateTime(new Date()), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test('utcTimestamp is toISOString for every year 0..9999', () => {
  const first = -62167219200000; // 0000-01-01T00:00:00.000Z
  const last = 253402300799999; // 9999-12-31T23:59:59.999Z
  const samples = [first, last, 0, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(999, 11, 31, 1, 2, 3, 4)];
  for (let i = 0; i < 2000; i++) samples.push(Math.floor(first + Math.random() * (last - first)));
  for (const ms of samples) assert.equal(utcTimestamp(new Date(ms)), new Date(ms).toISOString(), String(ms));
});

/** [spec, current value, op, constant, quoted, expected: true/false or an error code] */
type TermCase = readonly [ValueSpec, string, SearchOp, string, boolean, boolean | number];

const strList: ValueSpec = { type: 'string', list: true };
const uintList: ValueSpec = { type: 'unsignedInt', list: true };
const timeList: ValueSpec = { type: 'dateTime', list: true };
const t2021 = '2021-06-06T08:00:00Z';

const termCases: readonly TermCase[] = [
  // string: quoted, == and != only
  [str, 'eth0', '==', 'eth0', true, true],
  [str, 'eth1', '==', 'eth0', true, false],
  [str, 'eth1', '!=', 'eth0', true, true],
  [str, 'eth0', '!=', 'eth0', true, false],
  [str, '', '==', '', true, true],
  [str, 'Eth0', '==', 'eth0', true, false], // case-sensitive
  [str, 'a"b', '==', 'a"b', true, true],
  [str, '123', '==', '0123', true, false], // strings compare as strings
  [str, 'eth0', '==', 'eth0', false, P], // must be quoted
  [str, '5', '==', '5', false, P],
  [str, 'b', '<', 'a', true, P],
  [str, 'b', '>=', 'a', true, P],
  [str, 'b', '~=', 'b', true, P], // ~= is for lists
  [{ type: 'string', enumValues: ['Up', 'Down'] }, 'Up', '==', 'Sideways', true, false], // not an error: matches nothing
  // boolean: unquoted true/false/1/0, == and != only
  [bool, 'true', '==', 'true', false, true],
  [bool, 'true', '==', '1', false, true],
  [bool, 'true', '==', '0', false, false],
  [bool, 'false', '==', 'false', false, true],
  [bool, 'false', '!=', 'true', false, true],
  [bool, '1', '==', 'true', false, true], // a stored '1' is true too
  [bool, 'true', '==', 'true', true, P], // TR-369: [Enable=="true"] is invalid
  [bool, 'true', '==', 'yes', false, P],
  [bool, 'true', '==', '2', false, P],
  [bool, 'true', '==', 'TRUE', false, P],
  [bool, 'true', '<', '1', false, P],
  [bool, 'true', '~=', 'true', false, P],
  // integers: unquoted, all ordering operators, numeric (123, +123 and 0123 are equal)
  [uint, '123', '==', '123', false, true],
  [uint, '123', '==', '+123', false, true],
  [uint, '123', '==', '0123', false, true],
  [uint, '0', '==', '-0', false, true],
  [uint, '5', '<', '10', false, true],
  [uint, '10', '<', '10', false, false],
  [uint, '10', '<=', '10', false, true],
  [uint, '10', '>', '10', false, false],
  [uint, '11', '>', '10', false, true],
  [uint, '11', '>=', '12', false, false],
  [uint, '5', '!=', '6', false, true],
  [uint, '9', '<', '10', false, true], // numeric, not lexical
  [uint, 'garbage', '==', '1', false, false], // a stored value that is not of the type matches nothing
  [uint, 'garbage', '!=', '1', false, false],
  [uint, '', '<', '1', false, false],
  [uint, '5', '==', '5', true, P], // numbers are not quoted
  [uint, '5', '==', 'abc', false, P],
  [uint, '5', '>', '-1', false, P], // not an unsignedInt
  [uint, '5', '<', '4294967296', false, P],
  [uint, '5', '==', '1.5', false, P],
  [uint, '5', '~=', '5', false, P],
  [int, '-5', '<', '-4', false, true],
  [int, '-5', '>', '-6', false, true],
  [int, '-5', '==', '-05', false, true],
  [int, '0', '>', '-2147483648', false, true],
  [int, '0', '>', '-2147483649', false, P],
  [ulong, '18446744073709551615', '>', '18446744073709551614', false, true], // exact beyond 2^53
  [ulong, '9007199254740993', '==', '9007199254740992', false, false],
  [long, '-9223372036854775808', '<', '-9223372036854775807', false, true],
  // decimal: exact decimal comparison
  [dec, '1.5', '==', '1.50', false, true],
  [dec, '1.5', '>', '1.45', false, true],
  [dec, '-0.5', '<', '0', false, true],
  [dec, '-0.5', '<', '-0.25', false, true],
  [dec, '-1.5', '<', '-1.25', false, true],
  [dec, '2', '==', '2.0', false, true],
  [dec, '0', '==', '-0.0', false, true],
  [dec, '10', '>', '9.99', false, true],
  [dec, '0.1', '<', '0.10000000000000000001', false, true],
  [dec, '0.6', '>', '0.51', false, true],
  [dec, '.5', '==', '0.5', false, true],
  [dec, '1.5', '==', '1.5', true, P],
  [dec, '1.5', '==', '1e3', false, P],
  // dateTime: chronological; quoted or not; the Unknown Time only with == and !=
  [time, '2021-06-05T00:00:00Z', '<', t2021, false, true],
  [time, '2021-06-05T00:00:00Z', '<', t2021, true, true],
  [time, '2021-06-07T00:00:00Z', '<', t2021, false, false],
  [time, '2021-06-06T10:00:00+02:00', '==', t2021, false, true], // same instant
  [time, '2021-06-06T08:00:00-00:00', '==', t2021, false, true],
  [time, '2021-06-06T08:00:00.5Z', '>', t2021, false, true],
  [time, '2021-06-06T08:00:00.50Z', '==', '2021-06-06T08:00:00.5Z', false, true],
  [time, '2021-06-06T08:00:00.05Z', '<', '2021-06-06T08:00:00.5Z', false, true],
  [time, '2021-12-31T23:59:59Z', '<', '2022-01-01T00:00:00Z', false, true],
  [time, '1999-12-31T23:59:59Z', '<', '2000-01-01T00:00:00Z', false, true],
  [time, INFINITE_TIME, '>', t2021, false, true],
  [time, INFINITE_TIME, '==', '9999-12-31T23:59:59Z', true, true],
  [time, UNKNOWN_TIME, '==', UNKNOWN_TIME, false, true],
  [time, UNKNOWN_TIME, '!=', t2021, false, true],
  [time, UNKNOWN_TIME, '<', t2021, false, false], // the Unknown Time is neither before...
  [time, UNKNOWN_TIME, '>=', '0001-01-01T00:00:00Z', true, P], // (constant is the Unknown Time: invalid)
  [time, UNKNOWN_TIME, '>', '0001-01-01T00:00:01Z', false, false], // ...nor after anything
  [time, t2021, '>', UNKNOWN_TIME, false, P],
  [time, t2021, '<=', '0001-01-01T00:00:00+00:00', false, P],
  [time, '0001-01-03T03:04:05', '<', '0001-01-04T00:00:00', false, true], // relative times since boot
  [time, '0001-01-01T00:00:00', '==', UNKNOWN_TIME, false, false], // boot time is not the Unknown Time
  [time, '0001-01-01T00:00:00', '<', '0001-01-01T00:00:01', false, true],
  [time, 'garbage', '<', t2021, false, false],
  [time, t2021, '==', 'tomorrow', false, P],
  [time, t2021, '==', '2021-06-06T08:00:00', false, P], // absolute time without a timezone
  [time, t2021, '~=', t2021, false, P],
  // hexBinary and base64: the bytes, == and != only, quoted or not
  [hex, '0a0B', '==', '0A0b', false, true],
  [hex, '08', '==', '08', false, true], // TR-369 example [DeviceClass==08]
  [hex, 'DEAD', '!=', 'BEEF', false, true],
  [hex, 'dead', '==', 'DEAD', true, true],
  [hex, '', '==', '', true, true],
  [hex, 'DEAD', '<', 'BEEF', false, P],
  [hex, 'DEAD', '==', 'XYZ', false, P],
  [hex, 'DEAD', '==', '0', false, P],
  [b64, 'YQ==', '==', 'YQ==', false, true],
  [b64, 'YQ==', '==', 'YQ==', true, true],
  [b64, 'YR==', '==', 'YQ==', false, true], // unused trailing bits: the same byte
  [b64, 'YWI=', '!=', 'YQ==', false, true],
  [b64, 'YWI=', '>', 'YQ==', false, P],
  [b64, 'YWI=', '==', 'YQ=', false, P],
  // ~= : list contains, exact element of the element type
  [strList, 'IPv6Firewall,NAT', '~=', 'IPv6Firewall', true, true], // TR-369 example [Capabilities~="IPv6Firewall"]
  [strList, 'IPv6Firewall, NAT', '~=', 'NAT', true, true],
  [strList, 'IPv6Firewall,NAT', '~=', 'IPv6', true, false], // exact element, not substring
  [strList, '', '~=', '', true, false],
  [strList, 'a,b', '~=', 'a,b', true, false],
  [strList, 'IPv6Firewall', '~=', 'IPv6Firewall', false, P],
  [uintList, '5,10', '~=', '5', false, true], // TR-369 example [SampleSeconds~=5]
  [uintList, '5,10', '~=', '05', false, true],
  [uintList, '5,10', '~=', '+10', false, true],
  [uintList, '5,10', '~=', '6', false, false],
  [uintList, 'x,5', '~=', '5', false, true], // unreadable items are skipped
  [uintList, '5,10', '~=', '5', true, P],
  [uintList, '5,10', '~=', 'x', false, P],
  [uintList, '5,10', '~=', '-5', false, P],
  [timeList, `${t2021},${UNKNOWN_TIME}`, '~=', '2021-06-06T10:00:00+02:00', false, true],
  // == and != on a list compare the whole list (a quoted string), item by item
  [strList, 'a, b', '==', 'a,b', true, true],
  [strList, 'a,b', '==', 'a', true, false],
  [strList, 'a,b', '!=', 'b,a', true, true],
  [strList, '', '==', '', true, true],
  [uintList, '5,10', '==', '5, 010', true, true],
  [uintList, '5,10', '==', '5,10,15', true, false],
  [uintList, '5,10', '==', '5,x', true, P],
  [strList, 'a', '==', 'a', false, P],
  [strList, 'a', '<', 'b', true, P],
  [uintList, '5', '>=', '5', true, P],
];

test('matchesTerm: typed comparison per TR-369, 7008 when the operator or constant does not fit the type', () => {
  for (const [spec, actual, op, constant, quoted, expected] of termCases) {
    const label = `${spec.list ? 'list of ' : ''}${spec.type}: ${JSON.stringify(actual)} ${op} ${quoted ? JSON.stringify(constant) : constant}`;
    if (typeof expected === 'boolean') {
      assert.equal(matchesTerm(spec, actual, op, constant, quoted), expected, label);
    } else {
      assert.equal(codeOf(() => matchesTerm(spec, actual, op, constant, quoted)), expected, label);
    }
  }
});

test('compileTerm checks the term once, before any value is seen', () => {
  assert.equal(codeOf(() => compileTerm(str, '<', 'x', true)), P);
  assert.equal(codeOf(() => compileTerm(bool, '==', 'true', true)), P);
  const isSmall = compileTerm(uint, '<', '10', false);
  assert.deepEqual(['1', '9', '10', '11', 'x'].map(isSmall), [true, true, false, false, false]);
});

test('every type accepts the constants TR-369 writes for it and rejects the other quoting', () => {
  const samples: Readonly<Record<ParamType, { value: string; quoted: boolean[] }>> = {
    string: { value: 'x', quoted: [true] },
    boolean: { value: 'true', quoted: [false] },
    unsignedInt: { value: '1', quoted: [false] },
    int: { value: '-1', quoted: [false] },
    unsignedLong: { value: '1', quoted: [false] },
    long: { value: '-1', quoted: [false] },
    decimal: { value: '1.5', quoted: [false] },
    dateTime: { value: t2021, quoted: [false, true] },
    base64: { value: 'YQ==', quoted: [false, true] },
    hexBinary: { value: '0A', quoted: [false, true] },
  };
  for (const [type, { value, quoted }] of Object.entries(samples) as [ParamType, { value: string; quoted: boolean[] }][]) {
    for (const q of [false, true]) {
      const result = codeOf(() => matchesTerm({ type }, value, '==', value, q));
      assert.equal(result, quoted.includes(q) ? OK : P, `${type} ${q ? 'quoted' : 'bare'}`);
      if (result === OK) assert.equal(matchesTerm({ type }, value, '==', value, q), true, type);
    }
  }
});
