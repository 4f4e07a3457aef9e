// The image archive on its way to `docker load`: the names it carries are taken out (manifest.json's RepoTags,
// the legacy `repositories` file, an OCI index.json), every other member passes byte for byte (GNU tar reads the
// result), and an archive that could put another manifest.json where Docker reads it is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ImageArchiveError, untaggedImageArchive } from '../../../src/runtime/image-archive.ts';
import { END, member, pax } from '../../helpers/tar-craft.ts';

const CONFIG = 'a'.repeat(64);
const manifestJson = (entries: unknown = [{ Config: `${CONFIG}.json`, RepoTags: ['debian:12', 'evil/x:latest'], Layers: ['l1/layer.tar'] }]): string => JSON.stringify(entries);

async function rewrite(archive: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Small chunks: headers and members split across them as a network or file stream would.
  const source = Readable.from((function* () {
    for (let offset = 0; offset < archive.length; offset += 700) yield archive.subarray(offset, offset + 700);
  })());
  for await (const chunk of untaggedImageArchive(source)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function gnuTar(args: string[], input: Buffer): string {
  const run = spawnSync('tar', args, { input, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

const list = (archive: Buffer): string[] => gnuTar(['-tf', '-'], archive).split('\n').filter((line) => line !== '');

test('untaggedImageArchive: RepoTags, repositories, index.json and oci-layout go; layers and config pass as they are', async () => {
  const layer = Buffer.alloc(3000, 7);
  const archive = Buffer.concat([
    member('l1/', '', '5'),
    member('l1/layer.tar', layer),
    member('l2/layer.tar', '', '2', { linkname: '../l1/layer.tar' }),
    member(`${CONFIG}.json`, '{"config":{}}'),
    member('repositories', '{"debian":{"12":"l1"}}'),
    member('index.json', '{"manifests":[{"annotations":{"io.containerd.image.name":"docker.io/library/debian:12"}}]}'),
    member('oci-layout', '{"imageLayoutVersion":"1.0.0"}'),
    member('./manifest.json', manifestJson()),
    END,
    Buffer.from('trailing bytes Docker never sees'),
  ]);
  const out = await rewrite(archive);
  assert.deepEqual(list(out), ['l1/', 'l1/layer.tar', 'l2/layer.tar', `${CONFIG}.json`, 'manifest.json']);
  assert.deepEqual(JSON.parse(gnuTar(['-xOf', '-', 'manifest.json'], out)), [{ Config: `${CONFIG}.json`, Layers: ['l1/layer.tar'] }]);
  assert.deepEqual(Buffer.from(gnuTar(['-xOf', '-', 'l1/layer.tar'], out), 'utf8'), layer, 'layers byte for byte');
  assert.ok(out.subarray(0, 3 * 512 + 3072).equals(archive.subarray(0, 3 * 512 + 3072)), 'members before manifest.json are the same bytes');
  assert.equal(out.length % 512, 0);
  assert.ok(!out.includes('trailing bytes'));
});

test('untaggedImageArchive: a pax header travels with its member', async () => {
  const out = await rewrite(Buffer.concat([pax({ mtime: '1700000000.5' }), member('l1/layer.tar', 'x'), pax({ size: '2' }), member('repositories', '{}'), member('manifest.json', manifestJson()), END]));
  assert.deepEqual(list(out), ['l1/layer.tar', 'manifest.json']);
});

test('untaggedImageArchive refuses what could give Docker another manifest.json, or no image', async () => {
  const refused: [string, Buffer, RegExp][] = [
    ['two manifest.json', Buffer.concat([member('manifest.json', manifestJson()), member('./manifest.json', manifestJson()), END]), /two manifest\.json/],
    ['a symbolic link as manifest.json', Buffer.concat([member('manifest.json', '', '2', { linkname: 'l1/evil.json' }), END]), /not a regular file/],
    ['a hard link as manifest.json', Buffer.concat([member('evil.json', manifestJson()), member('manifest.json', '', '1', { linkname: 'evil.json' }), END]), /not a regular file/],
    ['a member through a symbolic link', Buffer.concat([member('up', '', '2', { linkname: '.' }), member('up/manifest.json', manifestJson()), END]), /goes through the symbolic link "up"/],
    ['a path with ..', Buffer.concat([member('l1/../manifest.json', manifestJson()), END]), /not a plain relative path/],
    ['an absolute path', Buffer.concat([member('/manifest.json', manifestJson()), END]), /not a plain relative path/],
    ['two images', Buffer.concat([member('manifest.json', manifestJson([{ Config: 'a.json', Layers: [] }, { Config: 'b.json', Layers: [] }])), END]), /exactly one image; its manifest\.json lists 2/],
    ['a manifest without Config', Buffer.concat([member('manifest.json', '[{"RepoTags":["x:1"]}]'), END]), /Config and Layers/],
    ['a manifest that is not JSON', Buffer.concat([member('manifest.json', '[{'), END]), /not valid JSON/],
    ['no manifest.json (legacy format)', Buffer.concat([member('repositories', '{}'), END]), /no manifest\.json/],
    ['a device', Buffer.concat([member('dev', '', '3'), END]), /entry type "3"/],
    ['a directory with a size', Buffer.concat([member('d/', 'hidden', '5'), END]), /a directory with a size/],
    ['a truncated archive', Buffer.concat([member('manifest.json', manifestJson())]), /without a tar end marker/],
    ['a compressed archive', gzipSync(Buffer.concat([member('manifest.json', manifestJson()), END])), /compressed/],
    ['not a tar', Buffer.from('{"name":"berth"}'.padEnd(512)), /not a tar archive/],
  ];
  for (const [what, archive, pattern] of refused) {
    await assert.rejects(rewrite(archive), (error: unknown) => {
      assert.ok(error instanceof Error, what);
      assert.match(error.message, pattern, what);
      return true;
    }, what);
  }
  await assert.rejects(rewrite(Buffer.concat([member('manifest.json', manifestJson()), member('manifest.json', manifestJson()), END])), ImageArchiveError);
});
