// The agent's MQTT MTP (TR-369 MQTT binding, reference §4.3) over mqtt.js: MQTT 5 and 3.1.1, the
// `usp-endpoint-id` CONNECT property, Content Type `usp.msg`, Response Topic / `/reply-to=` suffixes,
// Response Information and `subscribe-topic` from CONNACK, the Subscription table's topics (subscribed and
// unsubscribed live), TLS and credentials, and the binding's randomized reconnect back-off (mqtt.js's
// fixed-period reconnect is disabled).
import { openMqttClient } from './mqtt-connect.ts';
import { createSubscriptionSet } from './mqtt-subscriptions.ts';
import type { SubscribePort, SubscriptionRow, SubscriptionStatus, TopicSubscription } from './mqtt-subscriptions.ts';
import type { IClientOptions, MqttClient, IConnackPacket, IPublishPacket } from 'mqtt';
import { readFile } from 'node:fs/promises';
import { RecordTooLargeError } from './mtp.ts';
import { backoffWindow } from './backoff.ts';
import { isTlsUrl } from '../datamodel/transport-security.ts';
import { isTlsFailure } from './tls-failure.ts';
import type { Mtp, MtpEvents, MtpStatus, OutboundKind } from './mtp.ts';
import type { Logger } from '../log.ts';

export interface MqttMtpOptions {
  readonly url: string;
  readonly version: 5 | 4;
  readonly endpointId: string;
  /** ResponseTopicConfigured: subscribed (3.1.1: with `/#` for reply-to suffixes) and used as the reply-to. */
  readonly agentTopic: string;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly keepAliveSeconds?: number;
  /** Seconds (fractions allowed, for tests). */
  readonly connectRetryTime?: number;
  readonly connectRetryIntervalMultiplier?: number;
  readonly connectRetryMaxInterval?: number;
  readonly publishQos?: 0 | 1 | 2;
  /** Rows of Device.MQTT.Client.{i}.Subscription.: enabled ones are subscribed at every connect. */
  readonly subscriptions?: readonly SubscriptionRow[];
  readonly random?: () => number;
  /** Largest Record accepted or sent; larger inbound ones are dropped and logged. Default 5 MiB (as obuspa). */
  readonly maxPacketBytes?: number;
  /** The config file gave TLS: the password is never sent over a connection without it, whatever `url` says. */
  readonly requireTls?: boolean;
}

/** R-MQTT.10 back-off parameters (ConnectRetryTime in seconds, fractions allowed for tests). */
export interface RetrySettings {
  readonly connectRetryTime: number;
  readonly multiplier: number;
  readonly maxInterval: number;
}

export interface MqttMtpEvents extends MtpEvents {
  /** Every MQTT control packet written or read (`cmd` as mqtt-packet names it), for Device.MQTT.Client.{i}.Stats. */
  onPacket?(direction: 'sent' | 'received', cmd: string): void;
  onSubscriptionStatus?(topic: string, status: SubscriptionStatus): void;
}

export interface MqttMtp extends Mtp {
  /** The Subscription table changed: subscribed or unsubscribed at once when connected. */
  setSubscriptions(rows: readonly SubscriptionRow[]): void;
  subscriptionStatus(topic: string): SubscriptionStatus;
  /** New back-off parameters: they govern the next retry; the connection is left alone. */
  setRetry(retry: RetrySettings): void;
}

export const USP_CONTENT_TYPE = 'usp.msg';
/** MQTT's own ceiling on a packet (variable byte integer of 4 bytes). */
const MQTT_MAX_PACKET_BYTES = 268_435_455;
/** A PUBLISH around the Record, besides its topics: fixed header, lengths, packet id, content type property. */
const PUBLISH_FRAMING_BYTES = 32;
const ACCEPTED_CONTENT_TYPES = new Set([USP_CONTENT_TYPE, 'application/vnd.bbf.usp.msg']);

/** Reconnect wait window for retry n (R-MQTT.10), ConnectRetryMaxInterval capping it. */
export function retryWindow(n: number, options: RetrySettings): { min: number; max: number } {
  return backoffWindow(n, { initialSeconds: options.connectRetryTime, multiplier: options.multiplier, maxSeconds: options.maxInterval });
}

/** 3.1.1 carries the reply-to in the topic: `<topic>/reply-to=<reply topic with / as %2F>` (R-MQTT.24/25). */
export function replyToFromTopic(topic: string): string | undefined {
  const at = topic.lastIndexOf('/reply-to=');
  if (at < 0) return undefined;
  const encoded = topic.slice(at + '/reply-to='.length);
  return encoded === '' ? undefined : encoded.replaceAll('%2F', '/').replaceAll('%2f', '/');
}

/** The topic a PUBLISH was sent to, without a 3.1.1 `/reply-to=` suffix. */
export function topicWithoutReplyTo(topic: string): string {
  const at = topic.lastIndexOf('/reply-to=');
  return at < 0 ? topic : topic.slice(0, at);
}

export function topicWithReplyTo(topic: string, replyTo: string): string {
  return `${topic}/reply-to=${replyTo.replaceAll('/', '%2F')}`;
}

function classify(error: Error & { code?: string | number }): MtpStatus {
  const code = error.code;
  // CONNACK refusals: 3.1.1 return codes 4/5, MQTT 5 reason codes 0x86/0x87/0x8C (bad credentials, not authorized, bad auth method).
  if (code === 4 || code === 5 || code === 134 || code === 135 || code === 140) return 'Error_Misconfigured';
  if (typeof code === 'string' && isTlsFailure(code)) return 'Error_Misconfigured';
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return 'Error_BrokerUnreachable';
  return 'Error';
}

/** SUBSCRIBE and UNSUBSCRIBE on one connection, reason codes per topic (MQTT 5: with the `usp-endpoint-id` user property, as obuspa). */
function subscribePort(connection: MqttClient, version: 5 | 4, endpointId: string): SubscribePort {
  const properties = version === 5 ? { properties: { userProperties: { 'usp-endpoint-id': endpointId } } } : {};
  return {
    subscribe: (entries: readonly TopicSubscription[]) =>
      new Promise((resolve, reject) => {
        connection.subscribe(Object.fromEntries(entries.map((entry) => [entry.topic, { qos: entry.qos }])), properties, (error, subs, suback) => {
          // mqtt.js fails the whole call when any topic is refused; the SUBACK still says which, in the order of `subs`.
          // (A topic named "resubscribe" is taken by mqtt.js as an option and never sent: it has no code, so it counts as refused.)
          if (!suback || !subs) {
            reject(error ?? new Error('no SUBACK'));
            return;
          }
          resolve(new Map(subs.map((sub, i) => [sub.topic, Number(suback.granted[i] ?? 0x80)])));
        });
      }),
    unsubscribe: async (topics: readonly string[]) => {
      const unsuback = await connection.unsubscribeAsync([...topics], properties);
      return new Map((unsuback?.cmd === 'unsuback' ? unsuback.granted : []).map((code, i) => [topics[i]!, code]));
    },
  };
}

export function createMqttMtp(options: MqttMtpOptions, events: MqttMtpEvents, logger: Logger): MqttMtp {
  const random = options.random ?? Math.random;
  const configuredQos = options.publishQos ?? 0;
  // TR-181 PublishQoS: lowered to the CONNACK Maximum QoS when the broker supports less.
  let qos = configuredQos;
  const maxBytes = options.maxPacketBytes ?? 5 * 1024 * 1024;
  let client: MqttClient | undefined;
  let status: MtpStatus = 'Disabled';
  let stopped = true;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let assignedClientId: string | undefined;
  let replyTopic = options.agentTopic;
  // CONNACK Maximum Packet Size (MQTT 5): the broker drops a client that sends a larger packet.
  let brokerMaxPacket = MQTT_MAX_PACKET_BYTES;
  let subscribed = false;
  let tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  let retry: RetrySettings = {
    connectRetryTime: options.connectRetryTime ?? 5,
    multiplier: options.connectRetryIntervalMultiplier ?? 2000,
    maxInterval: options.connectRetryMaxInterval ?? 30720,
  };
  const subscriptions = createSubscriptionSet((topic, subscriptionStatus) => events.onSubscriptionStatus?.(topic, subscriptionStatus), logger);
  subscriptions.configure(options.subscriptions ?? []);

  const setStatus = (next: MtpStatus, detail?: string): void => {
    if (next === status) return;
    status = next;
    try {
      events.onStatus(next, detail);
    } catch (error) {
      logger.error({ err: error }, 'onStatus handler failed');
    }
  };

  const scheduleRetry = (): void => {
    if (stopped || retryTimer) return;
    attempt += 1;
    const window = retryWindow(attempt, retry);
    const seconds = window.min + random() * (window.max - window.min);
    logger.info({ attempt, seconds: Number(seconds.toFixed(2)) }, 'reconnecting to the MQTT broker');
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void open();
    }, seconds * 1000);
    retryTimer.unref();
  };

  const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket): void => {
    if (payload.length > maxBytes) {
      logger.warn({ bytes: payload.length, limit: maxBytes }, 'dropped an oversized MQTT message');
      return;
    }
    let replyTo: string | undefined;
    if (options.version === 5) {
      const contentType = packet.properties?.contentType;
      if (contentType !== undefined && !ACCEPTED_CONTENT_TYPES.has(contentType)) {
        logger.warn({ topic, contentType }, 'dropped a message with a content type other than usp.msg');
        return;
      }
      replyTo = packet.properties?.responseTopic;
      // A 3.1.1-style suffix on an MQTT 5 publish still tells where to answer.
      replyTo ??= replyToFromTopic(topic);
    } else {
      replyTo = replyToFromTopic(topic);
    }
    try {
      events.onRecord({ bytes: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), replyTo, arrivedOn: topicWithoutReplyTo(topic) });
    } catch (error) {
      logger.error({ err: error }, 'onRecord handler failed');
    }
  };

  const onConnack = async (connection: MqttClient, connack: IConnackPacket): Promise<void> => {
    const properties = connack.properties;
    if (properties?.assignedClientIdentifier) assignedClientId = properties.assignedClientIdentifier;
    brokerMaxPacket = properties?.maximumPacketSize ?? MQTT_MAX_PACKET_BYTES;
    qos = Math.min(configuredQos, properties?.maximumQoS ?? 2) as 0 | 1 | 2;
    // The agent's own topics; the Subscription table's enabled rows go in the same SUBSCRIBE (R-MQTT.15).
    const topics = new Set<string>([options.agentTopic]);
    if (options.version === 4) topics.add(`${options.agentTopic}/#`);
    const subscribeTopic = properties?.userProperties?.['subscribe-topic'];
    for (const topic of Array.isArray(subscribeTopic) ? subscribeTopic : subscribeTopic ? [subscribeTopic] : []) topics.add(topic);
    replyTopic = properties?.responseInformation ?? options.agentTopic;
    topics.add(replyTopic);
    try {
      const granted = await subscriptions.connect(subscribePort(connection, options.version, options.endpointId), [...topics].map((topic) => ({ topic, qos: 1 as const })));
      if (granted === 0) throw new Error('the broker refused every subscription');
    } catch (error) {
      // Lost while subscribing: the 'close' handler has already set the status and scheduled the retry.
      if (connection !== client) return;
      // R-MQTT.17: without a subscription there is nobody to answer; disconnect and retry later.
      logger.error({ err: error }, 'MQTT subscribe failed');
      setStatus('Error', (error as Error).message);
      connection.end(true);
      return;
    }
    if (connection !== client) return;
    subscribed = true;
    attempt = 0;
    setStatus('Connected');
    try {
      events.onConnected({ mqttVersion: options.version, subscribedTopic: replyTopic });
    } catch (error) {
      logger.error({ err: error }, 'onConnected handler failed');
    }
  };

  const open = async (): Promise<void> => {
    if (stopped) return;
    if (options.requireTls && options.password !== undefined && !isTlsUrl(options.url)) {
      // The last check before a CONNECT: the data model refuses such settings, this holds whatever led here. No
      // retry: only new settings (a new MTP) can change the answer.
      const reason = `the config file gives the broker connection TLS: the password is not sent over ${new URL(options.url).protocol}// without it`;
      logger.error({ url: options.url }, `not connecting: ${reason}`);
      setStatus('Error_Misconfigured', reason);
      return;
    }
    setStatus('Connecting');
    try {
      if (!tls && (options.caFile || options.certFile || options.keyFile)) {
        tls = {
          ...(options.caFile && { ca: await readFile(options.caFile) }),
          ...(options.certFile && { cert: await readFile(options.certFile) }),
          ...(options.keyFile && { key: await readFile(options.keyFile) }),
        };
      }
    } catch (error) {
      setStatus('Error_Misconfigured', `cannot read a TLS file: ${(error as Error).message}`);
      scheduleRetry();
      return;
    }
    const clientId = options.clientId ?? (options.version === 5 ? (assignedClientId ?? '') : options.endpointId);
    const mqttOptions: IClientOptions = {
      protocolVersion: options.version,
      clientId,
      clean: true,
      keepalive: options.keepAliveSeconds ?? 60,
      reconnectPeriod: 0,
      // Connected below, once the packet counters listen: CONNECT is an MQTT message sent too.
      manualConnect: true,
      connectTimeout: 10_000,
      resubscribe: false,
      // mqtt-packet's default pre-builds 65,536 two-byte Buffers for message ids: 6.5 MiB of heap for nothing.
      writeCache: false,
      ...(options.username !== undefined && { username: options.username }),
      ...(options.password !== undefined && { password: options.password }),
      ...(tls?.ca && { ca: tls.ca }),
      ...(tls?.cert && { cert: tls.cert }),
      ...(tls?.key && { key: tls.key }),
      ...(options.version === 5 && {
        properties: { requestResponseInformation: true, maximumPacketSize: Math.min(maxBytes + 1024, 268435455), userProperties: { 'usp-endpoint-id': options.endpointId } },
      }),
    };
    let connection: MqttClient;
    try {
      connection = await openMqttClient(options.url, mqttOptions);
    } catch (error) {
      setStatus('Error_Misconfigured', (error as Error).message);
      scheduleRetry();
      return;
    }
    if (stopped) {
      connection.end(true);
      return;
    }
    client = connection;
    subscribed = false;
    connection.on('packetsend', (packet) => events.onPacket?.('sent', packet.cmd));
    connection.on('packetreceive', (packet) => events.onPacket?.('received', packet.cmd));
    connection.on('connect', (connack) => {
      // USP is request/response: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to every round trip.
      (connection.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
      void onConnack(connection, connack);
    });
    connection.on('message', onMessage);
    connection.on('error', (error: Error & { code?: string | number }) => {
      if (connection !== client) return;
      logger.warn({ err: error.message, code: error.code }, 'MQTT connection error');
      setStatus(classify(error), error.message);
    });
    connection.on('close', () => {
      if (connection !== client) return;
      subscribed = false;
      subscriptions.disconnect();
      connection.removeAllListeners('message');
      connection.end(true);
      client = undefined;
      if (stopped) return;
      if (status === 'Connected' || status === 'Connecting') setStatus('Error_BrokerUnreachable', 'connection closed');
      scheduleRetry();
    });
    connection.connect();
  };

  return {
    get status() {
      return status;
    },
    start() {
      if (!stopped) return;
      stopped = false;
      attempt = 0;
      void open();
    },
    get maxRecordBytes() {
      return Math.min(maxBytes, brokerMaxPacket - PUBLISH_FRAMING_BYTES - 2 * Buffer.byteLength(replyTopic));
    },
    async send(topic: string, bytes: Uint8Array, kind: OutboundKind) {
      const packetBytes = bytes.length + PUBLISH_FRAMING_BYTES + Buffer.byteLength(topic) + 2 * Buffer.byteLength(replyTopic);
      if (bytes.length > maxBytes || packetBytes > brokerMaxPacket) throw new RecordTooLargeError(bytes.length, Math.min(maxBytes, brokerMaxPacket - (packetBytes - bytes.length)));
      const connection = client;
      if (!connection || !subscribed) throw new Error('MQTT is not connected');
      const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      logger.trace({ topic, kind, bytes: bytes.length }, 'publish');
      if (options.version === 5) {
        await connection.publishAsync(topic, payload, { qos, properties: { contentType: USP_CONTENT_TYPE, responseTopic: replyTopic } });
      } else {
        await connection.publishAsync(topicWithReplyTo(topic, replyTopic), payload, { qos });
      }
    },
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      const connection = client;
      client = undefined;
      subscribed = false;
      subscriptions.disconnect();
      if (connection) {
        // Give in-flight publishes a moment, then close whatever is left.
        await Promise.race([connection.endAsync(false), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
        connection.end(true);
      }
      setStatus('Disabled');
    },
    setSubscriptions(rows) {
      subscriptions.configure(rows);
    },
    subscriptionStatus: (topic) => subscriptions.status(topic),
    setRetry(next) {
      retry = next;
    },
  };
}
