// The fuzzer's MQTT side, on the real broker: an MQTT 5 and an MQTT 3.1.1 connection of the fuzz Controller that
// publish the inputs (QoS 1, each channel's properties), a sync request after inputs (a Get the agent answers
// only once it has handled everything before it: the serial lane), and an observer subscribed to `#` that
// reads every Record the agent publishes: rows it reported created (AddResp, OperateResp), Internal errors
// (7003), Records that do not decode, and how many messages go by (an idle agent publishes nothing).
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { openMqttClient } from '../../src/mtp/mqtt-connect.ts';
import { usp } from '../../src/usp/generated/usp.js';
import { decodeRecord, encodeMsg, encodeRecord, buildNoSessionRecord } from '../../src/usp/codec.ts';
import { topicWithReplyTo } from '../../src/mtp/mqtt.ts';
import type { Channel, FuzzPublish } from './fuzz-input.ts';
import type { FuzzTarget } from './usp-messages.ts';

/** Set on every MQTT 5 publish of the fuzzer, so the observer can tell the agent's own Records from inputs. */
const FUZZ_PROPERTY = 'berth-fuzz';
const SYNC_PREFIX = 'fuzz-sync-';

export interface LinkSettings {
  readonly brokerUrl: string;
  readonly target: FuzzTarget;
  /** Where the fuzz Controller listens: its configured topic (answers without reply-to) and its Response Topic. */
  readonly controllerTopic: string;
  readonly replyTopic: string;
}

export interface AgentOutputSummary {
  /** Instantiated paths the agent reported created (AddResp successes, OperateResp request rows). */
  readonly createdRows: ReadonlySet<string>;
  /** Internal errors (7003) the agent answered with, each with its msg_id. */
  readonly internalErrors: readonly string[];
  /** Messages on topics the agent publishes to that were not USP Records. */
  readonly undecodable: number;
  /** Records the agent published to its own topic addressed to itself: it receives and answers them, and so on. */
  readonly selfAddressed: number;
}

export interface FuzzLink {
  publish(publish: FuzzPublish): Promise<void>;
  /** Sends a Get of Device.LocalAgent.EndpointID and resolves with how long the answer took; rejects after `timeoutMs`. */
  sync(timeoutMs: number): Promise<number>;
  /** Messages seen on the broker (any topic) so far. */
  messagesSeen(): number;
  agentOutputs(): AgentOutputSummary;
  /** How often the broker closed a fuzz connection (e.g. for a property an input broke). */
  reconnects(): number;
  close(): Promise<void>;
}

async function connectClient(url: string, version: 5 | 4, clientId: string): Promise<MqttClient> {
  const client = await openMqttClient(url, { protocolVersion: version, clientId, reconnectPeriod: 0, writeCache: false, connectTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => {
      (client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
      resolve();
    });
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
  });
  return client;
}

/** An error code of 7003 anywhere in a decoded Msg. */
function hasInternalError(value: unknown, depth = 0): boolean {
  if (depth > 12 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  for (const [key, inner] of Object.entries(value)) {
    if ((key === 'errCode' || key === 'reasonCode') && inner === 7003) return true;
    if (hasInternalError(inner, depth + 1)) return true;
  }
  return false;
}

export async function openFuzzLink(settings: LinkSettings): Promise<FuzzLink> {
  const { target } = settings;
  const created = new Set<string>();
  const internalErrors: string[] = [];
  let undecodable = 0;
  let selfAddressed = 0;
  let seen = 0;
  let reconnects = 0;
  let syncCounter = 0;
  const syncWaiters = new Map<string, () => void>();

  const onReply = (payload: Buffer): void => {
    try {
      const record = decodeRecord(payload);
      const msg = usp.Msg.decode(record.noSessionContext?.payload ?? new Uint8Array(0));
      const id = msg.header?.msgId ?? '';
      if (id.startsWith(SYNC_PREFIX)) syncWaiters.get(id)?.();
    } catch {
      // The observer judges what the agent publishes; here only sync answers matter.
    }
  };

  const openController = async (version: 5 | 4): Promise<MqttClient> => {
    const client = await connectClient(settings.brokerUrl, version, `fuzz-${version}-${Date.now().toString(36)}`);
    await client.subscribeAsync(version === 5 ? [settings.controllerTopic, settings.replyTopic] : [settings.controllerTopic, `${settings.controllerTopic}/#`, settings.replyTopic, `${settings.replyTopic}/#`], { qos: 1 });
    client.on('message', (_topic, payload) => {
      onReply(payload);
    });
    return client;
  };
  const clients: Partial<Record<5 | 4, MqttClient>> = {};
  const controller = async (version: 5 | 4): Promise<MqttClient> => {
    const current = clients[version];
    if (current?.connected) return current;
    if (current) {
      reconnects += 1;
      current.end(true);
    }
    const fresh = await openController(version);
    clients[version] = fresh;
    return fresh;
  };

  const observer = await connectClient(settings.brokerUrl, 5, `fuzz-observer-${Date.now().toString(36)}`);
  await observer.subscribeAsync('#', { qos: 0 });
  observer.on('message', (topic, payload, packet) => {
    seen += 1;
    const properties = packet.properties;
    const fromFuzzer = properties?.userProperties?.[FUZZ_PROPERTY] !== undefined;
    const toAgent = topic === target.agentTopic || topic.startsWith(`${target.agentTopic}/`);
    if (fromFuzzer || (toAgent && properties?.contentType !== 'usp.msg')) return;
    let record;
    try {
      record = decodeRecord(payload);
    } catch {
      if (!toAgent) undecodable += 1;
      return;
    }
    // The probe Controller and the fuzz Controller's sync requests also arrive on the agent's topic.
    if (record.fromId !== target.agentId) return;
    // Published where the agent listens and addressed to it: the agent will receive its own Record and answer it.
    if (toAgent && record.toId === target.agentId) selfAddressed += 1;
    if (record.recordType !== 'noSessionContext') return;
    let msg: usp.Msg;
    try {
      msg = usp.Msg.decode(record.noSessionContext!.payload!);
    } catch {
      undecodable += 1;
      return;
    }
    if (hasInternalError(msg.body)) internalErrors.push(`msg_id ${JSON.stringify((msg.header?.msgId ?? '').slice(0, 80))}: ${JSON.stringify(msg.body).slice(0, 600)}`);
    const response = msg.body?.response;
    for (const result of response?.addResp?.createdObjResults ?? []) {
      const path = result.operStatus?.operSuccess?.instantiatedPath;
      if (path) created.add(path);
    }
    for (const result of response?.operateResp?.operationResults ?? []) if (result.reqObjPath) created.add(result.reqObjPath);
  });

  // Inputs go out at QoS 0, as usp-js publishes: no PUBACK, so no delayed ACK for a broker with its default settings
  // (Nagle on) to wait on. The sync Get that follows an input rides the same connection for MQTT 5 inputs, which keeps
  // their order; a 3.1.1 input travels on its own connection, and on loopback reaches the broker first in practice.
  const publishOptions = (channel: Channel): { topic: string; options: IClientPublishOptions; version: 5 | 4 } => {
    const fuzzProperty = { userProperties: { [FUZZ_PROPERTY]: '1' } };
    switch (channel) {
      case 'v5-reply':
        return { topic: target.agentTopic, version: 5, options: { qos: 0, properties: { ...fuzzProperty, responseTopic: settings.replyTopic, contentType: 'usp.msg' } } };
      case 'v5-no-reply':
        return { topic: target.agentTopic, version: 5, options: { qos: 0, properties: { ...fuzzProperty, contentType: 'usp.msg' } } };
      case 'v5-self-reply':
        return { topic: target.agentTopic, version: 5, options: { qos: 0, properties: { ...fuzzProperty, responseTopic: target.agentTopic, contentType: 'usp.msg' } } };
      case 'v5-void-reply':
        return { topic: target.agentTopic, version: 5, options: { qos: 0, properties: { ...fuzzProperty, responseTopic: 'usp/fuzz/nobody-listens', contentType: 'usp.msg' } } };
      case 'v5-bad-content-type':
        return { topic: target.agentTopic, version: 5, options: { qos: 0, properties: { ...fuzzProperty, responseTopic: settings.replyTopic, contentType: 'application/json' } } };
      case 'v4':
        return { topic: target.agentTopic, version: 4, options: { qos: 0 } };
      case 'v4-reply-suffix':
        return { topic: topicWithReplyTo(target.agentTopic, settings.replyTopic), version: 4, options: { qos: 0 } };
    }
  };

  return {
    async publish(publish) {
      const { topic, options, version } = publishOptions(publish.channel);
      const client = await controller(version);
      try {
        await client.publishAsync(topic, Buffer.from(publish.bytes.buffer, publish.bytes.byteOffset, publish.bytes.byteLength), options);
      } catch {
        // The broker closed the connection (the next publish reconnects); what the agent did is judged by the sync.
      }
    },
    async sync(timeoutMs) {
      const id = `${SYNC_PREFIX}${++syncCounter}`;
      const started = performance.now();
      const answered = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          syncWaiters.delete(id);
          reject(new Error(`no answer to a Get of Device.LocalAgent.EndpointID within ${timeoutMs} ms`));
        }, timeoutMs);
        syncWaiters.set(id, () => {
          clearTimeout(timer);
          syncWaiters.delete(id);
          resolve();
        });
      });
      const record = encodeRecord(buildNoSessionRecord({
        toId: target.agentId,
        fromId: target.controllerId,
        msg: encodeMsg({ header: { msgId: id, msgType: usp.Header.MsgType.GET }, body: { request: { get: { paramPaths: ['Device.LocalAgent.EndpointID'] } } } }),
      }));
      const client = await controller(5);
      await client.publishAsync(target.agentTopic, Buffer.from(record), { qos: 0, properties: { userProperties: { [FUZZ_PROPERTY]: 'sync' }, responseTopic: settings.replyTopic, contentType: 'usp.msg' } });
      await answered;
      return performance.now() - started;
    },
    messagesSeen: () => seen,
    agentOutputs: () => ({ createdRows: created, internalErrors, undecodable, selfAddressed }),
    reconnects: () => reconnects,
    async close() {
      for (const client of Object.values(clients)) await client.endAsync().catch(() => undefined);
      await observer.endAsync().catch(() => undefined);
    },
  };
}
