// The validation used for config files, app manifests and catalog summaries: hostile JSON is refused with every
// problem and its key path; good JSON comes back with its defaults and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { array, boolean, formatPath, integer, object, oneOf, record, string } from '../../../src/validation/schema.ts';
import type { Issue } from '../../../src/validation/schema.ts';

function issuesOf(result: { success: boolean; issues?: readonly Issue[] }): string[] {
  assert.equal(result.success, false, 'expected the value to be refused');
  return result.issues!.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
}

const app = object({
  name: string({ min: 1, max: 8, pattern: /^[a-z]+$/, patternMessage: 'must be lower-case letters' }),
  port: integer({ min: 1, max: 65535 }).optional(),
  enabled: boolean().default(true),
  mode: oneOf(['a', 'b']).default('a'),
  tags: array(string({ min: 1 }), { max: 2 }).default([]),
});

test('a good value comes back with its defaults; absent optional keys stay absent', () => {
  const result = app.parse({ name: 'web' });
  assert.deepEqual(result, { success: true, data: { name: 'web', enabled: true, mode: 'a', tags: [] } });
  assert.deepEqual(app.parse({ name: 'web', port: 80, enabled: false, mode: 'b', tags: ['x'] }), { success: true, data: { name: 'web', port: 80, enabled: false, mode: 'b', tags: ['x'] } });
});

test('every problem is reported with its path, in terms a user can act on', () => {
  assert.deepEqual(issuesOf(app.parse({ name: 'Web!', port: 0, enabled: 'yes', mode: 'c', tags: ['', 'x', 'y'], extra: 1 })), [
    'extra: unknown key (allowed: name, port, enabled, mode, tags)',
    'name: must be lower-case letters',
    'port: must be an integer from 1 to 65535, not 0',
    'enabled: must be true or false, not string "yes"',
    'mode: must be one of "a", "b"',
    'tags: must have at most 2 items',
  ]);
  assert.deepEqual(issuesOf(app.parse({ tags: [''] })), ['name: is required (a string)', 'tags[0]: must not be empty']);
  assert.deepEqual(issuesOf(app.parse(null)), [': must be an object, not null']);
  assert.deepEqual(issuesOf(app.parse({ name: 'toolongname' })), ['name: must be at most 8 characters']);
  assert.deepEqual(issuesOf(app.parse({ name: 'web', port: 'x'.repeat(1_000_000) })), [`port: must be an integer from 1 to 65535, not string "${'x'.repeat(39)}…`]);
});

test('integers are safe integers: no fractions, NaN, infinities, strings or huge values', () => {
  const n = integer();
  for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '1', 2 ** 60, true]) assert.equal(n.parse(bad).success, false, String(bad));
  assert.deepEqual(n.parse(-3), { success: true, data: -3 });
});

test('refine reports at the value or below it; superRefine can report several paths', () => {
  const pair = object({ a: integer(), b: integer() }).refine((v) => v.a < v.b, 'must be greater than a', ['b']);
  assert.deepEqual(issuesOf(pair.parse({ a: 2, b: 1 })), ['b: must be greater than a']);
  assert.equal(pair.parse({ a: 2, b: 'x' }).success, false, 'a value that failed its type is not refined further');
  const list = array(integer()).superRefine((values, report) => {
    values.forEach((v, i) => {
      if (values.indexOf(v) !== i) report([i], `duplicate ${v}`);
    });
  });
  assert.deepEqual(issuesOf(list.parse([1, 2, 1, 2])), ['[2]: duplicate 1', '[3]: duplicate 2']);
});

test('records check keys and values, and a "__proto__" key never becomes the prototype', () => {
  const env = record({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, message: 'must be a variable name' }, string({ max: 3 }));
  assert.deepEqual(issuesOf(env.parse({ 'A-B': 'x', OK: 'long' })), ['A-B: must be a variable name', 'OK: must be at most 3 characters']);
  const hostile = JSON.parse('{"__proto__": "x", "PATH": "/b"}') as unknown;
  const result = env.parse(hostile);
  assert.ok(result.success);
  assert.equal(Object.getPrototypeOf(result.data), Object.prototype);
  assert.deepEqual(Object.keys(result.data), ['__proto__', 'PATH']);
  const shaped = object({ a: integer().optional() }).parse(JSON.parse('{"__proto__": {"polluted": true}}'));
  assert.equal(shaped.success, false, 'an object refuses __proto__ as an unknown key');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('a default is a fresh copy each time and is itself checked', () => {
  const withList = object({ list: array(integer()).default([]), inner: object({ n: integer().default(7) }).default({}) });
  const first = withList.parse({});
  assert.ok(first.success);
  first.data.list.push(1);
  assert.deepEqual(withList.parse({}), { success: true, data: { list: [], inner: { n: 7 } } });
});

test('formatPath joins keys and indexes the way config errors name them', () => {
  assert.equal(formatPath(['controllers', 1, 'endpointId']), 'controllers[1].endpointId');
  assert.equal(formatPath([0, 'a']), '[0].a');
  assert.equal(formatPath([]), '');
});
