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
  // Seeded from the config's mqtt key; Controllers may add more (a second broker), delete them and write every
  // connection parameter (a write reconnects). Kept across restarts.
  'Device.MQTT.Client.{i}.': {
    access: 'readWrite',
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
      // TR-181: applies to MQTT 3.1 only, which berth does not speak; kept and readable, it changes nothing (README).
      MessageRetryTime: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '5' },
      ConnectRetryTime: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '5' },
      ConnectRetryIntervalMultiplier: { type: 'unsignedInt', access: 'readWrite', range: { min: 1000, max: 65535 }, default: '2000' },
      ConnectRetryMaxInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '30720' },
      ResponseInformation: { type: 'string', maxLength: 65535 },
      SubscriptionNumberOfEntries: { type: 'unsignedInt' },
    },
    commands: { 'ForceReconnect()': { async: false } },
  },
  // Topics the client subscribes to besides its own reply-to topic (R-MQTT.15): Controllers add, change and
  // delete rows; the broker is told at once. Rows are kept across restarts.
  'Device.MQTT.Client.{i}.Subscription.{i}.': {
    access: 'readWrite',
    maxRows: MAX_SUBSCRIPTIONS_PER_CLIENT,
    uniqueKeys: [['Alias'], ['Topic']],
    enableParameter: 'Enable',
    params: {
      Alias: { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 },
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Status: { type: 'string', enum: ['Unsubscribed', 'Subscribed', 'Subscribing', 'Unsubscribing', 'Error'] },
      Topic: { type: 'string', access: 'readWrite', maxLength: 65535 },
      // TR-181 gives no default; 1 is what berth uses for its own topic (R-MQTT.20: QoS 1 works everywhere).
      QoS: { type: 'unsignedInt', access: 'readWrite', range: { min: 0, max: 2 }, default: '1' },
    },
  },
  'Device.MQTT.Client.{i}.Stats.': {
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
