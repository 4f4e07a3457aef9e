// `berth ctl --config <the agent's config file>` against a real agent on a Mosquitto with TLS and passwords: ctl
// needs no other option to reach the agent as any Controller the file configures, listens on that Controller's
// topic, and shows the agent's 7006 plainly.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import type { Broker } from '../../helpers/mosquitto.ts';
import { startAgentProcess, removeDataDir } from '../../helpers/agent-process.ts';
import type { AgentProcess } from '../../helpers/agent-process.ts';
import { skipReason, AGENT_ID } from '../../helpers/usp-fixture.ts';
import { connectController } from '../../../src/controller/controller-client.ts';
import { runCtl } from './ctl-process.ts';

const skip = skipReason();
const AGENT_TOPIC = 'isp/agents/gw';
const ISP = { endpointId: 'proto::isp', topic: 'isp/replies' };
const GUEST = { endpointId: 'proto::guest', topic: 'usp/controller/guest', role: 'untrusted' };

describe('berth ctl --config', { skip }, () => {
  let broker: Broker;
  let agent: AgentProcess;
  before(async () => {
    broker = await startMosquitto({ tls: true, users: [{ username: 'gw', password: 'broker-secret' }] });
    agent = await startAgentProcess({
      endpointId: AGENT_ID,
      mqtt: { url: broker.url, caFile: broker.caFile, username: 'gw', password: 'broker-secret', agentTopic: AGENT_TOPIC, connectRetryTime: 1 },
      controllers: [ISP, GUEST],
    });
    await agent.waitForLog('"status":"Connected"');
  });
  after(async () => {
    await agent?.stop();
    if (agent) await removeDataDir(agent.dataDir);
    await broker?.stop();
  });

  test('takes the TLS broker, its CA and password, the agent\'s Endpoint ID and topic from the file', async () => {
    const got = await runCtl(['--config', agent.configFile, '--controller', ISP.endpointId, 'get', 'Device.LocalAgent.EndpointID', 'Device.LocalAgent.MTP.1.MQTT.ResponseTopicConfigured']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, `Device.LocalAgent.EndpointID = ${AGENT_ID}\nDevice.LocalAgent.MTP.1.MQTT.ResponseTopicConfigured = ${AGENT_TOPIC}\n`);
    const without = await runCtl(['--broker', broker.url, '--agent', AGENT_ID, '--agent-topic', AGENT_TOPIC, '--controller', ISP.endpointId, '--timeout', '3', 'get', 'Device.LocalAgent.EndpointID']);
    assert.equal(without.code, 1, 'without the file ctl has neither the CA nor the password');
    assert.match(without.stderr, /^berth: cannot connect to the MQTT broker at mqtts:\/\/localhost:\d+/);
  });

  test('listens on the Controller\'s configured topic: the agent\'s notifications for that Controller arrive', async () => {
    const watching = runCtl(['--config', agent.configFile, '--controller', ISP.endpointId, 'subscribe', 'ValueChange', 'Device.LocalAgent.Controller.1.ProvisioningCode', '--count', '1']);
    // Another connection of the same Controller changes the value once ctl's subscription exists. The agent answers a
    // Controller only on its configured topic, so both listen there (each takes the answers to its own msg_ids).
    const isp = await connectController({ brokerUrl: broker.url, caFile: broker.caFile!, username: 'gw', password: 'broker-secret', endpointId: ISP.endpointId, agentEndpointId: AGENT_ID, agentTopic: AGENT_TOPIC, replyTopic: ISP.topic });
    try {
      const subscribed = 'Device.LocalAgent.Subscription.[ReferenceList=="Device.LocalAgent.Controller.1.ProvisioningCode"].';
      for (let i = 0; i < 50 && ((await isp.get([subscribed])).reqPathResults?.[0]?.resolvedPathResults ?? []).length === 0; i++) await new Promise((r) => setTimeout(r, 200));
      await isp.request({ set: { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'ProvisioningCode', value: 'seen-on-isp/replies', required: true }] }] } });
      const result = await watching;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'value change: Device.LocalAgent.Controller.1.ProvisioningCode = seen-on-isp/replies\n');
    } finally {
      await isp.close();
    }
  });

  test('the agent\'s 7006 (an Untrusted Controller writing the MQTT client) names the path and the missing permission on one line, exit code 1, never a stack trace', async () => {
    const denied = await runCtl(['--config', agent.configFile, '--controller', GUEST.endpointId, 'set', 'Device.MQTT.Client.1.', 'BrokerAddress=203.0.113.9']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr + denied.stdout, /^denied \(7006\): Device\.MQTT\.Client\.1\.BrokerAddress: Device\.MQTT\.Client\.1\.BrokerAddress: permission denied: needs Param write, which the Controller's role "Untrusted" does not grant/m);
    assert.doesNotMatch(denied.stderr, /\n\s+at /, 'no stack trace');
  });

  test('a Controller the file does not have, or a file that is not a config, is a usage error (exit 2)', async () => {
    const unknown = await runCtl(['--config', agent.configFile, '--controller', 'proto::nobody', 'get', 'Device.']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, `berth: proto::nobody is not a Controller of ${agent.configFile} (it has ${ISP.endpointId}, ${GUEST.endpointId}): name one with --controller, or give --reply-topic\n`);
    const missing = await runCtl(['--config', join(agent.dataDir, 'no-such.json'), 'get', 'Device.']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^berth: invalid config .*no-such\.json:\n {2}cannot read the file: ENOENT/);
  });
});
