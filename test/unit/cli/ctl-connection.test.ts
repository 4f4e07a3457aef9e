// Where `berth ctl` connects, as which Controller: flags, then the agent's config file (--config), then the
// environment and defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctlConnection } from '../../../src/cli/ctl-connection.ts';
import { parseConfig } from '../../../src/config/config.ts';
import { UsageError } from '../../../src/cli/usage.ts';

const FILE = '/etc/berth/config.json';
const agentConfig = {
  file: FILE,
  config: parseConfig({
    endpointId: 'os::012345-GW0001',
    dataDir: '/var/lib/berth',
    mqtt: { url: 'mqtts://broker.isp.example:8883', version: 4, agentTopic: 'isp/agents/gw0001', username: 'gw0001', password: 'secret', caFile: '/etc/berth/ca.pem', certFile: '/etc/berth/gw.pem', keyFile: '/etc/berth/gw.key' },
    controllers: [
      { endpointId: 'proto::isp', topic: 'isp/controllers/main' },
      { endpointId: 'proto::household', topic: 'home/controller' },
      { endpointId: 'proto::security-co', topic: 'security/controller', agentTopic: 'isp/agents/gw0001/security' },
    ],
  }),
};

test('--config: the agent\'s broker, credentials, TLS files, Endpoint ID, topic and MQTT version, and the Controller\'s configured topic', () => {
  assert.deepEqual(ctlConnection({ controller: 'proto::household' }, agentConfig, {}), {
    brokerUrl: 'mqtts://broker.isp.example:8883',
    endpointId: 'proto::household',
    agentEndpointId: 'os::012345-GW0001',
    agentTopic: 'isp/agents/gw0001',
    replyTopic: 'home/controller',
    mqttVersion: 4,
    username: 'gw0001',
    password: 'secret',
    caFile: '/etc/berth/ca.pem',
    certFile: '/etc/berth/gw.pem',
    keyFile: '/etc/berth/gw.key',
  });
});

test('--config: flags override the file, and the file overrides the environment', () => {
  const options = ctlConnection({ controller: 'proto::isp', replyTopic: 'mine', username: 'ops', password: 'ops-pass', mqttVersion: '5' }, agentConfig, { BERTH_BROKER: 'mqtt://env:1883', BERTH_AGENT: 'os::env' });
  assert.deepEqual(
    [options.brokerUrl, options.agentEndpointId, options.replyTopic, options.username, options.password, options.mqttVersion, options.caFile],
    ['mqtts://broker.isp.example:8883', 'os::012345-GW0001', 'mine', 'ops', 'ops-pass', 5, '/etc/berth/ca.pem'],
  );
});

test('--config with another --broker: the file\'s credentials and TLS files are not sent there', () => {
  const options = ctlConnection({ controller: 'proto::isp', broker: 'mqtt://127.0.0.1:1883' }, agentConfig, {});
  assert.equal(options.brokerUrl, 'mqtt://127.0.0.1:1883');
  assert.deepEqual([options.username, options.password, options.caFile, options.certFile, options.keyFile], [undefined, undefined, undefined, undefined, undefined]);
  assert.equal(options.replyTopic, 'isp/controllers/main', 'the Controller is still the configured one');
});

test('--config with a Controller the file does not have: a usage error naming those it has, unless --reply-topic says where', () => {
  assert.throws(
    () => ctlConnection({}, agentConfig, {}),
    (error: unknown) => error instanceof UsageError && error.message === `proto::berth-ctl is not a Controller of ${FILE} (it has proto::isp, proto::household, proto::security-co): name one with --controller, or give --reply-topic`,
  );
  assert.equal(ctlConnection({ controller: 'proto::added-over-usp', replyTopic: 'x/y' }, agentConfig, {}).replyTopic, 'x/y');
});

test('without --config: flags, then $BERTH_BROKER and $BERTH_AGENT, then the defaults', () => {
  assert.deepEqual(ctlConnection({}, undefined, { BERTH_AGENT: 'os::012345-GW0002' }), {
    brokerUrl: 'mqtt://127.0.0.1:1883',
    endpointId: 'proto::berth-ctl',
    agentEndpointId: 'os::012345-GW0002',
    agentTopic: 'usp/agent/os::012345-GW0002',
    replyTopic: 'usp/controller/proto::berth-ctl',
    mqttVersion: 5,
  });
  assert.equal(ctlConnection({ agent: 'os::a' }, undefined, { BERTH_BROKER: 'mqtt://env:1883' }).brokerUrl, 'mqtt://env:1883');
  assert.throws(() => ctlConnection({}, undefined, {}), /berth ctl needs --agent <endpoint-id> \(or --config <agent config file>, or BERTH_AGENT\)/);
  assert.throws(() => ctlConnection({ agent: 'os::a', mqttVersion: '3' }, undefined, {}), /--mqtt-version is 5 or 4/);
});

test('--config: a Controller bound to an agent topic of its own sends there', () => {
  const options = ctlConnection({ controller: 'proto::security-co' }, agentConfig, {});
  assert.equal(options.agentTopic, 'isp/agents/gw0001/security');
  assert.equal(options.replyTopic, 'security/controller');
});
