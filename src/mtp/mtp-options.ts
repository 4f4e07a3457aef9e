// What each MTP adapter is started with, read from its rows (pure): the options, and a fingerprint of the settings
// that need a new connection when they change (the MTP manager keeps a running MTP whose fingerprint is unchanged).
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { MqttMtpOptions, RetrySettings } from './mqtt.ts';
import type { Qos, SubscriptionRow } from './mqtt-subscriptions.ts';
import type { StompMtpOptions, TlsFiles, WebSocketClientOptions, WebSocketServerOptions } from './mtp.ts';
import { raw } from './mtp-rows.ts';

/** What the data model does not hold (files, bounds, bind address): from the config file, by row Alias. */
export interface MtpLocalSettings {
  mqtt(clientAlias: string): { readonly tls: TlsFiles; readonly requireTls: boolean; readonly maxRecordBytes: number; readonly webSocketPath: string };
  stomp(connectionAlias: string): { readonly tls: TlsFiles; readonly requireTls: boolean; readonly maxRecordBytes: number };
  webSocketServer(): { readonly bindAddress: string; readonly tls: TlsFiles; readonly requireClientCertificate: boolean; readonly maxSessions: number; readonly maxRecordBytes: number };
  webSocketClient(): { readonly tls: TlsFiles; readonly maxRecordBytes: number };
}

export interface BuiltOptions<O> {
  readonly options: O;
  readonly fingerprint: string;
}

const optional = <K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> => (value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, string>));

/** R-MQTT.10 back-off of an MQTT.Client row. */
export function mqttRetry(dm: DataModel, client: DmObject): RetrySettings {
  return {
    connectRetryTime: Number(dm.read(client, 'ConnectRetryTime')),
    multiplier: Number(dm.read(client, 'ConnectRetryIntervalMultiplier')),
    maxInterval: Number(dm.read(client, 'ConnectRetryMaxInterval')),
  };
}

/** An MQTT.Client row's Subscription table (rows without a Topic left out). */
export function mqttSubscriptionRows(dm: DataModel, client: DmObject): SubscriptionRow[] {
  return [...(client.tables.get('Subscription')?.rows.values() ?? [])]
    .map((row) => ({ topic: dm.read(row, 'Topic'), qos: Number(dm.read(row, 'QoS')) as Qos, enabled: dm.read(row, 'Enable') === 'true' }))
    .filter((row) => row.topic !== '');
}

/** A LocalAgent.MTP row of Protocol MQTT and the MQTT.Client row it references. */
export function mqttMtpOptions(dm: DataModel, row: DmObject, client: DmObject, settings: ReturnType<MtpLocalSettings['mqtt']>, endpointId: string): BuiltOptions<MqttMtpOptions> {
  const mqttObj = row.objects.get('MQTT')!;
  const scheme = { 'TCP/IP': 'mqtt', TLS: 'mqtts', WebSocket: 'ws', WebSocketTLS: 'wss' }[raw(dm, client, 'TransportProtocol')] ?? 'mqtt';
  const address = raw(dm, client, 'BrokerAddress');
  const host = address.includes(':') ? `[${address}]` : address;
  const retry = mqttRetry(dm, client);
  const options: MqttMtpOptions = {
    url: `${scheme}://${host}:${raw(dm, client, 'BrokerPort')}${scheme.startsWith('ws') ? settings.webSocketPath : ''}`,
    version: raw(dm, client, 'ProtocolVersion') === '5.0' ? 5 : 4,
    endpointId,
    agentTopic: raw(dm, mqttObj, 'ResponseTopicConfigured'),
    ...optional('clientId', raw(dm, client, 'ClientID')),
    ...optional('username', raw(dm, client, 'Username')),
    ...optional('password', raw(dm, client, 'Password')),
    ...optional('caFile', settings.tls.caFile),
    ...optional('certFile', settings.tls.certFile),
    ...optional('keyFile', settings.tls.keyFile),
    keepAliveSeconds: Number(raw(dm, client, 'KeepAliveTime')),
    connectRetryTime: retry.connectRetryTime,
    connectRetryIntervalMultiplier: retry.multiplier,
    connectRetryMaxInterval: retry.maxInterval,
    publishQos: Number(raw(dm, mqttObj, 'PublishQoS')) as 0 | 1 | 2,
    subscriptions: mqttSubscriptionRows(dm, client),
    maxPacketBytes: settings.maxRecordBytes,
    requireTls: settings.requireTls,
  };
  // Back-off and subscriptions are applied to the running client (setRetry, setSubscriptions): not in the fingerprint.
  const identity = { ...options, connectRetryTime: 0, connectRetryIntervalMultiplier: 0, connectRetryMaxInterval: 0, subscriptions: [] };
  return { options, fingerprint: JSON.stringify(identity) };
}

/** A LocalAgent.MTP row of Protocol STOMP and the STOMP.Connection row it references. */
export function stompMtpOptions(dm: DataModel, row: DmObject, connection: DmObject, settings: ReturnType<MtpLocalSettings['stomp']>, endpointId: string): BuiltOptions<StompMtpOptions> {
  const heartbeats =
    raw(dm, connection, 'EnableHeartbeats') === 'true' ? { outgoingMs: Number(raw(dm, connection, 'OutgoingHeartbeat')), incomingMs: Number(raw(dm, connection, 'IncomingHeartbeat')) } : undefined;
  const options: StompMtpOptions = {
    host: raw(dm, connection, 'Host'),
    port: Number(raw(dm, connection, 'Port')),
    virtualHost: raw(dm, connection, 'VirtualHost'),
    // Empty means none: no login/passcode header (RabbitMQ then takes its default user).
    ...optional('username', raw(dm, connection, 'Username')),
    ...optional('password', raw(dm, connection, 'Password')),
    tls: raw(dm, connection, 'EnableEncryption') === 'true' ? settings.tls : undefined,
    requireTls: settings.requireTls,
    heartbeats,
    retry: {
      initialSeconds: Number(raw(dm, connection, 'ServerRetryInitialInterval')),
      multiplier: Number(raw(dm, connection, 'ServerRetryIntervalMultiplier')),
      maxSeconds: Number(raw(dm, connection, 'ServerRetryMaxInterval')),
    },
    endpointId,
    destination: raw(dm, row.objects.get('STOMP')!, 'Destination'),
    maxRecordBytes: settings.maxRecordBytes,
  };
  // A new Destination is subscribed on the live connection (R-STOMP.29, setDestination): not in the fingerprint.
  return { options, fingerprint: JSON.stringify({ ...options, destination: '' }) };
}

/** The agent's WebSocket server: a LocalAgent.MTP row of Protocol WebSocket. */
export function webSocketServerOptions(dm: DataModel, row: DmObject, settings: ReturnType<MtpLocalSettings['webSocketServer']>, endpointId: string): BuiltOptions<Omit<WebSocketServerOptions, 'admit'>> {
  const ws = row.objects.get('WebSocket')!;
  const options = {
    bindAddress: settings.bindAddress,
    port: Number(dm.read(ws, 'Port')),
    path: dm.read(ws, 'Path') || '/',
    encryption: dm.read(ws, 'EnableEncryption') === 'true',
    tls: settings.tls,
    requireClientCertificate: settings.requireClientCertificate,
    keepAliveSeconds: Number(dm.read(ws, 'KeepAliveInterval')),
    agentEndpointId: endpointId,
    maxRecordBytes: settings.maxRecordBytes,
    maxSessions: settings.maxSessions,
  };
  return { options, fingerprint: JSON.stringify(options) };
}

/** A session the agent dials: a Controller's MTP row of Protocol WebSocket with a Host. */
export function webSocketClientOptions(dm: DataModel, controller: DmObject, row: DmObject, settings: ReturnType<MtpLocalSettings['webSocketClient']>, endpointId: string): BuiltOptions<WebSocketClientOptions> {
  const ws = row.objects.get('WebSocket')!;
  const encryption = dm.read(ws, 'EnableEncryption') === 'true';
  const options: WebSocketClientOptions = {
    host: dm.read(ws, 'Host'),
    port: Number(dm.read(ws, 'Port')),
    path: dm.read(ws, 'Path'),
    encryption,
    tls: encryption ? settings.tls : undefined,
    keepAliveSeconds: Number(dm.read(ws, 'KeepAliveInterval')),
    retry: { initialSeconds: Number(dm.read(ws, 'SessionRetryMinimumWaitInterval')), multiplier: Number(dm.read(ws, 'SessionRetryIntervalMultiplier')) },
    agentEndpointId: endpointId,
    controllerEndpointId: dm.read(controller, 'EndpointID'),
    maxRecordBytes: settings.maxRecordBytes,
  };
  return { options, fingerprint: JSON.stringify(options) };
}
