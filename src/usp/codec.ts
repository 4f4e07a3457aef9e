// USP Record ⇄ bytes and Msg ⇄ bytes (TR-369 1.4), used by the Agent engine and by the test Controller.
//
// Encoding and decoding go through the static code protobufjs generated from proto/*.proto
// (src/usp/generated/usp.js, `npm run gen:proto`): no reflection and no copies on the hot path. Decoded
// `bytes` fields (e.g. NoSessionContextRecord.payload) are views into the input buffer, not copies.
//
// uint64 fields (SessionContextRecord.session_id / sequence_id / expected_id / retransmit_id) decode as numbers,
// exact up to 2^53, and an unset one reads as 0: the runtime the generated code imports has no Long.js
// (src/usp/protobuf-runtime.ts says why). The generated types still say `number | Long`; encoding accepts either.
// berth does not use session contexts today (it answers them with a DisconnectRecord), so nothing reads these.
//
// Errors (R-ENC.4 / R-ENC.5):
//   * Record bytes that do not decode, or a Record with no record_type member → 7100 Record could not be
//     parsed: the Record is discarded. (Two members on the wire cannot happen after decoding: the last wins.)
//   * Msg bytes that do not decode → 7100 as well (there is no msg_id to answer to).
//   * A Msg that decodes but has no header, no body member, or no member in the Request / Response oneof
//     → 7004 Invalid arguments: the msg_id is known, so the sender can get an Error message.
//
// Plain-object inputs are typed `X.$Properties`: protobufjs 8's name for the `IX` interfaces (`IRecord`,
// `IMsg`, ...), which still exist, are identical, but are marked deprecated (and the linter rejects them).
import { usp, usp_record } from './generated/usp.js';
import { ErrorCode, UspError, toUspMessage } from './errors.ts';

/** The USP version berth speaks, sent in Record.version. */
export const USP_VERSION = '1.4';
/** What GetSupportedProtocolResp.agent_supported_protocol_versions reports. */
export const SUPPORTED_PROTOCOL_VERSIONS = '1.0,1.1,1.2,1.3,1.4';

/** Decodes a Record. Throws 7100 when the bytes are not a Record or no record_type is set. */
export function decodeRecord(bytes: Uint8Array): usp_record.Record {
  let record: usp_record.Record;
  try {
    record = usp_record.Record.decode(bytes);
  } catch (error) {
    throw new UspError(ErrorCode.RecordNotParsed, `Record could not be parsed: ${toUspMessage(error)}`, { cause: error });
  }
  if (!record.recordType) throw new UspError(ErrorCode.RecordNotParsed, 'Record has no record_type');
  return record;
}

/** Serializes a Record (a plain object is fine; it is not verified). */
export function encodeRecord(record: usp_record.Record.$Properties): Uint8Array {
  return usp_record.Record.encode(record).finish();
}

/**
 * Decodes a Msg and checks its oneofs (see msgBodyKind). Bytes that do not decode: 7100. A Msg without
 * header, without a body member, or with an empty Request / Response: 7004.
 */
export function decodeMsg(bytes: Uint8Array): usp.Msg {
  let msg: usp.Msg;
  try {
    msg = usp.Msg.decode(bytes);
  } catch (error) {
    throw new UspError(ErrorCode.RecordNotParsed, `Msg could not be parsed: ${toUspMessage(error)}`, { cause: error });
  }
  msgBodyKind(msg);
  return msg;
}

/** Serializes a Msg (a plain object is fine; it is not verified). */
export function encodeMsg(msg: usp.Msg.$Properties): Uint8Array {
  return usp.Msg.encode(msg).finish();
}

/** What a Msg carries: the Body member and, for a Request or Response, the name of its oneof member. */
export type MsgBodyKind =
  | { readonly body: 'request'; readonly type: NonNullable<usp.Request['reqType']> }
  | { readonly body: 'response'; readonly type: NonNullable<usp.Response['respType']> }
  | { readonly body: 'error' };

/**
 * Describes a Msg from the generated oneof virtual properties (`body.msgBody`, `request.reqType`,
 * `response.respType`), e.g. `{ body: 'request', type: 'get' }`. Throws 7004 when the header is missing or
 * a oneof is unset.
 */
export function msgBodyKind(msg: usp.Msg): MsgBodyKind {
  if (!msg.header) throw new UspError(ErrorCode.InvalidArguments, 'Msg has no header');
  const body = msg.body;
  if (!body?.msgBody) throw new UspError(ErrorCode.InvalidArguments, 'Msg has no body');
  switch (body.msgBody) {
    case 'error':
      return { body: 'error' };
    case 'request': {
      const type = body.request?.reqType;
      if (!type) throw new UspError(ErrorCode.InvalidArguments, 'Request has no message');
      return { body: 'request', type };
    }
    case 'response': {
      const type = body.response?.respType;
      if (!type) throw new UspError(ErrorCode.InvalidArguments, 'Response has no message');
      return { body: 'response', type };
    }
  }
}

/** A NoSessionContext Record carrying a serialized Msg (payload_security PLAINTEXT). */
export function buildNoSessionRecord(options: { toId: string; fromId: string; msg: Uint8Array; version?: string }): usp_record.Record.$Properties {
  return {
    version: options.version ?? USP_VERSION,
    toId: options.toId,
    fromId: options.fromId,
    payloadSecurity: usp_record.Record.PayloadSecurity.PLAINTEXT,
    noSessionContext: { payload: options.msg },
  };
}

/** The MQTTConnectRecord an Endpoint sends once connected; mqttVersion 5 → V5, 4 (MQTT 3.1.1) → V3_1_1. */
export function buildMqttConnectRecord(options: { toId: string; fromId: string; mqttVersion: 5 | 4; subscribedTopic: string }): usp_record.Record.$Properties {
  const { MQTTVersion } = usp_record.MQTTConnectRecord;
  return {
    version: USP_VERSION,
    toId: options.toId,
    fromId: options.fromId,
    mqttConnect: {
      version: options.mqttVersion === 5 ? MQTTVersion.V5 : MQTTVersion.V3_1_1,
      subscribedTopic: options.subscribedTopic,
    },
  };
}

/** The STOMPConnectRecord an Endpoint sends once subscribed (STOMP 1.2, the destination it receives on). */
export function buildStompConnectRecord(options: { toId: string; fromId: string; subscribedDestination: string }): usp_record.Record.$Properties {
  return {
    version: USP_VERSION,
    toId: options.toId,
    fromId: options.fromId,
    stompConnect: { version: usp_record.STOMPConnectRecord.STOMPVersion.V1_2, subscribedDestination: options.subscribedDestination },
  };
}

/** The (empty) WebSocketConnectRecord an Endpoint sends once a WebSocket session is open. */
export function buildWebSocketConnectRecord(options: { toId: string; fromId: string }): usp_record.Record.$Properties {
  return { version: USP_VERSION, toId: options.toId, fromId: options.fromId, websocketConnect: {} };
}

/** A DisconnectRecord; reasonCode is from the 7100 range (e.g. 7106 Session Context not allowed). */
export function buildDisconnectRecord(options: { toId: string; fromId: string; reason: string; reasonCode: number }): usp_record.Record.$Properties {
  return {
    version: USP_VERSION,
    toId: options.toId,
    fromId: options.fromId,
    disconnect: { reason: options.reason, reasonCode: options.reasonCode },
  };
}
