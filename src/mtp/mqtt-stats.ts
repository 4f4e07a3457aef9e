// Device.MQTT.Client.{i}.Stats. (TR-181 2.19): what each counter counts is what TR-181 says it counts.
//  - MQTTMessagesSent/Received: every MQTT control packet (CONNECT, PUBLISH, PUBACK, SUBSCRIBE, PINGREQ, ...).
//  - PublishSent/Received, SubscribeSent, UnSubscribeSent: PUBLISH, SUBSCRIBE and UNSUBSCRIBE packets, including
//    PUBLISHes berth then drops (oversized, not usp.msg): they were received.
//  - LastPublishMessageSent/Received: when the last PUBLISH went out or came in.
//  - ConnectionErrors: every time the connection failed or was lost; PublishErrors: every Record that could not be
//    published (not connected, refused by the broker, connection lost before the PUBACK).
// Times are kept as numbers and formatted only when read: the receive path is hot.

export interface MqttStatsValues {
  /** Milliseconds since the epoch; 0 = never. */
  readonly brokerConnectionEstablished: number;
  readonly lastPublishMessageSent: number;
  readonly lastPublishMessageReceived: number;
  readonly publishSent: number;
  readonly publishReceived: number;
  readonly subscribeSent: number;
  readonly unSubscribeSent: number;
  readonly mqttMessagesSent: number;
  readonly mqttMessagesReceived: number;
  readonly connectionErrors: number;
  readonly publishErrors: number;
}

export interface MqttStats {
  /** An MQTT control packet was written to the broker (`cmd` as mqtt-packet names it: 'publish', 'pingreq', ...). */
  packetSent(cmd: string): void;
  packetReceived(cmd: string): void;
  connected(): void;
  connectionFailed(): void;
  publishFailed(): void;
  /** TR-181: the counters restart when the client is (re-)enabled or connects to another broker. */
  reset(): void;
  values(): MqttStatsValues;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function createMqttStats(now: () => number = Date.now): MqttStats {
  let counters = zero();
  return {
    packetSent(cmd) {
      counters.mqttMessagesSent += 1;
      if (cmd === 'publish') {
        counters.publishSent += 1;
        counters.lastPublishMessageSent = now();
      } else if (cmd === 'subscribe') counters.subscribeSent += 1;
      else if (cmd === 'unsubscribe') counters.unSubscribeSent += 1;
    },
    packetReceived(cmd) {
      counters.mqttMessagesReceived += 1;
      if (cmd === 'publish') {
        counters.publishReceived += 1;
        counters.lastPublishMessageReceived = now();
      }
    },
    connected() {
      counters.brokerConnectionEstablished = now();
    },
    // StatsCounter32 wraps at 2^32.
    connectionFailed() {
      counters.connectionErrors = (counters.connectionErrors + 1) % 2 ** 32;
    },
    publishFailed() {
      counters.publishErrors = (counters.publishErrors + 1) % 2 ** 32;
    },
    reset() {
      counters = zero();
    },
    values: () => ({ ...counters }),
  };
}

function zero(): Mutable<MqttStatsValues> {
  return { brokerConnectionEstablished: 0, lastPublishMessageSent: 0, lastPublishMessageReceived: 0, publishSent: 0, publishReceived: 0, subscribeSent: 0, unSubscribeSent: 0, mqttMessagesSent: 0, mqttMessagesReceived: 0, connectionErrors: 0, publishErrors: 0 };
}
