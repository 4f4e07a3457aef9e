// The broker password of Device.MQTT.Client.1 against a Controller that may write the client but does not know the
// password: the agent as a real process, real Mosquittos (one with TLS), and listeners that record every CONNECT
// where a Controller tries to send the agent. A move without a new Password is refused and nothing reconnects;
// a move with one goes, and carries only the new password.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import type { Broker } from '../../helpers/mosquitto.ts';
import { startAgentProcess, removeDataDir } from '../../helpers/agent-process.ts';
import { skipReason, AGENT_ID, AGENT_TOPIC, CONTROLLER_ID, CONTROLLER_TOPIC } from '../../helpers/usp-fixture.ts';
import { connectController, UspRequestError } from '../../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../../src/controller/controller-client.ts';

const skip = skipReason();
const CLIENT = 'Device.MQTT.Client.1.';
const CTL_USER = { username: 'ctl', password: 'ctl-pass' };

interface Listener {
  readonly port: number;
  /** TCP connections accepted, CONNECT or not. */
  readonly accepted: () => number;
  /** Passwords of the CONNECTs received. */
  readonly passwords: string[];
  close(): Promise<void>;
}

/** A TCP listener that plays a broker just far enough to read a CONNECT, then drops the connection. */
async function listenForConnects(host: string, port = 0): Promise<Listener> {
  let accepted = 0;
  const passwords: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connect') passwords.push(packet.password?.toString() ?? '');
      socket.destroy();
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    passwords,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => { resolve(); });
      }),
  };
}

function nextConnectRecord(controller: ControllerClient, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no MQTTConnectRecord within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = controller.onRecord((record) => {
      if (record.recordType !== 'mqttConnect') return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

function openController(broker: Broker): Promise<ControllerClient> {
  return connectController({
    brokerUrl: broker.url,
    endpointId: CONTROLLER_ID,
    agentEndpointId: AGENT_ID,
    agentTopic: AGENT_TOPIC,
    replyTopic: CONTROLLER_TOPIC,
    ...CTL_USER,
    ...(broker.caFile !== undefined && { caFile: broker.caFile }),
  });
}

/** Starts the agent on `broker` as user gw with `password`; resolves once a Controller there saw it connect. */
async function startAgentOn(t: { after: (fn: () => Promise<void>) => void }, broker: Broker, password: string): Promise<ControllerClient> {
  const controller = await openController(broker);
  t.after(() => controller.close());
  const connected = nextConnectRecord(controller);
  const agent = await startAgentProcess({
    endpointId: AGENT_ID,
    mqtt: { url: broker.url, username: 'gw', password, connectRetryTime: 1, ...(broker.caFile !== undefined && { caFile: broker.caFile }) },
    controllers: [{ endpointId: CONTROLLER_ID, topic: CONTROLLER_TOPIC }],
  });
  t.after(async () => {
    await agent.stop();
    await removeDataDir(agent.dataDir);
  });
  await connected;
  return controller;
}

async function setClient(controller: ControllerClient, values: Record<string, string>): Promise<void> {
  await controller.request({ set: { allowPartial: false, updateObjs: [{ objPath: CLIENT, paramSettings: Object.entries(values).map(([param, value]) => ({ param, value, required: true })) }] } });
}

async function clientParams(controller: ControllerClient): Promise<Record<string, string>> {
  const result = (await controller.get([CLIENT])).reqPathResults![0]!;
  return Object.assign({}, ...result.resolvedPathResults!.map((r) => r.resultParams)) as Record<string, string>;
}

/** The Set fails as a whole with 7014 naming the reason; returns the agent's message. */
async function refused(controller: ControllerClient, values: Record<string, string>): Promise<string> {
  const error = await setClient(controller, values).then(
    () => assert.fail(`Set ${JSON.stringify(values)} was accepted`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof UspRequestError, String(error));
  assert.equal(error.uspErrorCode, 7014, error.message);
  return error.message;
}

/** Watches for the agent reconnecting anywhere the Controller on its broker would see. */
function watchReconnects(controller: ControllerClient): { count: () => number; stop: () => void } {
  let count = 0;
  const stop = controller.onRecord((record) => {
    if (record.recordType === 'mqttConnect') count += 1;
  });
  return { count: () => count, stop };
}

describe('the MQTT client\'s broker password', { skip }, () => {
  test('plain broker: BrokerAddress or BrokerPort alone is refused and nothing reconnects; with a new Password the agent moves and sends only that one', async (t) => {
    const users = [{ username: 'gw', password: 'secret-a' }, CTL_USER];
    const home = await startMosquitto({ users });
    t.after(() => home.stop());
    const other = await startMosquitto({ users: [{ username: 'gw', password: 'secret-b' }, CTL_USER] });
    t.after(() => other.stop());
    // Where a hostile Controller would send the agent: another port here, and the broker's port on another address.
    const otherPort = await listenForConnects('127.0.0.1');
    t.after(() => otherPort.close());
    const otherAddress = await listenForConnects('127.0.0.2', home.port);
    t.after(() => otherAddress.close());

    const controller = await startAgentOn(t, home, 'secret-a');
    const connectedAt = (await clientParams(controller))['BrokerConnectionEstablished'];
    const reconnects = watchReconnects(controller);
    t.after(() => { reconnects.stop(); });

    assert.match(await refused(controller, { BrokerPort: String(otherPort.port) }), /BrokerPort of a client with a Password can only change together with Password/);
    assert.match(
      await refused(controller, { BrokerAddress: '127.0.0.2' }),
      new RegExp(`BrokerAddress of a client with a Password can only change together with Password: the password given for 127\\.0\\.0\\.1:${home.port} is not sent to another broker`),
    );
    assert.match(await refused(controller, { BrokerAddress: '127.0.0.2', Username: 'gw2' }), /BrokerAddress of a client with a Password/);
    // The agent reconnects 50 ms after an accepted write; give a refused one ten times that, and a connect attempt.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(otherPort.accepted() + otherAddress.accepted(), 0, 'no connection was even opened to either listener');
    assert.equal(reconnects.count(), 0, 'the agent did not reconnect');
    const after = await clientParams(controller);
    assert.deepEqual(
      [after['BrokerAddress'], after['BrokerPort'], after['Username'], after['Status'], after['BrokerConnectionEstablished'], after['Password']],
      ['127.0.0.1', String(home.port), 'gw', 'Connected', connectedAt, ''],
      'nothing changed, and the password still reads back as ""',
    );

    // The legitimate case: a new broker and the password for it, in one Set.
    const there = await openController(other);
    t.after(() => there.close());
    const moved = nextConnectRecord(there);
    await setClient(controller, { BrokerPort: String(other.port), Password: 'secret-b' });
    await moved;
    assert.equal((await clientParams(there))['Status'], 'Connected');

    // Moved on once more, to the listener on another address with its own password: it receives that, not the others.
    await setClient(there, { BrokerAddress: '127.0.0.2', BrokerPort: String(home.port), Password: 'for-127.0.0.2' });
    const deadline = Date.now() + 5000;
    while (otherAddress.passwords.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(otherAddress.passwords.length > 0, 'the agent connected to the listener it was legitimately sent to');
    assert.deepEqual([...new Set(otherAddress.passwords)], ['for-127.0.0.2']);
    assert.equal(otherPort.accepted(), 0);
  });

  test('TLS from the config: TransportProtocol TCP/IP is refused even with a new Password; the plain listener never hears from the agent', async (t) => {
    const broker = await startMosquitto({ tls: true, users: [{ username: 'gw', password: 'secret-tls' }, CTL_USER] });
    t.after(() => broker.stop());
    const plain = await listenForConnects('127.0.0.1');
    t.after(() => plain.close());
    const controller = await startAgentOn(t, broker, 'secret-tls');
    const reconnects = watchReconnects(controller);
    t.after(() => { reconnects.stop(); });

    assert.match(await refused(controller, { TransportProtocol: 'TCP/IP' }), /the config file gives this client TLS, so its Password is never sent over TCP\/IP/);
    assert.match(
      await refused(controller, { BrokerAddress: '127.0.0.1', BrokerPort: String(plain.port), TransportProtocol: 'TCP/IP', Password: 'chosen-by-the-controller' }),
      /the config file gives this client TLS/,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(plain.accepted(), 0, 'no connection was opened to the plain listener');
    assert.equal(reconnects.count(), 0, 'the agent did not reconnect');
    const after = await clientParams(controller);
    assert.deepEqual([after['TransportProtocol'], after['BrokerPort'], after['Status']], ['TLS', String(broker.port), 'Connected']);
  });
});
