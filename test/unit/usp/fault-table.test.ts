// The README's "Error codes" table is the fault table of src/usp/errors.ts: the same codes with the same names, so
// an operator reading it sees every code berth sends and nothing it never sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_NAMES, ErrorCode } from '../../../src/usp/errors.ts';

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md'), 'utf8');

function readmeErrorTable(): Map<number, string> {
  const start = readme.indexOf('\n## Error codes\n');
  assert.ok(start >= 0, 'README has an "Error codes" section');
  const section = readme.slice(start + 1).split('\n## ')[0]!;
  const rows = new Map<number, string>();
  for (const match of section.matchAll(/^\| (\d{4}) \| ([^|]+?) \|/gm)) {
    const code = Number(match[1]);
    assert.ok(!rows.has(code), `README lists ${code} twice`);
    rows.set(code, match[2]!);
  }
  return rows;
}

test('the README lists every code of the fault table, with its name, and no other', () => {
  const listed = readmeErrorTable();
  const table = new Map(Object.values(ErrorCode).map((code) => [code as number, ERROR_NAMES[code]]));
  assert.deepEqual([...listed.keys()].sort(), [...table.keys()].sort());
  for (const [code, name] of table) assert.equal(listed.get(code), name, `README's name for ${code}`);
});

test('every code has one name and the names are distinct', () => {
  const codes = Object.values(ErrorCode);
  assert.equal(new Set(codes).size, codes.length, 'two ErrorCode keys share a code');
  assert.deepEqual(Object.keys(ERROR_NAMES).map(Number).sort(), [...codes].sort());
  assert.equal(new Set(Object.values(ERROR_NAMES)).size, codes.length);
});
