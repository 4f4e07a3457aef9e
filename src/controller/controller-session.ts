// The Controller side of USP, whatever carries it: request/response matching by msg_id, notifications (with
// NotifyResp when asked), raw Records. `berth ctl`, the demo, the integration tests and the benchmarks use it over
// each MTP's wire (controller-wires.ts: MQTT, STOMP, WebSocket both ways).
import { usp } from '../usp/generated/usp.js';
import { decodeRecord, encodeRecord, encodeMsg, buildNoSessionRecord } from '../usp/codec.ts';
import { UspError } from '../usp/errors.ts';

/** One Controller's connection to one agent over one MTP. */
export interface ControllerWire {
  /** For messages: e.g. "MQTT topic usp/agent/x". */
  readonly description: string;
  /** Where the agent's answers come back (an MQTT topic, a STOMP destination; '' for WebSocket). */
  readonly replyAddress: string;
  send(bytes: Uint8Array): Promise<void>;
  /** Every Record that arrives. */
  onBytes(listener: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
}

export interface ControllerIds {
  readonly endpointId: string;
  readonly agentEndpointId: string;
}

/** The agent answered with a USP Error message: `uspErrorCode` is its err_code. */
export class UspRequestError extends UspError {
  /** The agent's err_msg, as it sent it. */
  readonly errMsg: string;
  readonly paramErrs: readonly usp.Error.ParamError.$Properties[];
  constructor(code: number, message: string, paramErrs: readonly usp.Error.ParamError.$Properties[]) {
    super(code, `USP error ${code}: ${message}`);
    this.name = 'UspRequestError';
    this.errMsg = message;
    this.paramErrs = paramErrs;
  }
}

export interface ControllerClient {
  readonly endpointId: string;
  /** Where this Controller receives (MQTT topic, STOMP destination; '' over WebSocket). */
  readonly replyTopic: string;
  /** Sends a request and resolves with the response body; rejects with UspRequestError for an Error message. */
  request(request: usp.Request.$Properties, options?: { timeoutMs?: number }): Promise<usp.Response.$Properties>;
  /** Sends a request whose answer may be an Error; resolves with the whole Msg. */
  requestRaw(request: usp.Request.$Properties, options?: { timeoutMs?: number; msgId?: string }): Promise<usp.Msg>;
  /** Sends raw bytes to the agent (bad-input tests). */
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

export function createControllerSession(wire: ControllerWire, ids: ControllerIds): ControllerClient {
  const waiting = new Map<string, { resolve: (msg: usp.Msg) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  const notifyListeners = new Set<(notify: usp.Notify.$Properties, msg: usp.Msg) => void>();
  const recordListeners = new Set<(record: ReturnType<typeof decodeRecord>) => void>();
  // Records seen before anyone asked for them (the agent's Connect Record, sent as the session opens) go to the
  // first onRecord listener.
  const early: ReturnType<typeof decodeRecord>[] = [];
  let recordsWatched = false;
  let counter = 0;

  const sendMsg = (msg: usp.Msg.$Properties): Promise<void> =>
    wire.send(encodeRecord(buildNoSessionRecord({ toId: ids.agentEndpointId, fromId: ids.endpointId, msg: encodeMsg(msg) })));

  const api: ControllerClient = {
    endpointId: ids.endpointId,
    replyTopic: wire.replyAddress,
    autoNotifyResp: true,
    async requestRaw(request, requestOptions) {
      const msgId = requestOptions?.msgId ?? `${ids.endpointId}-${Date.now().toString(36)}-${++counter}`;
      const type = requestMsgType(request);
      const answer = new Promise<usp.Msg>((resolve, reject) => {
        const timeoutMs = requestOptions?.timeoutMs ?? 10_000;
        const timer = setTimeout(() => {
          waiting.delete(msgId);
          reject(new Error(`no answer from ${ids.agentEndpointId} within ${timeoutMs} ms (is the agent running and listening on ${wire.description}?)`));
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
      return wire.send(bytes);
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
      if (!recordsWatched) {
        recordsWatched = true;
        // After this call returns, so that the caller holds its unsubscribe function when they arrive.
        const kept = early.splice(0);
        if (kept.length > 0) queueMicrotask(() => { for (const record of kept) if (recordListeners.has(listener)) listener(record); });
      }
      return () => recordListeners.delete(listener);
    },
    async close() {
      for (const entry of waiting.values()) {
        clearTimeout(entry.timer);
        entry.reject(new Error('controller closed'));
      }
      waiting.clear();
      await wire.close();
    },
  };

  wire.onBytes((payload) => {
    let record;
    try {
      record = decodeRecord(payload);
    } catch {
      return;
    }
    if (!recordsWatched && early.length < 100) early.push(record);
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
