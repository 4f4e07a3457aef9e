// Pure parts of the Docker adapter: the hardened create body, usage from a stats sample, log frames, JSON lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { toCreateBody, toUsage } from '../../../src/runtime/docker-runtime.ts';
import { demuxLogs, jsonLines } from '../../../src/runtime/docker-engine.ts';

test('toCreateBody: hardened by default, the given user, limits and ports on the given address', () => {
  const body = toCreateBody({
    name: 'x',
    image: 'sha256:abc',
    command: ['/bin/sh', '/app/run.sh'],
    env: { A: '1' },
    labels: { 'io.berth.eu': 'x' },
    memoryKiB: 2048,
    nanoCpus: 100_000_000,
    pidsLimit: 32,
    user: '1000:1000',
    network: { mode: 'network', name: 'net', ports: [{ container: 8080, host: 18080, protocol: 'tcp', address: '192.168.1.1' }] },
    volumes: [{ name: 'vol', path: '/data' }],
    capabilities: ['NET_BIND_SERVICE'],
    tmpfsKiB: 512,
    logMaxBytes: 1000,
  }) as { Env: string[]; User: string; NetworkDisabled: boolean; HostConfig: Record<string, unknown> };
  assert.deepEqual(body.Env, ['A=1']);
  assert.equal(body.User, '1000:1000', "the manifest's user, never the image's");
  assert.equal(body.NetworkDisabled, false);
  const host = body.HostConfig;
  assert.equal(host['Memory'], 2048 * 1024);
  assert.equal(host['MemorySwap'], 2048 * 1024);
  assert.equal(host['NanoCpus'], 100_000_000);
  assert.equal(host['PidsLimit'], 32);
  assert.deepEqual(host['CapDrop'], ['ALL']);
  assert.deepEqual(host['CapAdd'], ['NET_BIND_SERVICE']);
  assert.deepEqual(host['SecurityOpt'], ['no-new-privileges']);
  assert.equal(host['ReadonlyRootfs'], true);
  assert.equal(host['Privileged'], false);
  assert.deepEqual(host['Tmpfs'], { '/tmp': 'rw,noexec,nosuid,size=512k' });
  assert.deepEqual(host['Mounts'], [{ Type: 'volume', Source: 'vol', Target: '/data' }]);
  assert.deepEqual(host['PortBindings'], { '8080/tcp': [{ HostIp: '192.168.1.1', HostPort: '18080' }] });
  assert.deepEqual(host['RestartPolicy'], { Name: 'no' });
  assert.equal(host['Init'], true, 'an init passes SIGTERM on, so apps stop within ShutdownDelay');
  assert.deepEqual(host['LogConfig'], { Type: 'json-file', Config: { 'max-size': '1000', 'max-file': '1' } });
  const isolated = toCreateBody({ name: 'y', image: 'i', command: ['x'], env: {}, labels: {}, memoryKiB: 1024, nanoCpus: 1, pidsLimit: 1, user: '65534:65534', network: { mode: 'none' }, volumes: [], capabilities: [], tmpfsKiB: 1, logMaxBytes: 1 }) as { NetworkDisabled: boolean; HostConfig: Record<string, unknown> };
  assert.equal(isolated.NetworkDisabled, true);
  assert.equal(isolated.HostConfig['NetworkMode'], 'none');
});

test('toUsage: memory without reclaimable cache (cgroup v1 and v2), CPU as percent of one CPU', () => {
  const v2 = toUsage({
    memory_stats: { usage: 10_000_000, stats: { inactive_file: 2_000_000 } },
    cpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 10_000_000_000 },
  });
  assert.equal(v2.memoryBytes, 8_000_000);
  assert.equal(v2.cpuPercent, 20);
  const v1 = toUsage({ memory_stats: { usage: 5000, stats: { total_inactive_file: 1000 } }, cpu_stats: { cpu_usage: { total_usage: 1 } }, precpu_stats: { cpu_usage: { total_usage: 1 } } });
  assert.equal(v1.memoryBytes, 4000);
  assert.equal(v1.cpuPercent, 0, 'no interval yet: 0, not NaN');
});

test('demuxLogs splits stdout and stderr frames; jsonLines splits across chunk boundaries', async () => {
  const frame = (kind: number, text: string) => {
    const header = Buffer.alloc(8);
    header[0] = kind;
    header.writeUInt32BE(Buffer.byteLength(text), 4);
    return Buffer.concat([header, Buffer.from(text)]);
  };
  assert.deepEqual(demuxLogs(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')])), [
    { stream: 'stdout', text: 'out\n' },
    { stream: 'stderr', text: 'err\n' },
  ]);
  const values: unknown[] = [];
  for await (const value of jsonLines(Readable.from(['{"a":', '1}\n{"b"', ':2}\n\n{"c":3}']))) values.push(value);
  assert.deepEqual(values, [{ a: 1 }, { b: 2 }, { c: 3 }]);
});

test('a multi-byte UTF-8 character split across two chunks of the event stream reaches the event whole', async () => {
  // "é" is 0xC3 0xA9 and "🐳" four bytes; the stream is cut inside each of them.
  const line = Buffer.from('{"Actor":{"Attributes":{"name":"café-🐳"}}}\n{"status":"die"}\n');
  const cutInsideE = line.indexOf(0xa9);
  const cutInsideWhale = line.indexOf(Buffer.from('🐳')) + 2;
  const chunks = [line.subarray(0, cutInsideE), line.subarray(cutInsideE, cutInsideWhale), line.subarray(cutInsideWhale)];
  const values: unknown[] = [];
  for await (const value of jsonLines(Readable.from(chunks))) values.push(value);
  assert.deepEqual(values, [{ Actor: { Attributes: { name: 'café-🐳' } } }, { status: 'die' }]);
});

test('a UTF-8 character split across two log frames of the same stream is decoded whole', () => {
  const frame = (kind: number, bytes: Buffer) => {
    const header = Buffer.alloc(8);
    header[0] = kind;
    header.writeUInt32BE(bytes.length, 4);
    return Buffer.concat([header, bytes]);
  };
  const text = Buffer.from('température 21 °C\n');
  const cut = text.indexOf(0xa9);
  const frames = demuxLogs(Buffer.concat([frame(1, text.subarray(0, cut)), frame(2, Buffer.from('warn\n')), frame(1, text.subarray(cut))]));
  assert.equal(frames.filter((f) => f.stream === 'stdout').map((f) => f.text).join(''), 'température 21 °C\n');
  assert.equal(frames.filter((f) => f.stream === 'stderr').map((f) => f.text).join(''), 'warn\n');
});
