// `berth ctl` over STOMP against a real agent process on a private RabbitMQ with TLS and passwords: with the agent's
// config file alone (its broker, CA, login and destination, the Controller's destination), and with flags alone;
// the file's password and CA are not given to a broker named on the command line.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRabbitmq, rabbitmqSkipReason } from '../../helpers/rabbitmq.ts';
import type { RabbitmqBroker } from '../../helpers/rabbitmq.ts';
import { startAgentProcess, removeDataDir } from '../../helpers/agent-process.ts';
import type { AgentProcess } from '../../helpers/agent-process.ts';
import { AGENT_ID } from '../../helpers/usp-fixture.ts';
import { runCtl } from './ctl-process.ts';

const skip = rabbitmqSkipReason();
const LOGIN = { username: 'gw', password: 'stomp-secret' };
const AGENT_DESTINATION = '/queue/isp.agents.gw';
const OPS = { endpointId: 'proto::ops', stomp: { destination: '/queue/isp.controllers.ops' } };

describe('berth ctl over STOMP', { skip }, () => {
  let broker: RabbitmqBroker;
  let agent: AgentProcess;
  before(async () => {
    broker = await startRabbitmq({ tls: true, users: [LOGIN] });
    agent = await startAgentProcess({
      endpointId: AGENT_ID,
      stomp: { url: `stomps://localhost:${broker.stompTlsPort!}`, caFile: broker.caFile, ...LOGIN, destination: AGENT_DESTINATION, retryInitialSeconds: 1 },
      controllers: [OPS],
    });
    await agent.waitForLog('subscribed to the STOMP destination', 30_000);
  });
  after(async () => {
    await agent?.stop();
    if (agent) await removeDataDir(agent.dataDir);
    await broker?.stop();
  });

  test('get with --config alone: the agent\'s STOMP broker over TLS with its CA and login, its destination, and the Controller\'s destination', async () => {
    const got = await runCtl(['--config', agent.configFile, '--controller', OPS.endpointId, 'get', 'Device.LocalAgent.EndpointID', 'Device.LocalAgent.MTP.1.Protocol']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, `Device.LocalAgent.EndpointID = ${AGENT_ID}\nDevice.LocalAgent.MTP.1.Protocol = STOMP\n`);
  });

  test('set with flags alone (a stomps:// --broker, --ca, the login, both destinations), read back with --config', async () => {
    const set = await runCtl([
      '--broker', `stomps://localhost:${broker.stompTlsPort!}`, '--ca', broker.caFile!, '--username', LOGIN.username, '--password', LOGIN.password,
      '--agent', AGENT_ID, '--controller', OPS.endpointId, '--agent-destination', AGENT_DESTINATION, '--reply-destination', OPS.stomp.destination,
      'set', 'Device.LocalAgent.Controller.1.', 'ProvisioningCode=set-over-stomp',
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'set Device.LocalAgent.Controller.1.ProvisioningCode = set-over-stomp\n');
    const got = await runCtl(['--config', agent.configFile, '--controller', OPS.endpointId, 'get', 'Device.LocalAgent.Controller.1.ProvisioningCode']);
    assert.equal(got.stdout, 'Device.LocalAgent.Controller.1.ProvisioningCode = set-over-stomp\n', got.stderr);
  });

  test('the file\'s login and CA are not sent to a --broker of the command line: the plain port refuses ctl without the password, the TLS port is not verified without the CA', async () => {
    const plain = await runCtl(['--config', agent.configFile, '--controller', OPS.endpointId, '--broker', `stomp://127.0.0.1:${broker.stompPort}`, '--timeout', '3', 'get', 'Device.LocalAgent.EndpointID']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, new RegExp(`^berth: cannot connect to the STOMP broker at stomp://127\\.0\\.0\\.1:${broker.stompPort}: the STOMP server refused the connection: .*Access refused`));
    const tls = await runCtl(['--config', agent.configFile, '--controller', OPS.endpointId, '--broker', `stomps://localhost:${broker.stompTlsPort!}`, '--timeout', '3', 'get', 'Device.LocalAgent.EndpointID']);
    assert.equal(tls.code, 1);
    assert.match(tls.stderr, /^berth: cannot connect to the STOMP broker at stomps:\/\/localhost:\d+: TLS with localhost:\d+ failed: .*certificate/);
    const withLogin = await runCtl(['--config', agent.configFile, '--controller', OPS.endpointId, '--broker', `stomp://127.0.0.1:${broker.stompPort}`, '--username', LOGIN.username, '--password', LOGIN.password, 'get', 'Device.LocalAgent.EndpointID']);
    assert.equal(withLogin.stdout, `Device.LocalAgent.EndpointID = ${AGENT_ID}\n`, 'the same broker with the login given on the command line answers');
  });

  test('--mtp mqtt for a Controller that has only STOMP is a usage error naming the key (exit 2)', async () => {
    const wrong = await runCtl(['--config', agent.configFile, '--controller', OPS.endpointId, '--mtp', 'mqtt', 'get', 'Device.']);
    assert.equal(wrong.code, 2);
    assert.equal(
      wrong.stderr,
      `berth: ${OPS.endpointId} has no MQTT MTP in ${agent.configFile} (controllers[0].topic), and ctl talks MQTT here (--mtp mqtt): give --reply-topic, or leave out --mtp mqtt to use its own (STOMP)\n`,
    );
  });
});
