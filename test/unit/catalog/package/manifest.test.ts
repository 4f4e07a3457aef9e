// app.json / manifest.json: the sample apps pass with their defaults filled; each unsafe or wrong field is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAppManifest, parsePackageManifest } from '../../../../src/catalog/package/manifest.ts';
import { PackageError } from '../../../../src/catalog/package/package-error.ts';

const sample = (app: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../../../catalog/${app}/app.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const minimalUnit = { name: 'main', command: ['/bin/app'], resources: { memoryKiB: 4096, cpuPercent: 5, diskKiB: 1024 } };
const minimal = { name: 'demo', vendor: 'example.com', version: '1.0.0', requires: { berth: '>=0.1.0' }, executionUnits: [minimalUnit] };

function refused(json: unknown, expected: RegExp): void {
  assert.throws(
    () => parseAppManifest(json),
    (error: unknown) => error instanceof PackageError && error.code === 'MANIFEST_INVALID' && expected.test(error.message),
    String(expected),
  );
}

test('the sample apps are valid manifests', () => {
  for (const app of ['parental-control', 'energy-monitor']) assert.equal(parseAppManifest(sample(app)).name, app);
});

test('defaults are filled for what a developer leaves out', () => {
  const unit = parseAppManifest(minimal).executionUnits[0]!;
  assert.deepEqual(
    { env: unit.env, autoStart: unit.autoStart, runLevel: unit.runLevel, user: unit.user, network: unit.network, volumes: unit.volumes, capabilities: unit.capabilities },
    { env: {}, autoStart: true, runLevel: -1, user: '65534:65534', network: { mode: 'none', egress: [] }, volumes: [], capabilities: [] },
    'a unit runs as nobody unless its manifest names a user',
  );
  assert.equal(parseAppManifest(minimal).description, '');
});

test('wrong and unsafe fields are refused with their path', () => {
  const withUnit = (unit: Record<string, unknown>): unknown => ({ ...minimal, executionUnits: [{ ...minimalUnit, ...unit }] });
  refused({ ...minimal, version: 'v1' }, /^manifest\.version: must be a semantic version/);
  refused({ ...minimal, requires: { berth: 'soon' } }, /^manifest\.requires\.berth: must be a semver range/);
  refused({ ...minimal, vendor: 'a..b' }, /^manifest\.vendor: must not contain \.\./);
  refused({ ...minimal, homepage: 'x' }, /^manifest\.homepage: unknown key/);
  refused({ ...minimal, executionUnits: [] }, /^manifest\.executionUnits: must have at least 1 item/);
  refused({ ...minimal, executionUnits: [minimalUnit, minimalUnit] }, /^manifest\.executionUnits: execution unit names must be unique/);
  refused(withUnit({ volumes: [{ name: 'data', path: '/data/../etc' }] }), /^manifest\.executionUnits\[0\]\.volumes\[0\]\.path: must not contain empty, \. or \.\. segments/);
  refused(withUnit({ volumes: [{ name: 'data', path: 'data' }] }), /^manifest\.executionUnits\[0\]\.volumes\[0\]\.path: must be an absolute path/);
  refused(withUnit({ volumes: [{ name: 'a', path: '/d' }, { name: 'a', path: '/e' }] }), /volumes: volume names must be unique/);
  refused(withUnit({ network: { mode: 'isolated', ports: [{ container: 80, host: 8080 }] } }), /network: ports are required with mode 'published' and allowed only with it/);
  refused(withUnit({ network: { mode: 'published', ports: [{ container: 80, host: 70000 }] } }), /network\.ports\[0\]\.host: must be an integer from 1 to 65535, not 70000/);
  refused(withUnit({ capabilities: ['CAP_SYS_ADMIN'] }), /capabilities\[0\]: must be a Linux capability without CAP_/);
  refused(withUnit({ env: { 'LD PRELOAD': 'x' } }), /env\.LD PRELOAD: must be a valid environment variable name/);
  refused(withUnit({ resources: { memoryKiB: 512, cpuPercent: 5, diskKiB: 1024 } }), /resources\.memoryKiB: must be an integer ≥ 1024, not 512/);
  refused(withUnit({ resources: { memoryKiB: 4096, cpuPercent: 5, diskKiB: 0 } }), /resources\.diskKiB: must be an integer ≥ 1024, not 0/);
  refused(withUnit({ user: 'root' }), /user: must be a numeric uid:gid such as 1000:1000/);
  refused(withUnit({ user: '1000' }), /user: must be a numeric uid:gid/);
  refused(withUnit({ user: '4294967295:0' }), /user: uid and gid must be at most 4294967294/);
  refused(withUnit({ network: { mode: 'none', egress: ['internet'] } }), /network: egress needs a network: mode 'isolated' or 'published'/);
  refused(withUnit({ network: { mode: 'isolated', egress: ['cloud'] } }), /network\.egress\[0\]: must be one of "lan", "internet"/);
  refused(withUnit({ network: { mode: 'isolated', egress: ['lan', 'lan'] } }), /network\.egress: egress kinds must be unique/);
  const publishing = (name: string, host: number) => ({ ...minimalUnit, name, network: { mode: 'published', ports: [{ container: 80, host }] } });
  refused({ ...minimal, executionUnits: [publishing('a', 8080), publishing('b', 8080)] }, /^manifest\.executionUnits: a host port \(and protocol\) may be published only once/);
  assert.equal(parseAppManifest({ ...minimal, executionUnits: [{ ...minimalUnit, user: '0:0', network: { mode: 'isolated', egress: ['lan', 'internet'] } }] }).executionUnits[0]!.user, '0:0', 'root is for the ExecEnv to allow or refuse');
});

test('a package manifest also carries the image it was packed with', () => {
  const image = { file: 'image.tar', size: 1024, sha256: 'a'.repeat(64) };
  assert.deepEqual(parsePackageManifest({ ...minimal, image }).image, image);
  assert.throws(() => parsePackageManifest(minimal), (error: unknown) => error instanceof PackageError && /manifest\.image: is required/.test(error.message));
  assert.throws(() => parsePackageManifest({ ...minimal, image: { ...image, file: '../image.tar' } }), (error: unknown) => error instanceof PackageError && /manifest\.image\.file: must be one of "image\.tar"/.test(error.message));
});
