// The MTP manager follows the data model: an MQTT client and a LocalAgent.MTP row added over USP connect the agent to
// a second broker, where a Controller whose MTP row names that MTP is served; written rows reconnect only the MTP
// they belong to; deleted, that MTP goes away. A real agent process and two real Mosquittos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import { startFixture, skipReason, AGENT_ID } from '../../helpers/usp-fixture.ts';
import { connectController } from '../../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../../src/controller/controller-client.ts';

const skip = skipReason();
const SECOND = 'proto::second-broker';

const settings = (values: Record<string, string>) => Object.entries(values).map(([param, value]) => ({ param, value, required: true }));

function nextRecord(controller: ControllerClient, type: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} Record within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = controller.onRecord((record) => {
      if (record.recordType !== type) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

test('a second MQTT client added over USP serves a Controller on its own broker; changed and deleted, only it follows', { skip, timeout: 90_000 }, async (t) => {
  const fx = await startFixture();
  t.after(() => fx.close());
  const brokerB = await startMosquitto();
  t.after(() => brokerB.stop());
  const url = new URL(brokerB.url);

  // The operator's Controller adds the client, the agent MTP on it, and a Controller reached through it.
  const added = await fx.controller.request({
    add: {
      allowPartial: false,
      createObjs: [
        { objPath: 'Device.MQTT.Client.', paramSettings: settings({ Alias: 'broker-b', Enable: 'true', BrokerAddress: url.hostname, BrokerPort: url.port, ConnectRetryTime: '1' }) },
      ],
    },
  });
  const clientPath = added.addResp!.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
  const mtp = await fx.controller.request({
    add: {
      allowPartial: false,
      createObjs: [
        { objPath: 'Device.LocalAgent.MTP.', paramSettings: settings({ Alias: 'mqtt-b', Enable: 'false', Protocol: 'MQTT', 'MQTT.Reference': clientPath.slice(0, -1), 'MQTT.ResponseTopicConfigured': 'usp/agent/b' }) },
      ],
    },
  });
  const mtpPath = mtp.addResp!.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
  const controllerB = await connectController({ brokerUrl: brokerB.url, endpointId: SECOND, agentEndpointId: AGENT_ID, agentTopic: 'usp/agent/b', replyTopic: 'usp/controller/second' });
  t.after(() => controllerB.close());
  const connected = nextRecord(controllerB, 'mqttConnect');
  await fx.controller.request({
    add: {
      allowPartial: false,
      createObjs: [
        {
          objPath: 'Device.LocalAgent.Controller.',
          paramSettings: settings({ EndpointID: SECOND, Enable: 'true', AssignedRole: 'Device.LocalAgent.ControllerTrust.Role.1' }),
        },
      ],
    },
  });
  const controllerRow = (await fx.controller.request({ getInstances: { objPaths: [`Device.LocalAgent.Controller.[EndpointID=="${SECOND}"].`], firstLevelOnly: true } }))
    .getInstancesResp!.reqPathResults![0]!.currInsts![0]!.instantiatedObjPath!;
  await fx.controller.request({
    add: {
      allowPartial: false,
      createObjs: [{ objPath: `${controllerRow}MTP.`, paramSettings: settings({ Enable: 'true', Protocol: 'MQTT', 'MQTT.Topic': 'usp/controller/second', 'MQTT.AgentMTPReference': mtpPath.slice(0, -1) }) }],
    },
  });
  // Enabled, the MTP connects: the agent reaches the new Controller on broker B with its Connect Record, and answers it there.
  await fx.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: mtpPath, paramSettings: [{ param: 'Enable', value: 'true', required: true }] }] } });
  await connected;
  const got = await controllerB.get([`${mtpPath}Status`, `${clientPath}Status`]);
  const values = Object.fromEntries(got.reqPathResults!.map((r) => [r.requestedPath, Object.values(r.resolvedPathResults![0]!.resultParams!)[0]]));
  assert.deepEqual(values, { [`${mtpPath}Status`]: 'Up', [`${clientPath}Status`]: 'Connected' });

  // Broker A's MTP keeps its connection while broker B's is rewritten: the operator sees no Connect Record.
  let reconnectedOnA = false;
  const offA = fx.controller.onRecord((record) => {
    if (record.recordType === 'mqttConnect') reconnectedOnA = true;
  });
  const reconnectedOnB = nextRecord(controllerB, 'mqttConnect');
  await fx.controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: clientPath, paramSettings: [{ param: 'KeepAliveTime', value: '30', required: true }] }] } });
  await reconnectedOnB;
  assert.equal((await controllerB.get([`${clientPath}KeepAliveTime`])).reqPathResults![0]!.resolvedPathResults![0]!.resultParams!['KeepAliveTime'], '30');
  offA();
  assert.equal(reconnectedOnA, false, 'writing client B did not reconnect client A');

  // Deleted, the MTP goes, saying so (R-MTP.7: a DisconnectRecord); the second Controller is no longer answered, the
  // first still is.
  const farewell = nextRecord(controllerB, 'disconnect');
  await fx.controller.request({ delete: { allowPartial: false, objPaths: [mtpPath] } });
  await farewell;
  // The client row stays, unused: Disabled once its connection is closed.
  for (let i = 0; ; i++) {
    const status = (await fx.controller.get([`${clientPath}Status`])).reqPathResults![0]!.resolvedPathResults![0]!.resultParams!['Status'];
    if (status === 'Disabled') break;
    assert.ok(i < 50, `client B still ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await assert.rejects(controllerB.request({ get: { paramPaths: ['Device.LocalAgent.EndpointID'] } }, { timeoutMs: 2000 }), /no answer/);
  assert.equal((await fx.controller.get(['Device.LocalAgent.EndpointID'])).reqPathResults![0]!.resolvedPathResults![0]!.resultParams!['EndpointID'], AGENT_ID);
});
