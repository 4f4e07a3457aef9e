// Where `berth ctl` connects, over which MTP, as which Controller: flags, then the agent's config file (--config),
// then the environment and defaults. One wire is chosen; contradictions are usage errors; the file's secrets and TLS
// files go only to the file's own broker or server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentServerUrl, ctlConnection } from '../../../src/cli/ctl-connection.ts';
import type { AgentConfigFile, CtlConnection, CtlConnectionFlags } from '../../../src/cli/ctl-connection.ts';
import { refusalHint } from '../../../src/cli/ctl-open.ts';
import { CTL_HELP } from '../../../src/cli/ctl-command.ts';
import { parseConfig } from '../../../src/config/config.ts';
import { UsageError } from '../../../src/cli/usage.ts';

const FILE = '/etc/berth/config.json';
const AGENT = 'os::012345-GW0001';
const agentConfig: AgentConfigFile = {
  file: FILE,
  config: parseConfig({
    endpointId: AGENT,
    dataDir: '/var/lib/berth',
    mqtt: { url: 'mqtts://broker.isp.example:8883', version: 4, agentTopic: 'isp/agents/gw0001', username: 'gw0001', password: 'secret', caFile: '/etc/berth/ca.pem', certFile: '/etc/berth/gw.pem', keyFile: '/etc/berth/gw.key' },
    stomp: {
      url: 'stomps://stomp.isp.example:61614',
      virtualHost: 'gateways',
      username: 'gw0001-stomp',
      password: 'stomp-secret',
      destination: '/queue/agents.gw0001',
      caFile: '/etc/berth/stomp-ca.pem',
      certFile: '/etc/berth/stomp-gw.pem',
      keyFile: '/etc/berth/stomp-gw.key',
      maxMessageBytes: 65536,
    },
    websocket: {
      certFile: '/etc/berth/ws-agent.pem',
      keyFile: '/etc/berth/ws-agent.key',
      caFile: '/etc/berth/controllers-ca.pem',
      listen: { port: 8443, path: '/usp' },
    },
    controllers: [
      { endpointId: 'proto::isp', topic: 'isp/controllers/main' },
      { endpointId: 'proto::household', topic: 'home/controller' },
      { endpointId: 'proto::security-co', topic: 'security/controller', agentTopic: 'isp/agents/gw0001/security' },
      { endpointId: 'proto::stomp-first', topic: 'ops/controller', stomp: { destination: '/queue/controllers.ops' }, order: ['STOMP', 'MQTT'] },
      { endpointId: 'proto::dials-agent', websocket: {} },
      { endpointId: 'proto::agent-dials', websocket: { url: 'wss://controller.isp.example:9443/usp/gw' } },
      { endpointId: 'proto::mixed', topic: 'mixed/controller', websocket: {}, order: ['WebSocket', 'MQTT'] },
    ],
  }),
};

function mqtt(connection: CtlConnection): Extract<CtlConnection, { wire: 'mqtt' }>['options'] {
  assert.equal(connection.wire, 'mqtt');
  return connection.options;
}

function stomp(connection: CtlConnection): Extract<CtlConnection, { wire: 'stomp' }>['options'] {
  assert.equal(connection.wire, 'stomp');
  return connection.options;
}

function dial(connection: CtlConnection): Extract<CtlConnection, { wire: 'websocket-dial' }> {
  assert.equal(connection.wire, 'websocket-dial');
  return connection;
}

function listen(connection: CtlConnection): Extract<CtlConnection, { wire: 'websocket-listen' }> {
  assert.equal(connection.wire, 'websocket-listen');
  return connection;
}

function usageError(flags: CtlConnectionFlags, file: AgentConfigFile | undefined, message: string | RegExp): void {
  assert.throws(
    () => ctlConnection(flags, file, {}),
    (error: unknown) => error instanceof UsageError && (typeof message === 'string' ? error.message === message : message.test(error.message)),
  );
}

// MQTT

test('--config: the agent\'s broker, credentials, TLS files, Endpoint ID, topic and MQTT version, and the Controller\'s configured topic', () => {
  assert.deepEqual(ctlConnection({ controller: 'proto::household' }, agentConfig, {}), {
    wire: 'mqtt',
    why: `proto::household's first MTP in ${FILE}`,
    options: {
      brokerUrl: 'mqtts://broker.isp.example:8883',
      endpointId: 'proto::household',
      agentEndpointId: AGENT,
      agentTopic: 'isp/agents/gw0001',
      replyTopic: 'home/controller',
      mqttVersion: 4,
      username: 'gw0001',
      password: 'secret',
      caFile: '/etc/berth/ca.pem',
      certFile: '/etc/berth/gw.pem',
      keyFile: '/etc/berth/gw.key',
    },
  });
});

test('--config: flags override the file, and the file overrides the environment', () => {
  const options = mqtt(ctlConnection({ controller: 'proto::isp', replyTopic: 'mine', username: 'ops', password: 'ops-pass', mqttVersion: '5', cert: '/home/ops/ops.pem', certKey: '/home/ops/ops.key' }, agentConfig, { BERTH_BROKER: 'mqtt://env:1883', BERTH_AGENT: 'os::env' }));
  assert.deepEqual(
    [options.brokerUrl, options.agentEndpointId, options.replyTopic, options.username, options.password, options.mqttVersion, options.caFile, options.certFile, options.keyFile],
    ['mqtts://broker.isp.example:8883', AGENT, 'mine', 'ops', 'ops-pass', 5, '/etc/berth/ca.pem', '/home/ops/ops.pem', '/home/ops/ops.key'],
  );
});

test('--config with another --broker: the file\'s credentials and TLS files are not sent there', () => {
  const options = mqtt(ctlConnection({ controller: 'proto::isp', broker: 'mqtt://127.0.0.1:1883' }, agentConfig, {}));
  assert.equal(options.brokerUrl, 'mqtt://127.0.0.1:1883');
  assert.deepEqual([options.username, options.password, options.caFile, options.certFile, options.keyFile], [undefined, undefined, undefined, undefined, undefined]);
  assert.equal(options.replyTopic, 'isp/controllers/main', 'the Controller is still the configured one');
  const withOwn = mqtt(ctlConnection({ controller: 'proto::isp', broker: 'mqtts://other:8883', ca: '/tmp/ca.pem', cert: '/tmp/c.pem', certKey: '/tmp/c.key' }, agentConfig, {}));
  assert.deepEqual([withOwn.caFile, withOwn.certFile, withOwn.keyFile, withOwn.username], ['/tmp/ca.pem', '/tmp/c.pem', '/tmp/c.key', undefined]);
});

test('--config with a Controller the file does not have: a usage error naming those it has, unless the command line says where it listens', () => {
  usageError({}, agentConfig, `proto::berth-ctl is not a Controller of ${FILE} (it has proto::isp, proto::household, proto::security-co, proto::stomp-first, proto::dials-agent, proto::agent-dials, proto::mixed): name one with --controller, or give --reply-topic`);
  assert.equal(mqtt(ctlConnection({ controller: 'proto::added-over-usp', replyTopic: 'x/y' }, agentConfig, {})).replyTopic, 'x/y');
  assert.equal(stomp(ctlConnection({ controller: 'proto::added-over-usp', replyDestination: '/queue/x' }, agentConfig, {})).replyDestination, '/queue/x');
  usageError({ controller: 'proto::added-over-usp', mtp: 'stomp' }, agentConfig, /^proto::added-over-usp is not a Controller of .*: name one with --controller, or give --reply-destination$/);
  usageError({ controller: 'proto::added-over-usp', mtp: 'websocket' }, agentConfig, /^proto::added-over-usp is not a Controller of .*: name one with --controller, or give --agent-url or --listen$/);
  assert.equal(dial(ctlConnection({ controller: 'proto::added-over-usp', agentUrl: 'ws://127.0.0.1:8080/usp' }, agentConfig, {})).url, 'ws://127.0.0.1:8080/usp');
});

test('without --config: flags, then $BERTH_BROKER and $BERTH_AGENT, then the defaults (MQTT)', () => {
  assert.deepEqual(ctlConnection({}, undefined, { BERTH_AGENT: 'os::012345-GW0002' }), {
    wire: 'mqtt',
    why: 'the default',
    options: {
      brokerUrl: 'mqtt://127.0.0.1:1883',
      endpointId: 'proto::berth-ctl',
      agentEndpointId: 'os::012345-GW0002',
      agentTopic: 'usp/agent/os::012345-GW0002',
      replyTopic: 'usp/controller/proto::berth-ctl',
      mqttVersion: 5,
    },
  });
  assert.equal(mqtt(ctlConnection({ agent: 'os::a' }, undefined, { BERTH_BROKER: 'mqtt://env:1883' })).brokerUrl, 'mqtt://env:1883');
  assert.equal(mqtt(ctlConnection({ agent: 'os::a', broker: 'wss://broker.example/mqtt' }, undefined, {})).brokerUrl, 'wss://broker.example/mqtt', 'ws(s):// is MQTT over WebSockets');
  assert.throws(() => ctlConnection({}, undefined, {}), /berth ctl needs --agent <endpoint-id> \(or --config <agent config file>, or BERTH_AGENT\)/);
  assert.throws(() => ctlConnection({ agent: 'os::a', mqttVersion: '3' }, undefined, {}), /--mqtt-version is 5 or 4/);
});

test('--config: a Controller bound to an agent topic of its own sends there', () => {
  const options = mqtt(ctlConnection({ controller: 'proto::security-co' }, agentConfig, {}));
  assert.equal(options.agentTopic, 'isp/agents/gw0001/security');
  assert.equal(options.replyTopic, 'security/controller');
});

// STOMP

test('--config: a Controller whose first MTP is STOMP is reached over the agent\'s STOMP broker, with its login, TLS files, virtual host and destinations', () => {
  assert.deepEqual(ctlConnection({ controller: 'proto::stomp-first' }, agentConfig, {}), {
    wire: 'stomp',
    why: `proto::stomp-first's first MTP in ${FILE}`,
    ids: { endpointId: 'proto::stomp-first', agentEndpointId: AGENT },
    options: {
      brokerUrl: 'stomps://stomp.isp.example:61614',
      endpointId: 'proto::stomp-first',
      agentDestination: '/queue/agents.gw0001',
      replyDestination: '/queue/controllers.ops',
      virtualHost: 'gateways',
      username: 'gw0001-stomp',
      password: 'stomp-secret',
      caFile: '/etc/berth/stomp-ca.pem',
      certFile: '/etc/berth/stomp-gw.pem',
      keyFile: '/etc/berth/stomp-gw.key',
      maxRecordBytes: 65536,
    },
  });
  assert.equal(ctlConnection({ controller: 'proto::stomp-first', mtp: 'mqtt' }, agentConfig, {}).wire, 'mqtt', '--mtp picks its other MTP');
});

test('--mtp stomp: the STOMP MTP of the Controller; one without a STOMP destination is a usage error naming the key, unless --reply-destination says where', () => {
  usageError(
    { controller: 'proto::isp', mtp: 'stomp' },
    agentConfig,
    `proto::isp has no STOMP MTP in ${FILE} (controllers[0].stomp.destination), and ctl talks STOMP here (--mtp stomp): give --reply-destination, or leave out --mtp stomp to use its own (MQTT)`,
  );
  const options = stomp(ctlConnection({ controller: 'proto::isp', mtp: 'stomp', replyDestination: '/queue/isp-replies' }, agentConfig, {}));
  assert.deepEqual([options.brokerUrl, options.agentDestination, options.replyDestination], ['stomps://stomp.isp.example:61614', '/queue/agents.gw0001', '/queue/isp-replies']);
  const noStomp = { file: FILE, config: parseConfig({ endpointId: AGENT, dataDir: '/d', mqtt: { url: 'mqtt://b:1883' }, controllers: [{ endpointId: 'proto::isp', topic: 't' }] }) };
  usageError({ controller: 'proto::isp', mtp: 'stomp', replyDestination: '/queue/r' }, noStomp, `${FILE} has no stomp key (the agent's STOMP broker): give --broker stomp://host:port`);
  assert.equal(stomp(ctlConnection({ controller: 'proto::isp', broker: 'stomp://127.0.0.1:61613', replyDestination: '/queue/r' }, noStomp, {})).agentDestination, `/queue/usp.agent.${AGENT}`);
});

test('--config with another --broker stomp://: the file\'s STOMP login, TLS files and virtual host are not sent there; its destinations still hold', () => {
  const options = stomp(ctlConnection({ controller: 'proto::stomp-first', broker: 'stomp://127.0.0.1:61613' }, agentConfig, {}));
  assert.deepEqual(options, { brokerUrl: 'stomp://127.0.0.1:61613', endpointId: 'proto::stomp-first', agentDestination: '/queue/agents.gw0001', replyDestination: '/queue/controllers.ops' });
});

test('without --config: a stomp:// broker (flag or $BERTH_BROKER) or a STOMP-only option means STOMP, with /queue/usp.agent.<agent> and /queue/usp.controller.<controller>', () => {
  assert.deepEqual(ctlConnection({ agent: 'os::a', broker: 'stomps://broker:61614', username: 'u', password: 'p', ca: '/ca.pem', cert: '/c.pem', certKey: '/c.key' }, undefined, {}), {
    wire: 'stomp',
    why: '--broker stomps://broker:61614',
    ids: { endpointId: 'proto::berth-ctl', agentEndpointId: 'os::a' },
    options: {
      brokerUrl: 'stomps://broker:61614',
      endpointId: 'proto::berth-ctl',
      agentDestination: '/queue/usp.agent.os::a',
      replyDestination: '/queue/usp.controller.proto::berth-ctl',
      username: 'u',
      password: 'p',
      caFile: '/ca.pem',
      certFile: '/c.pem',
      keyFile: '/c.key',
    },
  });
  assert.equal(stomp(ctlConnection({ agent: 'os::a' }, undefined, { BERTH_BROKER: 'stomp://env:61613' })).brokerUrl, 'stomp://env:61613');
  assert.equal(stomp(ctlConnection({ agent: 'os::a', agentDestination: '/queue/gw' }, undefined, {})).brokerUrl, 'stomp://127.0.0.1:61613');
  assert.equal(stomp(ctlConnection({ agent: 'os::a', mtp: 'STOMP' }, undefined, { BERTH_BROKER: 'mqtt://env:1883' })).brokerUrl, 'stomp://127.0.0.1:61613', 'an MQTT $BERTH_BROKER is not a STOMP broker');
});

// WebSocket

test('--config: a Controller without a websocket url dials the agent\'s server (its bind address, port and path) and checks it with the agent\'s caFile; ctl presents only its own certificate', () => {
  const connection = dial(ctlConnection({ controller: 'proto::dials-agent', cert: '/home/ops/ctl.pem', certKey: '/home/ops/ctl.key' }, agentConfig, {}));
  assert.deepEqual(connection, {
    wire: 'websocket-dial',
    why: `proto::dials-agent's first MTP in ${FILE}`,
    ids: { endpointId: 'proto::dials-agent', agentEndpointId: AGENT },
    url: 'wss://127.0.0.1:8443/usp',
    tls: { caFile: '/etc/berth/controllers-ca.pem', certFile: '/home/ops/ctl.pem', keyFile: '/home/ops/ctl.key' },
  });
  assert.equal(dial(ctlConnection({ controller: 'proto::mixed', cert: '/c.pem', certKey: '/c.key' }, agentConfig, {})).url, 'wss://127.0.0.1:8443/usp', 'order: WebSocket first');
  assert.equal(ctlConnection({ controller: 'proto::mixed', mtp: 'mqtt' }, agentConfig, {}).wire, 'mqtt');
});

test('--config: the agent requires client certificates and ctl has none: a usage error that asks for the Controller\'s (the agent\'s own is never presented)', () => {
  usageError(
    { controller: 'proto::dials-agent' },
    agentConfig,
    `the agent's WebSocket server wss://127.0.0.1:8443/usp asks Controllers for a certificate (websocket.listen.requireClientCertificate in ${FILE}): give ctl proto::dials-agent's with --cert and --cert-key (signed by a CA of websocket.caFile, naming urn:bbf:usp:id:proto::dials-agent); the agent's own certificate speaks for the agent`,
  );
  const open = { file: FILE, config: parseConfig({ endpointId: AGENT, dataDir: '/d', websocket: { listen: { bindAddress: '192.0.2.1', port: 8080, encryption: false, requireClientCertificate: false } }, controllers: [{ endpointId: 'proto::lan', websocket: {} }] }) };
  assert.deepEqual(dial(ctlConnection({ controller: 'proto::lan' }, open, {})).tls, {});
  assert.equal(dial(ctlConnection({ controller: 'proto::lan' }, open, {})).url, 'ws://192.0.2.1:8080/usp');
});

test('--config: a Controller with a websocket url is the server the agent dials: ctl listens there with --cert, and checks the agent\'s certificate with the agent\'s caFile', () => {
  const connection = listen(ctlConnection({ controller: 'proto::agent-dials', cert: '/c.pem', certKey: '/c.key' }, agentConfig, {}));
  assert.deepEqual(connection, {
    wire: 'websocket-listen',
    why: `proto::agent-dials's first MTP in ${FILE}`,
    ids: { endpointId: 'proto::agent-dials', agentEndpointId: AGENT },
    url: 'wss://controller.isp.example:9443/usp/gw',
    host: 'controller.isp.example',
    port: 9443,
    path: '/usp/gw',
    tls: { caFile: '/etc/berth/controllers-ca.pem', certFile: '/c.pem', keyFile: '/c.key' },
    requireClientCertificate: true,
  });
  usageError(
    { controller: 'proto::agent-dials' },
    agentConfig,
    `proto::agent-dials's websocket.url in ${FILE} is wss://controller.isp.example:9443/usp/gw: ctl serves wss:// with proto::agent-dials's own certificate, so give --cert and --cert-key (one the agent's websocket.caFile trusts)`,
  );
});

test('--agent-url and --listen from the command line: no TLS file of the config goes with them', () => {
  const dialled = dial(ctlConnection({ controller: 'proto::dials-agent', agentUrl: 'wss://gw.example:8443/usp', cert: '/c.pem', certKey: '/c.key' }, agentConfig, {}));
  assert.deepEqual([dialled.url, dialled.why, dialled.tls], ['wss://gw.example:8443/usp', '--agent-url', { certFile: '/c.pem', keyFile: '/c.key' }]);
  const listening = listen(ctlConnection({ controller: 'proto::agent-dials', listen: 'wss://127.0.0.1:9443/usp', cert: '/c.pem', certKey: '/c.key' }, agentConfig, {}));
  assert.deepEqual([listening.host, listening.port, listening.path, listening.tls, listening.requireClientCertificate], ['127.0.0.1', 9443, '/usp', { certFile: '/c.pem', keyFile: '/c.key' }, false]);
  const withCa = listen(ctlConnection({ agent: 'os::a', listen: 'wss://[::1]/usp', ca: '/ca.pem', cert: '/c.pem', certKey: '/c.key' }, undefined, {}));
  assert.deepEqual([withCa.host, withCa.port, withCa.requireClientCertificate], ['::1', 443, true]);
  const plain = listen(ctlConnection({ agent: 'os::a', listen: 'ws://0.0.0.0:8080/usp', ca: '/ca.pem' }, undefined, {}));
  assert.deepEqual([plain.port, plain.tls, plain.requireClientCertificate], [8080, {}, false]);
});

test('--mtp websocket without a way to open the session, or for a Controller without WebSocket: usage errors naming what to give', () => {
  usageError({ agent: 'os::a', mtp: 'websocket' }, undefined, 'ctl talks WebSocket here (--mtp websocket): give --agent-url ws(s)://host:port/path (ctl opens the session to the agent\'s server) or --listen ws(s)://host:port/path (the agent opens it to ctl), or --config');
  usageError(
    { controller: 'proto::isp', mtp: 'websocket' },
    agentConfig,
    `proto::isp has no WebSocket MTP in ${FILE} (controllers[0].websocket), and ctl talks WebSocket here (--mtp websocket): give --agent-url or --listen, or leave out --mtp websocket to use its own (MQTT)`,
  );
  const noServer = { file: FILE, config: parseConfig({ endpointId: AGENT, dataDir: '/d', mqtt: { url: 'mqtt://b:1883' }, controllers: [{ endpointId: 'proto::isp', topic: 't', websocket: { url: 'ws://127.0.0.1:9000/usp' } }] }) };
  assert.equal(listen(ctlConnection({ controller: 'proto::isp', mtp: 'websocket' }, noServer, {})).port, 9000);
  usageError({ controller: 'proto::isp', agentUrl: 'http://gw/usp' }, noServer, '--agent-url http://gw/usp is not a WebSocket URL like wss://gateway.example:8443/usp');
});

test('agentServerUrl: a wildcard bind address is reached on loopback; an IPv6 address goes in brackets', () => {
  const listen = { bindAddress: '0.0.0.0', port: 8443, path: '/usp', encryption: true, requireClientCertificate: true, maxSessions: 32 };
  assert.equal(agentServerUrl(listen), 'wss://127.0.0.1:8443/usp');
  assert.equal(agentServerUrl({ ...listen, bindAddress: '::' }), 'wss://[::1]:8443/usp');
  assert.equal(agentServerUrl({ ...listen, bindAddress: 'fd00::1', encryption: false, path: '/' }), 'ws://[fd00::1]:8443/');
  assert.equal(agentServerUrl({ ...listen, bindAddress: 'gw.lan' }), 'wss://gw.lan:8443/usp');
});

// Contradictions

test('options of two MTPs, or of two ways of one WebSocket session, are a usage error naming both', () => {
  usageError({ agent: 'os::a', agentUrl: 'wss://gw/usp', broker: 'mqtt://b:1883' }, undefined, '--broker mqtt://b:1883 is for MQTT and --agent-url for WebSocket: ctl talks to the agent over one MTP, so give options of one');
  usageError({ agent: 'os::a', mtp: 'stomp', broker: 'mqtts://b:8883' }, undefined, '--mtp stomp is for STOMP and --broker mqtts://b:8883 for MQTT: ctl talks to the agent over one MTP, so give options of one');
  usageError({ agent: 'os::a', broker: 'stomp://b:61613', replyTopic: 'r' }, undefined, '--broker stomp://b:61613 is for STOMP and --reply-topic for MQTT: ctl talks to the agent over one MTP, so give options of one');
  usageError({ agent: 'os::a', listen: 'ws://127.0.0.1:1/u', agentDestination: '/queue/a' }, undefined, /^--listen is for WebSocket and --agent-destination for STOMP/);
  usageError({ agent: 'os::a', agentUrl: 'wss://gw/usp', listen: 'wss://0.0.0.0/usp' }, undefined, /^--agent-url \(ctl opens the session to the agent's WebSocket server\) and --listen \(the agent opens it to ctl\) are two ways of one WebSocket session: give one$/);
  usageError({ agent: 'os::a', agentUrl: 'wss://gw/usp', username: 'u' }, undefined, '--username is a broker login (MQTT, STOMP), and ctl talks WebSocket here (--agent-url): a WebSocket session is authenticated by certificates (--cert, --cert-key)');
  usageError({ agent: 'os::a', mtp: 'amqp' }, undefined, '--mtp is mqtt, stomp or websocket, not \'amqp\'');
  usageError({ agent: 'os::a', broker: 'http://b:80' }, undefined, /^--broker http:\/\/b:80 is not a broker URL: mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ for MQTT/);
  usageError({ agent: 'os::a', cert: '/c.pem' }, undefined, '--cert and --cert-key go together (a certificate and its private key)');
  assert.throws(() => ctlConnection({ agent: 'os::a' }, undefined, { BERTH_BROKER: 'amqp://x' }), /^UsageError: \$BERTH_BROKER amqp:\/\/x is not a broker URL/);
});

test('a refused WebSocket session says what to give: a certificate (401 without one), a trusted one (401 with one), one naming the Controller (403)', () => {
  const refused = (status: string): string => `the agent at wss://127.0.0.1:8443/usp refused the WebSocket session: HTTP ${status}`;
  assert.equal(refusalHint(refused('401 Unauthorized'), 'proto::ops', undefined), `${refused('401 Unauthorized')}: the agent wants a Controller certificate; give ctl proto::ops's with --cert and --cert-key`);
  assert.equal(refusalHint(refused('401 Unauthorized'), 'proto::ops', '/c.pem'), `${refused('401 Unauthorized')}: the agent does not trust /c.pem (it must be signed by a CA of the agent's websocket.caFile)`);
  assert.match(refusalHint(refused('403 Forbidden'), 'proto::ops', '/c.pem'), /: the agent does not admit proto::ops on this session \(its certificate must name urn:bbf:usp:id:proto::ops/);
  assert.equal(refusalHint('cannot open a WebSocket session to wss://x: ECONNREFUSED', 'proto::ops', undefined), 'cannot open a WebSocket session to wss://x: ECONNREFUSED');
});

test('berth ctl --help names every connection option', () => {
  // The options a help line introduces: the "--x <arg> --y/--z" part before its description.
  const introduced = new Set(CTL_HELP.split('\n').filter((line) => line.startsWith('  --')).flatMap((line) => line.trim().split(/ {2,}/)[0]!.match(/--[a-z-]+/g) ?? []));
  for (const option of ['--config', '--agent', '--controller', '--mtp', '--broker', '--agent-topic', '--reply-topic', '--mqtt-version', '--agent-destination', '--reply-destination', '--username', '--password', '--agent-url', '--listen', '--ca', '--cert', '--cert-key', '--timeout']) {
    assert.ok(introduced.has(option), option);
  }
});
