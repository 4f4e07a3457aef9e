// The hash bins of publishers: which bin a vendor goes to, and the delegations built from it, checked against
// @tufjs/models, which decides what a gateway walks: a vendor's target path reaches its bin and only its bin, and
// in the bin its own role and only that one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Metadata, MetadataKind } from '@tufjs/models';
import type { Targets } from '@tufjs/models';
import {
  binIndexOf,
  binNameOf,
  binOfVendor,
  binsFromFlat,
  isBinName,
  isBinned,
  isValidBinCount,
  publisherRole,
  topDelegations,
  vendorOfPattern,
  vendorsByBin,
  withPublisher,
} from '../../../../src/catalog/repository/hash-bins.ts';
import type { DelegationsJson } from '../../../../src/catalog/repository/hash-bins.ts';
import { isValidVendor } from '../../../../src/catalog/repository/repository.ts';
import { generateKeyPairPem, publicKeyFromPem } from '../../../../src/catalog/tuf/keys.ts';

const keyOf = () => publicKeyFromPem(generateKeyPairPem().publicPem);
const targetsKey = keyOf();

function targetsMetadata(delegations: DelegationsJson): Metadata<Targets> {
  const signed = { _type: 'targets', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', targets: {}, delegations };
  return Metadata.fromJSON(MetadataKind.Targets, { signed, signatures: [] });
}

test('a vendor\'s bin is the top bits of sha256(vendor), named with a fixed hex width', () => {
  const top16 = createHash('sha256').update('acme.example').digest().readUInt16BE(0);
  assert.equal(binIndexOf('acme.example', 256), top16 >> 8);
  assert.equal(binIndexOf('acme.example', 4096), top16 >> 4);
  assert.equal(binIndexOf('acme.example', 2), top16 >> 15);
  assert.equal(binNameOf(10, 16), 'bin_a');
  assert.equal(binNameOf(15, 256), 'bin_0f');
  assert.equal(binNameOf(4095, 4096), 'bin_fff');
  assert.equal(binOfVendor('acme.example', 256), binNameOf(top16 >> 8, 256));
  for (const count of [2, 16, 256, 1024, 4096]) assert.ok(isValidBinCount(count), `${count}`);
  for (const count of [0, 1, 3, 100, 8192, 2.5]) assert.ok(!isValidBinCount(count), `${count}`);
});

test('bins are spread evenly, and no vendor can be named like a bin', () => {
  const counts = new Array<number>(256).fill(0);
  for (let i = 0; i < 10_000; i++) counts[binIndexOf(`publisher-${i}.example`, 256)]!++;
  // 39 a bin on average; a fair hash keeps the fullest bin well under twice that.
  assert.ok(Math.max(...counts) < 70, `fullest bin holds ${Math.max(...counts)}`);
  assert.ok(Math.min(...counts) > 15, `emptiest bin holds ${Math.min(...counts)}`);
  for (const index of [0, 9, 255]) {
    const name = binNameOf(index, 256);
    assert.ok(isBinName(name));
    assert.ok(!isValidVendor(name), `${name} must not be a valid vendor`);
  }
  assert.ok(!isBinName('acme.example'));
  assert.equal(vendorOfPattern('acme.example/*/*'), 'acme.example');
  assert.equal(vendorOfPattern('acme.example/*'), undefined);
  assert.equal(vendorOfPattern('a/b/*/*'), undefined);
});

test('targets delegates to every bin with its vendors\' patterns; a gateway\'s lookup reaches one bin, then one publisher', () => {
  const vendors = ['acme.example', 'other.example', 'third.example', 'zeta.example'];
  const byBin: string[][] = Array.from({ length: 16 }, () => []);
  for (const vendor of vendors) byBin[binIndexOf(vendor, 16)]!.push(vendor);
  const top = topDelegations(targetsKey, byBin);
  assert.ok(isBinned(top));
  assert.equal(top.roles.length, 16);
  assert.deepEqual(Object.keys(top.keys), [targetsKey.keyId]);
  assert.ok(top.roles.every((role, index) => role.name === binNameOf(index, 16) && role.terminating && role.keyids[0] === targetsKey.keyId));
  assert.deepEqual(vendorsByBin(top).flat().sort(), vendors);

  const topMd = targetsMetadata(top);
  for (const vendor of vendors) {
    const walked = [...topMd.signed.delegations!.rolesForTarget(`${vendor}/app/app-1.0.0.berth`)];
    assert.deepEqual(walked, [{ role: binOfVendor(vendor, 16), terminating: true }], vendor);
  }
  assert.deepEqual([...topMd.signed.delegations!.rolesForTarget('nobody.example/app/app-1.0.0.berth')], []);
  assert.deepEqual([...topMd.signed.delegations!.rolesForTarget('acme.example/app-1.0.0.berth')], [], 'wrong depth');

  // The bin: each vendor's own role, with its own key.
  let bin: DelegationsJson = { keys: {}, roles: [] };
  const acmeKey = keyOf();
  bin = withPublisher(bin, 'acme.example', acmeKey).delegations;
  bin = withPublisher(bin, 'other.example', keyOf()).delegations;
  const binMd = targetsMetadata(bin);
  assert.deepEqual([...binMd.signed.delegations!.rolesForTarget('acme.example/app/app-1.0.0.berth')], [{ role: 'acme.example', terminating: true }]);
  assert.deepEqual(binMd.signed.delegations!.roles!['acme.example']!.keyIDs, [acmeKey.keyId]);
});

test('a new key for a publisher replaces the old one, which leaves the metadata; other publishers are untouched', () => {
  const first = keyOf();
  const second = keyOf();
  const neighbour = keyOf();
  let bin = withPublisher({ keys: {}, roles: [] }, 'acme.example', first).delegations;
  bin = withPublisher(bin, 'other.example', neighbour).delegations;
  const { delegations, replaced } = withPublisher(bin, 'acme.example', second);
  assert.equal(replaced, true);
  assert.deepEqual(delegations.roles.map((r) => r.name), ['acme.example', 'other.example']);
  assert.deepEqual(delegations.roles[0], publisherRole('acme.example', second));
  assert.deepEqual(Object.keys(delegations.keys).sort(), [second.keyId, neighbour.keyId].sort());
  assert.ok(!Object.hasOwn(delegations.keys, first.keyId), 'the revoked key is gone');
  assert.equal(withPublisher(bin, 'new.example', keyOf()).replaced, false);
});

test('a flat catalog\'s delegations move into bins as they are, each with the keys it uses', () => {
  let flat: DelegationsJson = { keys: {}, roles: [] };
  const keys = new Map<string, ReturnType<typeof keyOf>>();
  for (let i = 0; i < 50; i++) {
    const key = keyOf();
    keys.set(`v${i}.example`, key);
    flat = withPublisher(flat, `v${i}.example`, key).delegations;
  }
  const { bins, vendorsByBin: byBin } = binsFromFlat(flat, 16);
  assert.equal(byBin.length, 16);
  assert.equal([...bins.values()].reduce((sum, bin) => sum + bin.roles.length, 0), 50);
  for (const [index, bin] of bins) {
    for (const role of bin.roles) {
      assert.equal(binIndexOf(role.name, 16), index);
      assert.deepEqual(role, flat.roles.find((r) => r.name === role.name), 'role moved unchanged');
      assert.deepEqual(bin.keys[keys.get(role.name)!.keyId], keys.get(role.name)!.json);
    }
    assert.equal(Object.keys(bin.keys).length, bin.roles.length, 'only the keys this bin uses');
    assert.deepEqual(byBin[index]!.sort(), bin.roles.map((r) => r.name).sort());
  }
});
