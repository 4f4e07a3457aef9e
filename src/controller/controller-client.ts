// A small USP Controller over MQTT (mqtt.js used directly): what `berth ctl`, the demo, the integration
// tests and the benchmark use to talk to an agent. Answers NotifyResp for notifications that ask for one.
import { openMqttClient } from '../mtp/mqtt-connect.ts';
import type { IClientOptions, MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { usp } from '../usp/generated/usp.js';
import { decodeRecord, encodeRecord, encodeMsg, buildNoSessionRecord } from '../usp/codec.ts';

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

export class UspRequestError extends Error {
  readonly code: number;
  /** The agent's err_msg, as it sent it. */
  readonly errMsg: string;
  readonly paramErrs: readonly usp.Error.ParamError.$Properties[];
  constructor(code: number, message: string, paramErrs: readonly usp.Error.ParamError.$Properties[]) {
    super(`USP error ${code}: ${message}`);
    this.name = 'UspRequestError';
    this.code = code;
    this.errMsg = message;
    this.paramErrs = paramErrs;
  }
}

export interface ControllerClient {
  readonly endpointId: string;
  readonly replyTopic: string;
  /** Sends a request and resolves with the response body; rejects with UspRequestError for an Error message. */
  request(request: usp.Request.$Properties, options?: { timeoutMs?: number }): Promise<usp.Response.$Properties>;
  /** Sends a request whose answer may be an Error; resolves with the whole Msg. */
  requestRaw(request: usp.Request.$Properties, options?: { timeoutMs?: number; msgId?: string }): Promise<usp.Msg>;
  /** Publishes raw bytes to the agent topic (bad-input tests). */
  publishRaw(bytes: Uint8Array, options?: { withReplyTo?: boolean }): Promise<void>;
  get(paths: readonly string[], maxDepth?: number): Promise<usp.GetResp.$Properties>;
  onNotify(listener: (notify: usp.Notify.$Properties, msg: usp.Msg) => void): () => void;
  /** Waits for the next Notify accepted by `match`. */
  nextNotify(match: (notify: usp.Notify.$Properties) => boolean, timeoutMs?: number): Promise<usp.Notify.$Properties>;
  /** Every Record received (including Connect Records). */
  onRecord(listener: (record: ReturnType<typeof decodeRecord>) => void): () => void;
  /** Send NotifyResp automatically for send_resp notifications (default true). */
  autoNotifyResp: boolean;
  close(): Promise<void>;
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

  const waiting = new Map<string, { resolve: (msg: usp.Msg) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  const notifyListeners = new Set<(notify: usp.Notify.$Properties, msg: usp.Msg) => void>();
  const recordListeners = new Set<(record: ReturnType<typeof decodeRecord>) => void>();
  let counter = 0;

  const publishRecord = async (bytes: Uint8Array): Promise<void> => {
    if (version === 5) {
      await client.publishAsync(options.agentTopic, Buffer.from(bytes), { qos: publishQos, properties: { responseTopic: replyTopic, contentType: 'usp.msg' } });
    } else {
      await client.publishAsync(`${options.agentTopic}/reply-to=${replyTopic.replaceAll('/', '%2F')}`, Buffer.from(bytes), { qos: publishQos });
    }
  };

  const sendMsg = (msg: usp.Msg.$Properties): Promise<void> =>
    publishRecord(encodeRecord(buildNoSessionRecord({ toId: options.agentEndpointId, fromId: options.endpointId, msg: encodeMsg(msg) })));

  const api: ControllerClient = {
    endpointId: options.endpointId,
    replyTopic,
    autoNotifyResp: true,
    async requestRaw(request, requestOptions) {
      const msgId = requestOptions?.msgId ?? `${options.endpointId}-${Date.now().toString(36)}-${++counter}`;
      const type = requestMsgType(request);
      const answer = new Promise<usp.Msg>((resolve, reject) => {
        const timeoutMs = requestOptions?.timeoutMs ?? 10_000;
        const timer = setTimeout(() => {
          waiting.delete(msgId);
          reject(new Error(`no answer from ${options.agentEndpointId} within ${timeoutMs} ms (is the agent running and subscribed to ${options.agentTopic}?)`));
        }, timeoutMs);
        waiting.set(msgId, { resolve, reject, timer });
      });
      await sendMsg({ header: { msgId, msgType: type }, body: { request } });
      return answer;
    },
    async request(request, requestOptions) {
      const msg = await api.requestRaw(request, requestOptions);
      const body = msg.body!;
      if (body.msgBody === 'error') throw new UspRequestError(body.error?.errCode ?? 0, body.error?.errMsg ?? '', body.error?.paramErrs ?? []);
      return body.response!;
    },
    publishRaw(bytes) {
      return publishRecord(bytes);
    },
    async get(paths, maxDepth = 0) {
      const response = await api.request({ get: { paramPaths: [...paths], maxDepth } });
      return response.getResp!;
    },
    onNotify(listener) {
      notifyListeners.add(listener);
      return () => notifyListeners.delete(listener);
    },
    nextNotify(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          remove();
          reject(new Error(`no matching notification within ${timeoutMs} ms`));
        }, timeoutMs);
        const remove = api.onNotify((notify) => {
          if (!match(notify)) return;
          clearTimeout(timer);
          remove();
          resolve(notify);
        });
      });
    },
    onRecord(listener) {
      recordListeners.add(listener);
      return () => recordListeners.delete(listener);
    },
    async close() {
      for (const entry of waiting.values()) {
        clearTimeout(entry.timer);
        entry.reject(new Error('controller closed'));
      }
      waiting.clear();
      await client.endAsync();
    },
  };

  client.on('message', (_topic, payload) => {
    let record;
    try {
      record = decodeRecord(payload);
    } catch {
      return;
    }
    for (const listener of recordListeners) listener(record);
    if (record.recordType !== 'noSessionContext' || !record.noSessionContext?.payload) return;
    let msg: usp.Msg;
    try {
      msg = usp.Msg.decode(record.noSessionContext.payload);
    } catch {
      return;
    }
    const msgId = msg.header?.msgId ?? '';
    const notify = msg.body?.request?.notify;
    if (notify) {
      if (notify.sendResp && api.autoNotifyResp) {
        void sendMsg({
          header: { msgId, msgType: usp.Header.MsgType.NOTIFY_RESP },
          body: { response: { notifyResp: { subscriptionId: notify.subscriptionId ?? '' } } },
        }).catch(() => undefined);
      }
      for (const listener of notifyListeners) listener(notify, msg);
      return;
    }
    const entry = waiting.get(msgId);
    if (entry) {
      waiting.delete(msgId);
      clearTimeout(entry.timer);
      entry.resolve(msg);
    }
  });
  return api;
}

function requestMsgType(request: usp.Request.$Properties): usp.Header.MsgType {
  const T = usp.Header.MsgType;
  if (request.get) return T.GET;
  if (request.set) return T.SET;
  if (request.add) return T.ADD;
  if (request.delete) return T.DELETE;
  if (request.operate) return T.OPERATE;
  if (request.getInstances) return T.GET_INSTANCES;
  if (request.getSupportedDm) return T.GET_SUPPORTED_DM;
  if (request.getSupportedProtocol) return T.GET_SUPPORTED_PROTO;
  if (request.notify) return T.NOTIFY;
  return T.ERROR;
}
