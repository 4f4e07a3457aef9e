// A small USP Controller over MQTT (mqtt.js used directly): the MQTT wire of controller-session.ts.
import { openMqttClient } from '../mtp/mqtt-connect.ts';
import type { IClientOptions, MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createControllerSession } from './controller-session.ts';
import type { ControllerClient } from './controller-session.ts';

export { UspRequestError } from './controller-session.ts';
export type { ControllerClient } from './controller-session.ts';

export interface ControllerOptions {
  readonly brokerUrl: string;
  readonly endpointId: string;
  readonly agentEndpointId: string;
  /** Where the agent listens (its ResponseTopicConfigured). */
  readonly agentTopic: string;
  /** Where this Controller listens; default `usp/controller/<endpointId>/<random>`. */
  readonly replyTopic?: string;
  readonly mqttVersion?: 5 | 4;
  readonly username?: string;
  readonly password?: string;
  readonly caFile?: string;
  /** Client certificate and its key, for a broker that asks for one. */
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly connectTimeoutMs?: number;
  /** QoS of this Controller's publishes (default 1; usp-js publishes with mqtt.js's default, 0). */
  readonly publishQos?: 0 | 1;
}

export async function connectController(options: ControllerOptions): Promise<ControllerClient> {
  const version = options.mqttVersion ?? 5;
  const publishQos = options.publishQos ?? 1;
  const replyTopic = options.replyTopic ?? `usp/controller/${options.endpointId}/${randomUUID().slice(0, 8)}`;
  const mqttOptions: IClientOptions = {
    protocolVersion: version,
    clientId: `${options.endpointId}-${randomUUID().slice(0, 8)}`,
    reconnectPeriod: 0,
    writeCache: false,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    ...(options.username !== undefined && { username: options.username }),
    ...(options.password !== undefined && { password: options.password }),
    ...(options.caFile !== undefined && { ca: readFileSync(options.caFile) }),
    ...(options.certFile !== undefined && { cert: readFileSync(options.certFile) }),
    ...(options.keyFile !== undefined && { key: readFileSync(options.keyFile) }),
    ...(version === 5 && { properties: { userProperties: { 'usp-endpoint-id': options.endpointId } } }),
  };
  const opened = await openMqttClient(options.brokerUrl, mqttOptions);
  const client: MqttClient = await new Promise((resolve, reject) => {
    const c = opened;
    c.once('connect', () => {
      (c.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
      resolve(c);
    });
    c.once('error', (error) => {
      c.end(true);
      reject(new Error(`cannot connect to the MQTT broker at ${options.brokerUrl}: ${error.message}`));
    });
    c.once('close', () => { reject(new Error(`cannot connect to the MQTT broker at ${options.brokerUrl}: connection closed`)); });
  });
  await client.subscribeAsync(version === 5 ? replyTopic : [replyTopic, `${replyTopic}/#`], { qos: 1 });

  const wire = {
    description: `MQTT topic ${options.agentTopic}`,
    replyAddress: replyTopic,
    async send(bytes: Uint8Array) {
      if (version === 5) {
        await client.publishAsync(options.agentTopic, Buffer.from(bytes), { qos: publishQos, properties: { responseTopic: replyTopic, contentType: 'usp.msg' } });
      } else {
        await client.publishAsync(`${options.agentTopic}/reply-to=${replyTopic.replaceAll('/', '%2F')}`, Buffer.from(bytes), { qos: publishQos });
      }
    },
    onBytes(listener: (bytes: Uint8Array) => void) {
      client.on('message', (_topic, payload) => { listener(payload); });
    },
    close: () => client.endAsync(),
  };
  return createControllerSession(wire, { endpointId: options.endpointId, agentEndpointId: options.agentEndpointId });
}
