// One agent process speaking every MTP at once, and the same Controller conversation over each: MQTT (Mosquitto),
// STOMP (RabbitMQ), WebSocket with the Controller dialling the agent's server, and WebSocket with the agent dialling
// the Controller's server (both with real TLS and USP certificates). Each Controller gets its own Connect Record,
// reads, writes, adds a row, subscribes and is notified, and installs and removes an app to its DUStateChange!. Then
// a Controller with two MTPs whose first goes down still gets its notifications over the second, and a broker that
// restarts delivers what a persistent subscription owes once the agent is back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSmmFixture, dockerSkipReason } from '../../helpers/smm-fixture.ts';
import type { SmmFixture } from '../../helpers/smm-fixture.ts';
import { AGENT_ID, CONTROLLER_ID, CONTROLLER_TOPIC, skipReason } from '../../helpers/usp-fixture.ts';
import { startRabbitmq, rabbitmqSkipReason } from '../../helpers/rabbitmq.ts';
import type { RabbitmqBroker } from '../../helpers/rabbitmq.ts';
import { createTestPki } from '../../helpers/tls-certs.ts';
import type { TestPki } from '../../helpers/tls-certs.ts';
import { freePort } from '../../../src/cli/local-broker.ts';
import { createControllerSession } from '../../../src/controller/controller-session.ts';
import type { ControllerClient } from '../../../src/controller/controller-session.ts';
import { connectStompWire } from '../../../src/controller/stomp-wire.ts';
import { dialAgentWebSocket, listenForAgentWebSocket } from '../../../src/controller/websocket-wires.ts';
import type { ControllerWebSocketServer } from '../../../src/controller/websocket-wires.ts';
import type { usp } from '../../../src/usp/generated/usp.js';
import { WebSocket } from 'ws';
import { readFileSync } from 'node:fs';

const skip = skipReason() ?? rabbitmqSkipReason() ?? dockerSkipReason();
const STOMP_CONTROLLER = 'proto::stomp-ops';
const WS_IN_CONTROLLER = 'proto::ws-dials-agent';
const WS_OUT_CONTROLLER = 'proto::agent-dials-ws';
const TWO_MTP_CONTROLLER = 'proto::two-mtps';
const STOMP_REPLY = '/queue/usp.controller.stomp-ops';
const TWO_MTP_REPLY = '/queue/usp.controller.two-mtps';
const AGENT_DESTINATION = `/queue/usp.agent.${AGENT_ID}`;

const settings = (values: Record<string, string>): usp.Add.CreateParamSetting.$Properties[] => Object.entries(values).map(([param, value]) => ({ param, value, required: true }));

/** Resolves once a Record of this type has been seen (including ones already kept by the wire for its first listener). */
function recordOfType(client: ControllerClient, type: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${client.endpointId}: no ${type} Record within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.onRecord((record) => {
      if (record.recordType !== type) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

async function controllerRow(client: ControllerClient): Promise<string> {
  const found = await client.request({ getInstances: { objPaths: [`Device.LocalAgent.Controller.[EndpointID=="${client.endpointId}"].`], firstLevelOnly: true } });
  return found.getInstancesResp!.reqPathResults![0]!.currInsts![0]!.instantiatedObjPath!;
}

async function addRow(client: ControllerClient, table: string, values: Record<string, string>): Promise<string> {
  const resp = await client.request({ add: { allowPartial: false, createObjs: [{ objPath: table, paramSettings: settings(values) }] } });
  return resp.addResp!.createdObjResults![0]!.operStatus!.operSuccess!.instantiatedPath!;
}

async function setParam(client: ControllerClient, objPath: string, param: string, value: string): Promise<void> {
  await client.request({ set: { allowPartial: false, updateObjs: [{ objPath, paramSettings: [{ param, value, required: true }] }] } });
}

async function value(client: ControllerClient, path: string): Promise<string> {
  const resp = await client.get([path]);
  return Object.values(resp.reqPathResults![0]!.resolvedPathResults![0]!.resultParams!)[0]!;
}

async function operate(client: ControllerClient, command: string, inputArgs: Record<string, string>): Promise<usp.OperateResp.OperationResult.$Properties> {
  const resp = await client.request({ operate: { command, commandKey: `${client.endpointId}-${command}`, sendResp: true, inputArgs } }, { timeoutMs: 30_000 });
  return resp.operateResp!.operationResults![0]!;
}

function nextDuStateChange(client: ControllerClient, operation: string): Promise<Record<string, string>> {
  return client.nextNotify((n) => n.event?.eventName === 'DUStateChange!' && n.event.params?.['OperationPerformed'] === operation, 60_000).then((n) => n.event!.params!);
}

/** The conversation every Controller has with the agent, whatever carries it. */
async function conversation(smm: SmmFixture, client: ControllerClient): Promise<void> {
  const me = client.endpointId;
  assert.equal(await value(client, 'Device.LocalAgent.EndpointID'), AGENT_ID, `${me}: Get`);
  const row = await controllerRow(client);
  await setParam(client, row, 'ProvisioningCode', `${me}-1`);
  assert.equal(await value(client, `${row}ProvisioningCode`), `${me}-1`, `${me}: Set`);
  const boot = await addRow(client, `${row}BootParameter.`, { Enable: 'true', ParameterName: 'Device.DeviceInfo.SoftwareVersion' });
  assert.equal(await value(client, `${boot}ParameterName`), 'Device.DeviceInfo.SoftwareVersion', `${me}: Add`);

  await addRow(client, 'Device.LocalAgent.Subscription.', { Enable: 'true', NotifType: 'ValueChange', ReferenceList: `${row}ProvisioningCode` });
  const changed = client.nextNotify((n) => n.valueChange?.paramPath === `${row}ProvisioningCode`, 15_000);
  await setParam(client, row, 'ProvisioningCode', `${me}-2`);
  assert.equal((await changed).valueChange!.paramValue, `${me}-2`, `${me}: ValueChange`);

  await addRow(client, 'Device.LocalAgent.Subscription.', { Enable: 'true', NotifType: 'Event', ReferenceList: 'Device.SoftwareModules.DUStateChange!' });
  const installed = nextDuStateChange(client, 'Install');
  const started = await operate(client, 'Device.SoftwareModules.InstallDU()', { URL: smm.packageUrl('parental-control@1.0.0'), ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.1' });
  assert.ok(started.reqOutputArgs ?? started.reqObjPath, `${me}: InstallDU started`);
  const install = await installed;
  assert.equal(install['CurrentState'], 'Installed', `${me}: DUStateChange! ${JSON.stringify(install)}`);
  const du = install['DeploymentUnitRef']!;
  const uninstalled = nextDuStateChange(client, 'Uninstall');
  await operate(client, `${du}.Uninstall()`, {});
  assert.equal((await uninstalled)['CurrentState'], 'Uninstalled', `${me}: Uninstall`);
}

describe('every MTP at once', { skip, timeout: 300_000 }, () => {
  let pki: TestPki;
  let rabbit: RabbitmqBroker;
  let controllerServer: ControllerWebSocketServer;
  let smm: SmmFixture;
  let agentWsPort: number;
  const clients: ControllerClient[] = [];

  before(async () => {
    pki = createTestPki();
    rabbit = await startRabbitmq();
    // The agent's certificate names its Endpoint ID (urn:bbf:usp:id:…) and localhost, for both WebSocket roles.
    const agentCert = pki.issue('agent', { dns: ['localhost'], ips: ['127.0.0.1'], endpointIds: [AGENT_ID] });
    controllerServer = await listenForAgentWebSocket({ port: 0, path: '/usp', agentEndpointId: AGENT_ID, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile, requireClientCertificate: true });
    agentWsPort = await freePort();
    // A Controller's queue exists before the agent sends to it, as in a deployment (RabbitMQ drops a SEND to a
    // /queue/ nobody has declared): the STOMP Controllers are connected first.
    await open('stomp');
    await open('stomp', TWO_MTP_CONTROLLER);
    smm = await startSmmFixture({
      config: {
        ...(process.env['BERTH_TEST_AGENT_LOG'] && { log: { level: 'trace' } }),
        stomp: { url: `stomp://127.0.0.1:${rabbit.stompPort}`, retryInitialSeconds: 1 },
        websocket: { certFile: agentCert.certFile, keyFile: agentCert.keyFile, caFile: pki.caFile, listen: { bindAddress: '127.0.0.1', port: agentWsPort, path: '/usp' } },
        controllers: [
          { endpointId: CONTROLLER_ID, topic: CONTROLLER_TOPIC },
          { endpointId: STOMP_CONTROLLER, stomp: { destination: STOMP_REPLY } },
          { endpointId: WS_IN_CONTROLLER, websocket: {} },
          { endpointId: WS_OUT_CONTROLLER, websocket: { url: `wss://localhost:${controllerServer.port}/usp`, retryMinimumWaitSeconds: 1 } },
          { endpointId: TWO_MTP_CONTROLLER, stomp: { destination: TWO_MTP_REPLY }, websocket: {}, order: ['STOMP', 'WebSocket'] },
        ],
      },
    });
  });
  after(async () => {
    if (process.env['BERTH_TEST_AGENT_LOG']) (await import('node:fs')).writeFileSync(process.env['BERTH_TEST_AGENT_LOG'], smm?.fx.agent.output() ?? '');
    for (const client of clients) await client.close().catch(() => undefined);
    await smm?.close();
    await controllerServer?.close();
    await rabbit?.stop();
    pki?.remove();
  });

  const open = async (kind: 'stomp' | 'ws-in' | 'ws-out', endpointId?: string): Promise<ControllerClient> => {
    let client: ControllerClient;
    if (kind === 'stomp') {
      const id = endpointId ?? STOMP_CONTROLLER;
      const wire = await connectStompWire({ brokerUrl: `stomp://127.0.0.1:${rabbit.stompPort}`, endpointId: id, agentDestination: AGENT_DESTINATION, replyDestination: id === STOMP_CONTROLLER ? STOMP_REPLY : TWO_MTP_REPLY });
      client = createControllerSession(wire, { endpointId: id, agentEndpointId: AGENT_ID });
    } else if (kind === 'ws-in') {
      const id = endpointId ?? WS_IN_CONTROLLER;
      const wire = await dialAgentWebSocket({ url: `wss://localhost:${agentWsPort}/usp`, endpointId: id, caFile: pki.caFile, ...pki.client(id) });
      client = createControllerSession(wire, { endpointId: id, agentEndpointId: AGENT_ID });
    } else {
      client = createControllerSession(await controllerServer.session(20_000), { endpointId: WS_OUT_CONTROLLER, agentEndpointId: AGENT_ID });
    }
    clients.push(client);
    return client;
  };

  /** A new STOMP Controller session, retried while a restarted RabbitMQ is still coming up. */
  const openStompOnceUp = async (): Promise<ControllerClient> => {
    for (let i = 0; ; i++) {
      try {
        return await open('stomp');
      } catch (error) {
        if (i >= 40) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  test('MQTT: Get, Set, Add, a notification and InstallDU to its DUStateChange!', async () => {
    await conversation(smm, smm.controller);
  });

  test('STOMP (RabbitMQ): the STOMPConnectRecord, then the same conversation', async () => {
    const client = clients.find((c) => c.endpointId === STOMP_CONTROLLER)!;
    await recordOfType(client, 'stompConnect');
    await conversation(smm, client);
  });

  test("WebSocket, the Controller dialling the agent's server with its USP certificate: the WebSocketConnectRecord, then the same conversation", async () => {
    const client = await open('ws-in');
    await recordOfType(client, 'websocketConnect');
    await conversation(smm, client);
  });

  test("WebSocket, the agent dialling the Controller's server with its own certificate: the same conversation", async () => {
    const client = await open('ws-out');
    await recordOfType(client, 'websocketConnect');
    await conversation(smm, client);
  });

  test('a Controller with two MTPs whose first goes down gets its notifications over the second', async () => {
    const overStomp = clients.find((c) => c.endpointId === TWO_MTP_CONTROLLER)!;
    const overWebSocket = await open('ws-in', TWO_MTP_CONTROLLER);
    await recordOfType(overWebSocket, 'websocketConnect');
    const row = await controllerRow(overWebSocket);
    await addRow(overWebSocket, 'Device.LocalAgent.Subscription.', { Enable: 'true', NotifType: 'ValueChange', ReferenceList: `${row}ProvisioningCode` });
    const viaWebSocket: string[] = [];
    overWebSocket.onNotify((n) => { if (n.valueChange) viaWebSocket.push(n.valueChange.paramValue ?? ''); });

    // Both up: the first MTP in Order (STOMP) carries it.
    const first = overStomp.nextNotify((n) => n.valueChange?.paramValue === 'while-both-up', 15_000);
    await setParam(smm.controller, row, 'ProvisioningCode', 'while-both-up');
    await first;
    assert.deepEqual(viaWebSocket, [], 'not sent twice');

    // The STOMP broker goes down: once the agent knows (its STOMP MTP no longer Up), the next one comes over WebSocket.
    // (A Record written to a connection that is dying unnoticed is lost, as on any MTP: NotifRetry is for that.)
    await rabbit.pause();
    try {
      for (let i = 0; ; i++) {
        if ((await value(smm.controller, 'Device.LocalAgent.MTP.[Alias=="stomp"].Status')) !== 'Up') break;
        assert.ok(i < 100, 'the agent never noticed the STOMP broker was gone');
        await new Promise((r) => setTimeout(r, 100));
      }
      const second = overWebSocket.nextNotify((n) => n.valueChange?.paramValue === 'while-stomp-down', 15_000);
      await setParam(smm.controller, row, 'ProvisioningCode', 'while-stomp-down');
      await second;
    } finally {
      await rabbit.resume();
    }
  });

  test('a broker that restarts is reconnected, and what a persistent subscription owes is delivered', async () => {
    // The STOMP sessions of before died with the broker in the test above.
    const stompClient = await openStompOnceUp();
    const row = await controllerRow(stompClient);
    await addRow(stompClient, 'Device.LocalAgent.Subscription.', { Enable: 'true', NotifType: 'ValueChange', ReferenceList: `${row}ControllerCode`, Persistent: 'true', NotifRetry: 'true' });
    await rabbit.pause();
    // Raised while the agent cannot reach the broker: kept until it can.
    await setParam(smm.controller, row, 'ControllerCode', 'raised-while-down');
    await rabbit.resume();
    const again = await openStompOnceUp();
    const owed = await again.nextNotify((n) => n.valueChange?.paramPath === `${row}ControllerCode`, 60_000);
    assert.equal(owed.valueChange!.paramValue, 'raised-while-down');
    assert.equal(await value(again, 'Device.STOMP.Connection.1.Status'), 'Enabled');
  });

  test('a Controller WebSocket server that restarts is dialled again with the back-off, and the owed notification arrives', async () => {
    const wsClient = clients.find((c) => c.endpointId === WS_OUT_CONTROLLER) ?? (await open('ws-out'));
    const row = await controllerRow(wsClient);
    await addRow(wsClient, 'Device.LocalAgent.Subscription.', { Enable: 'true', NotifType: 'ValueChange', ReferenceList: `${row}ControllerCode`, Persistent: 'true', NotifRetry: 'true' });
    const port = controllerServer.port;
    await controllerServer.close();
    await setParam(smm.controller, row, 'ControllerCode', 'raised-while-ws-down');
    // The agent counts its attempts (CurrentRetryCount) while the Controller's server is away.
    const mtp = `${row}MTP.1.WebSocket.`;
    for (let i = 0; ; i++) {
      if (Number(await value(smm.controller, `${mtp}CurrentRetryCount`)) >= 1) break;
      assert.ok(i < 100, 'CurrentRetryCount never rose');
      await new Promise((r) => setTimeout(r, 100));
    }
    controllerServer = await listenForAgentWebSocket({ port, path: '/usp', agentEndpointId: AGENT_ID, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile, requireClientCertificate: true });
    const again = createControllerSession(await controllerServer.session(60_000), { endpointId: WS_OUT_CONTROLLER, agentEndpointId: AGENT_ID });
    clients.push(again);
    const owed = await again.nextNotify((n) => n.valueChange?.paramPath === `${row}ControllerCode`, 30_000);
    assert.equal(owed.valueChange!.paramValue, 'raised-while-ws-down');
    assert.equal(await value(smm.controller, `${mtp}CurrentRetryCount`), '0', 'reset once connected');
  });

  test('hostile peers are refused without harming the agent: wrong subprotocol, no certificate, text, junk and oversized frames, an oversized STOMP message', async () => {
    const url = `wss://localhost:${agentWsPort}/usp?eid=${encodeURIComponent(WS_IN_CONTROLLER)}`;
    const cert = pki.client(WS_IN_CONTROLLER);
    const tls = { ca: readFileSync(pki.caFile), cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) };
    /** Opens a raw session and reports how it ended: the HTTP status of a refusal, or the close code. */
    const attempt = (protocol: string, options: Record<string, unknown>, send?: (socket: WebSocket) => void): Promise<string> =>
      new Promise((resolve) => {
        const socket = new WebSocket(url, protocol, { maxPayload: 64 * 1024 * 1024, ...options });
        socket.on('unexpected-response', (_req, res) => { resolve(`HTTP ${res.statusCode}`); socket.terminate(); });
        socket.on('open', () => send?.(socket));
        socket.on('close', (code) => { resolve(`close ${code}`); });
        socket.on('error', () => undefined);
      });
    assert.equal(await attempt('v2.other', tls), 'HTTP 400', 'a wrong subprotocol');
    assert.equal(await attempt('v1.usp', { ca: tls.ca }), 'HTTP 401', 'no client certificate');
    assert.equal(await attempt('v1.usp', tls, (socket) => { socket.send('{"hello":"text"}'); }), 'close 1003', 'a text frame');
    assert.equal(await attempt('v1.usp', tls, (socket) => { socket.send(Buffer.from('not a USP Record at all')); }), 'close 1003', 'a binary frame that is not a Record');
    assert.equal(await attempt('v1.usp', tls, (socket) => { socket.send(Buffer.alloc(6 * 1024 * 1024, 1)); }), 'close 1009', 'a frame over websocket.maxMessageBytes');

    // Over STOMP, through RabbitMQ: a 6 MiB message and a malformed Record to the agent's queue.
    const stomp = await connectStompWire({ brokerUrl: `stomp://127.0.0.1:${rabbit.stompPort}`, endpointId: 'proto::hostile', agentDestination: AGENT_DESTINATION, replyDestination: '/queue/usp.controller.hostile', maxRecordBytes: 16 * 1024 * 1024 });
    await stomp.send(Buffer.alloc(6 * 1024 * 1024, 2));
    await stomp.send(Buffer.from('junk'));
    await stomp.close();

    // Everyone is still served, over every MTP.
    assert.equal(await value(smm.controller, 'Device.LocalAgent.EndpointID'), AGENT_ID);
    const wsAgain = await open('ws-in');
    assert.equal(await value(wsAgain, 'Device.LocalAgent.EndpointID'), AGENT_ID);
    const stompAgain = await openStompOnceUp();
    for (let i = 0; ; i++) {
      try {
        assert.equal(await value(stompAgain, 'Device.LocalAgent.EndpointID'), AGENT_ID);
        break;
      } catch (error) {
        // The oversized message dropped the agent's STOMP connection: it reconnects with its back-off.
        if (i >= 10) throw error;
      }
    }
    assert.ok(smm.fx.agent.child.exitCode === null, 'the agent is running');
  });
});
