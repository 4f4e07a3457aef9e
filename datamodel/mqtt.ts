// Device.MQTT.Client.{i}. — the MQTT connection(s) the agent's MQTT MTP uses (TR-181 2.19.1).
import { defineModel } from '../src/datamodel/schema.ts';

/** Rows of one client's Subscription table (reported as Device.MQTT.Capabilities.MaxNumberOfClientSubscriptions). */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 32;
/** Rows of Device.MQTT.Client.: each is one connection to a broker. */
export const MAX_MQTT_CLIENTS = 4;

export const mqttModel = defineModel({
  'Device.MQTT.': {
    params: { ClientNumberOfEntries: { type: 'unsignedInt' } },
  },
  'Device.MQTT.Capabilities.': {
    params: {
      ProtocolVersionsSupported: { type: 'string', list: true },
      TransportProtocolSupported: { type: 'string', list: true },
      MaxNumberOfClientSubscriptions: { type: 'unsignedInt' },
    },
  },
  'Device.MQTT.Client.{i}.': {
    access: 'readWrite',
    note: "Seeded from the config's mqtt key; Controllers may add more (a second broker), delete them and write every connection parameter: a write reconnects, after the response. A Set that moves a client with a Password to another broker, or takes TLS away, fails with 7014 unless it writes Password too (README: The MQTT client).",
    persistent: true,
    maxRows: MAX_MQTT_CLIENTS,
    uniqueKeys: [['Alias'], ['Name']],
    immutableKeys: ['Name'],
    enableParameter: 'Enable',
    params: {
      Alias: { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 },
      Name: { type: 'string', access: 'readWrite', maxLength: 64 },
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Status: { type: 'string', enum: ['Disabled', 'Connecting', 'Connected', 'Error_Misconfigured', 'Error_BrokerUnreachable', 'Error'] },
      ProtocolVersion: { type: 'string', access: 'readWrite', enum: ['3.1', '3.1.1', '5.0'], default: '5.0' },
      BrokerAddress: { type: 'string', access: 'readWrite', maxLength: 256 },
      BrokerPort: { type: 'unsignedInt', access: 'readWrite', range: { min: 1, max: 65535 }, default: '1883' },
      TransportProtocol: { type: 'string', access: 'readWrite', enum: ['TCP/IP', 'TLS', 'WebSocket', 'WebSocketTLS'], default: 'TCP/IP' },
      CleanSession: { type: 'boolean', access: 'readWrite', default: 'true' },
      CleanStart: { type: 'boolean', access: 'readWrite', default: 'true' },
      KeepAliveTime: { type: 'unsignedInt', access: 'readWrite', range: { max: 65535 }, default: '60' },
      RequestResponseInfo: { type: 'boolean', access: 'readWrite', default: 'true' },
      ClientID: { type: 'string', access: 'readWrite', maxLength: 65535 },
      Username: { type: 'string', access: 'readWrite', maxLength: 256 },
      Password: { type: 'string', access: 'readWrite', maxLength: 256, secured: true },
      MessageRetryTime: {
        type: 'unsignedInt',
        access: 'readWrite',
        range: { min: 1 },
        default: '5',
        note: 'Stored, no effect: TR-181 applies it to MQTT 3.1 only, which berth does not speak.',
      },
      ConnectRetryTime: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '5', note: 'Writing it and the next two does not reconnect: the new values govern the next retry.' },
      ConnectRetryIntervalMultiplier: { type: 'unsignedInt', access: 'readWrite', range: { min: 1000, max: 65535 }, default: '2000' },
      ConnectRetryMaxInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '30720' },
      ResponseInformation: { type: 'string', maxLength: 65535 },
      SubscriptionNumberOfEntries: { type: 'unsignedInt' },
    },
    commands: { 'ForceReconnect()': { async: false } },
  },
  'Device.MQTT.Client.{i}.Subscription.{i}.': {
    access: 'readWrite',
    note: "Topics the client subscribes to besides its own reply-to topic (R-MQTT.15): the broker is told at once. Records arriving on them are handled as on the agent's own topic.",
    maxRows: MAX_SUBSCRIPTIONS_PER_CLIENT,
    uniqueKeys: [['Alias'], ['Topic']],
    enableParameter: 'Enable',
    params: {
      Alias: { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 },
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Status: { type: 'string', enum: ['Unsubscribed', 'Subscribed', 'Subscribing', 'Unsubscribing', 'Error'] },
      Topic: { type: 'string', access: 'readWrite', maxLength: 65535, note: 'An MQTT topic filter (wildcards allowed); one that is not (a/#/b, a+) is refused with 7012, as is an enabled row without one.' },
      // TR-181 gives no default; 1 is what berth uses for its own topic (R-MQTT.20: QoS 1 works everywhere).
      QoS: { type: 'unsignedInt', access: 'readWrite', range: { min: 0, max: 2 }, default: '1' },
    },
  },
  'Device.MQTT.Client.{i}.Stats.': {
    note: 'Counted as TR-181 says; from zero again when the client is re-enabled or moved to another broker, and not kept across restarts.',
    params: {
      BrokerConnectionEstablished: { type: 'dateTime' },
      LastPublishMessageSent: { type: 'dateTime', volatile: true },
      LastPublishMessageReceived: { type: 'dateTime', volatile: true },
      PublishSent: { type: 'unsignedLong', volatile: true },
      PublishReceived: { type: 'unsignedLong', volatile: true },
      SubscribeSent: { type: 'unsignedLong', volatile: true },
      UnSubscribeSent: { type: 'unsignedLong', volatile: true },
      MQTTMessagesSent: { type: 'unsignedLong', volatile: true },
      MQTTMessagesReceived: { type: 'unsignedLong', volatile: true },
      ConnectionErrors: { type: 'unsignedInt', volatile: true },
      PublishErrors: { type: 'unsignedInt', volatile: true },
    },
  },
});
