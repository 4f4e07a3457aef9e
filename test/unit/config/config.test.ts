// The config file: defaults, and bad files refused with the key and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig, ConfigError, agentTopicOf } from '../../../src/config/config.ts';

const minimal = { endpointId: 'os::012345-GW0001', dataDir: '/var/lib/berth', mqtt: { url: 'mqtt://127.0.0.1:1883' } };

test('only endpointId, dataDir and mqtt.url are required; the rest has documented defaults', () => {
  const config = parseConfig(minimal);
  assert.equal(config.mqtt.version, 5);
  assert.equal(config.mqtt.keepAliveSeconds, 60);
  assert.equal(config.mqtt.connectRetryTime, 5);
  assert.equal(config.mqtt.publishQos, 0);
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
    [{ ...minimal, controllers: [{ endpointId: 'proto::a' }] }, /^controllers\[0\]\.topic: /m],
    [{ ...minimal, mqtt: { ...minimal.mqtt, keepalive: 5 } }, /^mqtt\.keepalive: unknown key \(allowed: url, version, .*keepAliveSeconds/m],
    [{ dataDir: '/x', mqtt: minimal.mqtt }, /^endpointId: is required \(a string\)$/m],
    [{ ...minimal, mqtt: { ...minimal.mqtt, keepAliveSeconds: 1.5 } }, /^mqtt\.keepAliveSeconds: must be an integer from 0 to 65535, not number 1\.5$/m],
    [{ ...minimal, mqtt: { ...minimal.mqtt, keepAliveSeconds: '60' } }, /^mqtt\.keepAliveSeconds: must be an integer from 0 to 65535, not string "60"$/m],
    [{ ...minimal, smm: { updateProbationSeconds: 7200 } }, /^smm\.updateProbationSeconds: must be an integer from 0 to 3600, not 7200$/m],
    [{ ...minimal, catalog: { url: 'ftp://catalog', root: '/r.json' } }, /^catalog\.url: must be an http:\/\/ or https:\/\/ URL$/m],
    [{ ...minimal, log: { level: 'loud' } }, /^log\.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"$/m],
    [{ ...minimal, execEnvs: [{ name: 'a', memoryKiB: 4096, cpuPercent: 10, diskKiB: 4096 }, { name: 'a', memoryKiB: 4096, cpuPercent: 10, diskKiB: 4096 }] }, /^execEnvs\[1\]\.name: duplicate ExecEnv name "a"$/m],
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
