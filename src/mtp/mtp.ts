// The Message Transfer Protocol port: how the engine receives USP Records and sends them back.
// An MTP knows its wire (topics, properties, reconnects); it never decodes a Record.

/** A Record as it arrived, with where the sender asked for the answer to go (MQTT: Response Topic or `/reply-to=` suffix). */
export interface InboundRecord {
  readonly bytes: Uint8Array;
  /** The sender's reply-to address on this MTP, or undefined when the message carried none. */
  readonly replyTo: string | undefined;
  /** Where it arrived (MQTT: the PUBLISH topic without a `/reply-to=` suffix), for binding senders to their topics. */
  readonly arrivedOn?: string | undefined;
}

/** Emitted after every successful (re)connect and subscribe, so that the agent can send its Connect Records. */
export interface MtpConnectedInfo {
  /** 5 for MQTT 5.0, 4 for MQTT 3.1.1. */
  readonly mqttVersion: 5 | 4;
  /** The topic the agent is subscribed to and wants replies on (CONNACK Response Information, else the configured one). */
  readonly subscribedTopic: string;
}

/** TR-181 `Device.MQTT.Client.{i}.Status` values. */
export type MtpStatus = 'Disabled' | 'Connecting' | 'Connected' | 'Error_Misconfigured' | 'Error_BrokerUnreachable' | 'Error';

export interface MtpEvents {
  onRecord(record: InboundRecord): void;
  onConnected(info: MtpConnectedInfo): void;
  onStatus(status: MtpStatus, detail?: string): void;
}

/** What a sent Record is, which decides MQTT properties (retain flags, and for responses the request's reply-to). */
export type OutboundKind = 'response' | 'notify' | 'connect';

/**
 * A Record this MTP can never deliver (larger than the connection carries). Not worth queueing for a later
 * connection: it would fail the same way, and on MQTT a too-large PUBLISH makes the broker drop the connection.
 */
export class RecordTooLargeError extends Error {
  readonly bytes: number;
  readonly limitBytes: number;
  constructor(bytes: number, limitBytes: number) {
    super(`a Record of ${bytes} bytes is larger than the ${limitBytes} bytes this MTP carries`);
    this.name = 'RecordTooLargeError';
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

export interface Mtp {
  /** Begins connecting in the background (with the binding's randomized back-off); resolves at once. */
  start(): void;
  /**
   * Publishes a Record to `topic`. Rejects if not connected or the publish fails; with RecordTooLargeError,
   * without sending anything, when the Record is larger than `maxRecordBytes`.
   */
  send(topic: string, bytes: Uint8Array, kind: OutboundKind): Promise<void>;
  /** The largest Record `send` can deliver now (the configured limit, lowered to what the peer announced). */
  readonly maxRecordBytes: number;
  /** Disconnects cleanly and stops reconnecting. */
  stop(): Promise<void>;
  readonly status: MtpStatus;
}
