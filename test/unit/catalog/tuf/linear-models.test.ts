// The linear map building patched into @tufjs/models: the same objects, JSON and errors as the library's own, in
// time linear in the entries (the library's takes ~15 s for a 10,000-entry snapshot).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize } from '@tufjs/canonical-json';
import { Metadata, MetadataKind } from '@tufjs/models';
import type { Snapshot, Targets } from '@tufjs/models';
import { useLinearModelMaps } from '../../../../src/catalog/tuf/linear-models.ts';

type Input = Parameters<typeof Metadata.fromJSON>[1];

function snapshotJson(entries: number): Input {
  const meta: Record<string, unknown> = { 'targets.json': { version: 3 }, '__proto__.json': { version: 1 } };
  for (let i = 0; i < entries; i++) meta[`publisher-${i}.example.json`] = i % 2 ? { version: i + 1, length: 900 + i } : { version: 2, length: 10, hashes: { sha256: 'ab'.repeat(32) } };
  Object.defineProperty(meta, '__proto__', { value: { version: 7 }, enumerable: true, configurable: true, writable: true });
  return { signed: { _type: 'snapshot', spec_version: '1.0.31', version: 5, expires: '2030-01-01T00:00:00Z', meta, x_extra: 'kept' }, signatures: [{ keyid: 'k', sig: 'aa' }] } as unknown as Input;
}

function targetsJson(entries: number): Input {
  const targets: Record<string, unknown> = {};
  for (let i = 0; i < entries; i++) targets[`acme.example/app-${i}/app-${i}-1.0.0.berth`] = { length: 10 + i, hashes: { sha256: 'cd'.repeat(32) }, custom: { n: i } };
  const delegations = { keys: {}, roles: [{ name: 'inner', keyids: [], threshold: 1, terminating: true, paths: ['acme.example/*/*'] }] };
  return { signed: { _type: 'targets', spec_version: '1.0.31', version: 2, expires: '2030-01-01T00:00:00Z', targets, delegations }, signatures: [] } as unknown as Input;
}

const MALFORMED: [MetadataKind, Input][] = [
  [MetadataKind.Snapshot, { signed: { _type: 'snapshot', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', meta: 'x' }, signatures: [] }],
  [MetadataKind.Snapshot, { signed: { _type: 'snapshot', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', meta: { 'a.json': 1 } }, signatures: [] }],
  [MetadataKind.Snapshot, { signed: { _type: 'snapshot', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', meta: { 'a.json': { version: -1 } } }, signatures: [] }],
  [MetadataKind.Snapshot, { signed: { _type: 'snapshot', spec_version: '1.0.31', version: 'one', expires: '2030-01-01T00:00:00Z', meta: {} }, signatures: [] }],
  [MetadataKind.Targets, { signed: { _type: 'targets', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', targets: { a: { length: 'x', hashes: {} } } }, signatures: [] }],
  [MetadataKind.Targets, { signed: { _type: 'targets', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', targets: 5 }, signatures: [] }],
];

function outcome(kind: MetadataKind, input: Input): string {
  try {
    const md = (Metadata.fromJSON as (kind: MetadataKind, data: Input) => Metadata<Snapshot | Targets>)(kind, structuredClone(input));
    return canonicalize(md.toJSON());
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

test('the patched maps give the library\'s own objects, JSON and errors, and are linear', () => {
  const cases: [MetadataKind, Input][] = [[MetadataKind.Snapshot, snapshotJson(300)], [MetadataKind.Targets, targetsJson(300)], [MetadataKind.Targets, { ...targetsJson(0) }], ...MALFORMED];
  // The library's own answers, before the patch (it applies to the whole process).
  const before = cases.map(([kind, input]) => outcome(kind, input));
  const snapshotBefore = Metadata.fromJSON(MetadataKind.Snapshot, snapshotJson(300));
  useLinearModelMaps();
  useLinearModelMaps();
  assert.deepEqual(cases.map(([kind, input]) => outcome(kind, input)), before);
  const snapshotAfter = Metadata.fromJSON(MetadataKind.Snapshot, snapshotJson(300));
  assert.ok(snapshotAfter.signed.equals(snapshotBefore.signed), 'equal as the library compares snapshots');
  assert.ok(Object.hasOwn(snapshotAfter.signed.meta, '__proto__'), '__proto__ is an own entry, as with the library');
  assert.equal(Object.getPrototypeOf(snapshotAfter.signed.meta), Object.prototype);
  assert.ok(before.filter((answer) => answer.includes('Error')).length === MALFORMED.length, 'every malformed case is refused');

  // 20,000 entries: the library's quadratic build takes over a minute; linear, well under a second each way.
  const big = snapshotJson(20_000);
  const started = performance.now();
  const md = Metadata.fromJSON(MetadataKind.Snapshot, big);
  const json = md.signed.toJSON();
  const elapsed = performance.now() - started;
  assert.equal(Object.keys(json['meta'] as object).length, 20_003);
  assert.ok(elapsed < 2000, `20,000-entry snapshot read and written in ${elapsed.toFixed(0)} ms`);
});
