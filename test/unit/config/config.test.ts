// The config file: defaults, and bad files refused with the key and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig, ConfigError, agentTopicOf } from '../../../src/config/config.ts';

const minimal = { endpointId: 'os::012345-GW0001', dataDir: '/var/lib/berth', mqtt: { url: 'mqtt://127.0.0.1:1883' } };
const env = { name: 'apps', memoryKiB: 4096, cpuPercent: 10, diskKiB: 4096 };

test('only endpointId, dataDir and mqtt.url are required; the rest has documented defaults', () => {
  const config = parseConfig(minimal);
  assert.equal(config.mqtt!.version, 5);
  assert.equal(config.mqtt!.keepAliveSeconds, 60);
  assert.equal(config.mqtt!.connectRetryTime, 5);
  assert.equal(config.mqtt!.publishQos, 0);
  assert.deepEqual(config.controllers, []);
  assert.equal(config.log.level, 'info');
  assert.equal(agentTopicOf(config), 'usp/agent/os::012345-GW0001');
});

test('a bad config names each wrong key and why', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...minimal, mqtt: { url: 'mqtt://127.0.0.1:1883', version: 3 } }, /^mqtt\.version: must be 5 \(MQTT 5\.0\) or 4 \(MQTT 3\.1\.1\)$/m],
    [{ ...minimal, endpointId: 'gateway one' }, /^endpointId: must be a USP Endpoint ID/m],
    [{ ...minimal, mqtt: { url: 'http://broker' } }, /^mqtt\.url: must be a broker URL/m],
    [{ ...minimal, mqtt: { ...minimal.mqtt, agentTopic: 'usp/agent/#' } }, /^mqtt\.agentTopic: must not contain MQTT wildcards/m],
    [{ ...minimal, mqtt: { ...minimal.mqtt, certFile: '/c.pem' } }, /^mqtt\.certFile: certFile and keyFile go together/m],
    [{ ...minimal, controllers: [{ endpointId: 'proto::a', topic: 't' }, { endpointId: 'proto::a', topic: 'u' }] }, /^controllers\[1\]\.endpointId: duplicate Controller "proto::a"/m],
    [{ ...minimal, controllers: [{ endpointId: 'proto::a' }] }, /^controllers\[0\]: needs a way to reach it: topic \(MQTT\), stomp\.destination or websocket$/m],
    [{ endpointId: 'proto::agent', dataDir: '/x' }, /^\(top level\): the agent needs an MTP: an mqtt or stomp key, websocket\.listen, or a Controller with a websocket url$/m],
    [{ ...minimal, controllers: [{ endpointId: 'proto::a', stomp: { destination: '/queue/a' } }] }, /^controllers\[0\]\.stomp: a STOMP destination needs the stomp key \(the broker\)$/m],
    [{ ...minimal, controllers: [{ endpointId: 'proto::a', websocket: {} }] }, /^controllers\[0\]\.websocket: without a url the Controller connects to the agent: that needs websocket\.listen$/m],
    [{ ...minimal, controllers: [{ endpointId: 'proto::a', topic: 't', order: ['STOMP'] }] }, /^controllers\[0\]\.order\[0\]: STOMP is not configured for this Controller$/m],
    [{ ...minimal, stomp: { url: 'amqp://broker' } }, /^stomp\.url: must be a broker URL like stomp:\/\/127\.0\.0\.1:61613/m],
    [{ ...minimal, websocket: { listen: {} } }, /^websocket\.certFile: an encrypted server needs certFile and keyFile$/m],
    [{ ...minimal, websocket: { certFile: '/c', keyFile: '/k', listen: {} } }, /^websocket\.listen\.requireClientCertificate: requiring client certificates needs encryption and a caFile/m],
    [{ ...minimal, mqtt: { ...minimal.mqtt, keepalive: 5 } }, /^mqtt\.keepalive: unknown key \(allowed: url, version, .*keepAliveSeconds/m],
    [{ dataDir: '/x', mqtt: minimal.mqtt }, /^endpointId: is required \(a string\)$/m],
    [{ ...minimal, mqtt: { ...minimal.mqtt, keepAliveSeconds: 1.5 } }, /^mqtt\.keepAliveSeconds: must be an integer from 0 to 65535, not number 1\.5$/m],
    [{ ...minimal, mqtt: { ...minimal.mqtt, keepAliveSeconds: '60' } }, /^mqtt\.keepAliveSeconds: must be an integer from 0 to 65535, not string "60"$/m],
    [{ ...minimal, smm: { updateProbationSeconds: 7200 } }, /^smm\.updateProbationSeconds: must be an integer from 0 to 3600, not 7200$/m],
    [{ ...minimal, catalog: { url: 'ftp://catalog', root: '/r.json' } }, /^catalog\.url: must be an http:\/\/ or https:\/\/ URL$/m],
    [{ ...minimal, log: { level: 'loud' } }, /^log\.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"$/m],
    [{ ...minimal, execEnvs: [{ name: 'a', memoryKiB: 4096, cpuPercent: 10, diskKiB: 4096 }, { name: 'a', memoryKiB: 4096, cpuPercent: 10, diskKiB: 4096 }] }, /^execEnvs\[1\]\.name: duplicate ExecEnv name "a"$/m],
    [{ ...minimal, execEnvs: [{ ...env, network: { publishAddress: '192.168.1.300' } }] }, /^execEnvs\[0\]\.network\.publishAddress: must be an IPv4 address such as 192\.168\.1\.1$/m],
    [{ ...minimal, execEnvs: [{ ...env, network: { publishPorts: { min: 9000, max: 8000 } } }] }, /^execEnvs\[0\]\.network\.publishPorts: min must not be above max$/m],
    [{ ...minimal, execEnvs: [{ ...env, network: { lanSubnets: ['192.168.1.0/33'] } }] }, /^execEnvs\[0\]\.network\.lanSubnets\[0\]: must be an IPv4 subnet such as 192\.168\.1\.0\/24$/m],
    [{ ...minimal, execEnvs: [{ ...env, network: { egress: ['wan'] } }] }, /^execEnvs\[0\]\.network\.egress\[0\]: must be one of "lan", "internet"$/m],
    [{ ...minimal, execEnvs: [{ ...env, network: { reservedPorts: [0] } }] }, /^execEnvs\[0\]\.network\.reservedPorts\[0\]: must be an integer from 1 to 65535, not 0$/m],
    [[minimal], /^\(top level\): must be an object, not a list$/m],
  ];
  for (const [value, expected] of cases) {
    assert.throws(() => parseConfig(value, 'berth.json'), (error: unknown) => error instanceof ConfigError && expected.test(error.issues.join('\n')), String(expected));
  }
});

test('every wrong key is reported at once, not only the first', () => {
  assert.throws(
    () => parseConfig({ ...minimal, mqtt: { url: 'http://x', version: 3 }, controllers: [{ endpointId: 'bad id', topic: '#' }] }),
    (error: unknown) => error instanceof ConfigError && error.issues.length === 4 && ['mqtt.url', 'mqtt.version', 'controllers[0].endpointId', 'controllers[0].topic'].every((key) => error.issues.some((issue) => issue.startsWith(`${key}: `))),
  );
});

test('defaults are filled inside sections that are given partly, and each parse gets its own copy', () => {
  const config = parseConfig({ ...minimal, smm: { allowDowngrade: true } });
  assert.deepEqual(config.smm, { allowDowngrade: true, updateProbationSeconds: 10, installProbationSeconds: 3, startTimeoutSeconds: 30, sampleIntervalSeconds: 10, allowedCapabilities: [] });
  assert.equal('catalog' in config, false, 'an absent optional section stays absent');
  parseConfig(minimal).smm.allowedCapabilities.push('NET_ADMIN');
  assert.deepEqual(parseConfig(minimal).smm.allowedCapabilities, []);
});

test("an ExecEnv's isolation defaults: loopback, ports 1024-65535 but the gateway's own, no egress, no root", () => {
  const [given] = parseConfig({ ...minimal, execEnvs: [env] }).execEnvs!;
  assert.deepEqual(given!.network, {
    publishAddress: '127.0.0.1',
    publishPorts: { min: 1024, max: 65535 },
    reservedPorts: [22, 53, 67, 68, 80, 443, 1883, 7547, 8883],
    egress: [],
    lanSubnets: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
  });
  assert.equal(given!.allowRoot, false);
  const [lan] = parseConfig({ ...minimal, execEnvs: [{ ...env, allowRoot: true, network: { publishAddress: '192.168.1.1', egress: ['lan'], lanSubnets: ['192.168.1.0/24'] } }] }).execEnvs!;
  assert.deepEqual([lan!.allowRoot, lan!.network.publishAddress, lan!.network.egress, lan!.network.lanSubnets, lan!.network.publishPorts.min], [true, '192.168.1.1', ['lan'], ['192.168.1.0/24'], 1024]);
});

test('loadConfig refuses unreadable and non-JSON files with the file name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
  try {
    await writeFile(join(dir, 'bad.json'), '{ "endpointId": ');
    await assert.rejects(loadConfig(join(dir, 'bad.json')), (error: unknown) => error instanceof ConfigError && /bad\.json/.test(error.message) && /not valid JSON/.test(error.message));
    await assert.rejects(loadConfig(join(dir, 'missing.json')), (error: unknown) => error instanceof ConfigError && /cannot read the file/.test(error.message));
    await writeFile(join(dir, 'good.json'), JSON.stringify(minimal));
    assert.equal((await loadConfig(join(dir, 'good.json'))).endpointId, 'os::012345-GW0001');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
