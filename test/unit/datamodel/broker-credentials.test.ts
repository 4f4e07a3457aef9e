// The broker password never goes somewhere new or weaker without a new Password in the same write: Sets on
// Device.MQTT.Client.1. and Device.STOMP.Connection.1. seeded from different configs, as tables of cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestModel, testConfig, write } from '../../helpers/model.ts';
import type { TestModel } from '../../helpers/model.ts';
import { handleSet } from '../../../src/engine/handle-set.ts';

const CLIENT = 'Device.MQTT.Client.1.';

function setClient(model: TestModel, settings: Record<string, string>, required = true) {
  const resp = write(model, (tx) =>
    handleSet(model.ctx(), { allowPartial: true, updateObjs: [{ objPath: CLIENT, paramSettings: Object.entries(settings).map(([param, value]) => ({ param, value, required })) }] }, tx),
  );
  return resp.updatedObjResults![0]!.operStatus!;
}

const raw = (model: TestModel, name: string): string => model.dm.get(CLIENT, name);

interface Case {
  readonly mqtt: Record<string, unknown>;
  /** Written first, and expected to succeed (how the client got where the case starts). */
  readonly before?: Record<string, string>;
  readonly set: Record<string, string>;
  /** undefined: accepted; else the error message expected with 7014. */
  readonly refused?: RegExp;
}

const PLAIN_WITH_PASSWORD = { url: 'mqtt://broker.example:1883', username: 'gw', password: 'secret' };
const TLS_WITH_PASSWORD = { url: 'mqtts://broker.example:8883', username: 'gw', password: 'secret' };

const cases: Record<string, Case> = {
  'no password: the client may go anywhere': { mqtt: { url: 'mqtt://broker.example:1883' }, set: { BrokerAddress: 'elsewhere.example', BrokerPort: '1884' } },
  'password: another BrokerAddress alone is refused': {
    mqtt: PLAIN_WITH_PASSWORD,
    set: { BrokerAddress: 'attacker.example' },
    refused: /^Device\.MQTT\.Client\.1\.BrokerAddress of a client with a Password can only change together with Password: the password given for broker\.example:1883 is not sent to another broker$/,
  },
  'password: another BrokerPort alone is refused': { mqtt: PLAIN_WITH_PASSWORD, set: { BrokerPort: '1884' }, refused: /BrokerPort of a client with a Password can only change together with Password/ },
  'password: another BrokerAddress with a new Password is accepted': { mqtt: PLAIN_WITH_PASSWORD, set: { BrokerAddress: 'elsewhere.example', BrokerPort: '1884', Password: 'for-elsewhere' } },
  'password: the same BrokerAddress written again is no move': { mqtt: PLAIN_WITH_PASSWORD, set: { BrokerAddress: 'broker.example', BrokerPort: '1883' } },
  'password: Username, KeepAliveTime and ClientID stay on the same broker': { mqtt: PLAIN_WITH_PASSWORD, set: { Username: 'other', KeepAliveTime: '30', ClientID: 'gw-1' } },
  'password: TCP/IP to TLS is stronger, accepted': { mqtt: PLAIN_WITH_PASSWORD, set: { TransportProtocol: 'TLS' } },
  'password: TLS (set over USP) back to TCP/IP alone is refused': {
    mqtt: PLAIN_WITH_PASSWORD,
    before: { TransportProtocol: 'TLS' },
    set: { TransportProtocol: 'TCP/IP' },
    refused: /TransportProtocol of a client with a Password can only go from TLS to TCP\/IP together with Password: the password is not sent over a weaker connection/,
  },
  'password: WebSocketTLS to WebSocket alone is refused': {
    mqtt: PLAIN_WITH_PASSWORD,
    before: { TransportProtocol: 'WebSocketTLS' },
    set: { TransportProtocol: 'WebSocket' },
    refused: /can only go from WebSocketTLS to WebSocket together with Password/,
  },
  'password: TLS back to TCP/IP with a new Password is accepted (the config did not ask for TLS)': {
    mqtt: PLAIN_WITH_PASSWORD,
    before: { TransportProtocol: 'TLS' },
    set: { TransportProtocol: 'TCP/IP', Password: 'plain-one' },
  },
  'config TLS: TCP/IP is refused even with a new Password': {
    mqtt: TLS_WITH_PASSWORD,
    set: { TransportProtocol: 'TCP/IP', Password: 'new' },
    refused: /^Device\.MQTT\.Client\.1\.TransportProtocol: the config file gives this client TLS, so its Password is never sent over TCP\/IP; to use a broker without TLS, set Password to "" as well$/,
  },
  'config TLS: WebSocket alone is refused': { mqtt: TLS_WITH_PASSWORD, set: { TransportProtocol: 'WebSocket' }, refused: /config file gives this client TLS, so its Password is never sent over WebSocket/ },
  'config TLS: WebSocketTLS is as strong, accepted': { mqtt: TLS_WITH_PASSWORD, set: { TransportProtocol: 'WebSocketTLS' } },
  'config TLS: TCP/IP without any password is accepted': { mqtt: TLS_WITH_PASSWORD, set: { TransportProtocol: 'TCP/IP', Password: '' } },
  'config TLS (a caFile with mqtt://): TCP/IP keeps being refused a password': {
    mqtt: { ...PLAIN_WITH_PASSWORD, caFile: '/etc/berth/ca.pem' },
    set: { Password: 'new' },
    refused: /config file gives this client TLS, so its Password is never sent over TCP\/IP/,
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`MQTT client password: ${name}`, () => {
    const model = createTestModel(testConfig({ mqtt: c.mqtt }));
    if (c.before) assert.ok(setClient(model, c.before).operSuccess, 'the starting write is accepted');
    const values = Object.fromEntries(Object.keys({ ...c.set, Password: '' }).map((param) => [param, raw(model, param)]));
    const status = setClient(model, c.set);
    if (!c.refused) {
      assert.ok(status.operSuccess, `accepted: ${status.operFailure?.errMsg ?? ''}`);
      for (const [param, value] of Object.entries(c.set)) assert.equal(raw(model, param), value);
      return;
    }
    assert.equal(status.operFailure?.errCode, 7014, status.operFailure?.errMsg ?? 'accepted');
    assert.match(status.operFailure?.errMsg ?? '', c.refused);
    for (const [param, value] of Object.entries(values)) assert.equal(raw(model, param), value, `${param} unchanged`);
  });
}

test('MQTT client password: a Password the Set fails to write does not carry a move (allow_partial, not required)', () => {
  const model = createTestModel(testConfig({ mqtt: PLAIN_WITH_PASSWORD }));
  const status = setClient(model, { BrokerAddress: 'attacker.example', Password: 'x'.repeat(257) }, false);
  assert.equal(status.operFailure?.errCode, 7014);
  assert.equal(raw(model, 'BrokerAddress'), 'broker.example');
  assert.equal(raw(model, 'Password'), 'secret');
});

// The same rule on Device.STOMP.Connection.{i}.: Host and Port say where the password goes, EnableEncryption whether
// it goes under TLS.
const STOMP = 'Device.STOMP.Connection.1.';
const STOMP_PLAIN = { url: 'stomp://broker.example:61613', username: 'gw', password: 'secret' };
const STOMP_TLS = { url: 'stomps://broker.example:61614', username: 'gw', password: 'secret' };

function setStomp(model: TestModel, settings: Record<string, string>) {
  const resp = write(model, (tx) =>
    handleSet(model.ctx(), { allowPartial: true, updateObjs: [{ objPath: STOMP, paramSettings: Object.entries(settings).map(([param, value]) => ({ param, value, required: true })) }] }, tx),
  );
  return resp.updatedObjResults![0]!.operStatus!;
}

const stompCases: Record<string, { stomp: Record<string, unknown>; before?: Record<string, string>; set: Record<string, string>; refused?: RegExp }> = {
  'another Host alone is refused': {
    stomp: STOMP_PLAIN,
    set: { Host: 'attacker.example' },
    refused: /^Device\.STOMP\.Connection\.1\.Host of a connection with a Password can only change together with Password: the password given for broker\.example:61613 is not sent to another broker$/,
  },
  'another Port alone is refused': { stomp: STOMP_PLAIN, set: { Port: '61614' }, refused: /Port of a connection with a Password can only change together with Password/ },
  'another Host with a new Password is accepted': { stomp: STOMP_PLAIN, set: { Host: 'other.example', Password: 'for-other' } },
  'Username and VirtualHost alone are accepted': { stomp: STOMP_PLAIN, set: { Username: 'gw2', VirtualHost: '/gw' } },
  'TLS given up alone is refused': {
    stomp: STOMP_PLAIN,
    before: { EnableEncryption: 'true' },
    set: { EnableEncryption: 'false' },
    refused: /EnableEncryption of a connection with a Password can only go from true to false together with Password/,
  },
  'config TLS: EnableEncryption false is refused even with a new Password': {
    stomp: STOMP_TLS,
    set: { EnableEncryption: 'false', Password: 'new' },
    refused: /^Device\.STOMP\.Connection\.1\.EnableEncryption: the config file gives this connection TLS, so its Password is never sent over a connection without TLS; to use a broker without TLS, set Password to "" as well$/,
  },
  'config TLS: EnableEncryption false without any password is accepted': { stomp: STOMP_TLS, set: { EnableEncryption: 'false', Password: '' } },
};

for (const [name, c] of Object.entries(stompCases)) {
  test(`STOMP connection password: ${name}`, () => {
    const model = createTestModel(testConfig({ stomp: c.stomp }));
    if (c.before) assert.ok(setStomp(model, c.before).operSuccess, 'the starting write is accepted');
    const values = Object.fromEntries(Object.keys({ ...c.set, Password: '' }).map((param) => [param, model.dm.get(STOMP, param)]));
    const status = setStomp(model, c.set);
    if (!c.refused) {
      assert.ok(status.operSuccess, `accepted: ${status.operFailure?.errMsg ?? ''}`);
      for (const [param, value] of Object.entries(c.set)) assert.equal(model.dm.get(STOMP, param), value);
      return;
    }
    assert.equal(status.operFailure?.errCode, 7014, status.operFailure?.errMsg ?? 'accepted');
    assert.match(status.operFailure?.errMsg ?? '', c.refused);
    for (const [param, value] of Object.entries(values)) assert.equal(model.dm.get(STOMP, param), value, `${param} unchanged`);
  });
}
