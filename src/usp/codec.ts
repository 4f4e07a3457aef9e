// Record ⇄ bytes and Msg ⇄ bytes with the generated protobufjs code (static, no reflection on the hot path).
// uint64 fields (session context ids) decode as JS numbers (generated with --force-number); berth does not
// use session contexts, it only answers them with a DisconnectRecord.
import { usp, usp_record } from './generated/usp.js';
import { ErrorCode, UspError } from './errors.ts';

export const USP_VERSION = '1.4';
export const SUPPORTED_PROTOCOL_VERSIONS = '1.0,1.1,1.2,1.3,1.4';

/** Decodes a Record. Throws 7100 when the bytes are not a Record or no record_type is set (R-ENC.4: discard). */
export function decodeRecord(bytes: Uint8Array): usp_record.Record {
  let record: usp_record.Record;
  try {
    record = usp_record.Record.decode(bytes);
  } catch (error) {
    throw new UspError(ErrorCode.RecordNotParsed, `Record could not be parsed: ${(error as Error).message}`);
  }
  if (!record.recordType) throw new UspError(ErrorCode.RecordNotParsed, 'Record has no record_type');
  return record;
}

export function encodeRecord(record: usp_record.IRecord): Uint8Array {
  return usp_record.Record.encode(record).finish();
}

/**
 * Decodes a Msg. Bytes that do not decode: 7100 (nothing to answer). A Msg without header or body, or with
 * no member set in a body oneof: 7004 (R-ENC.5), answerable because the msg_id is known.
 */
export function decodeMsg(bytes: Uint8Array): usp.Msg {
  let msg: usp.Msg;
  try {
    msg = usp.Msg.decode(bytes);
  } catch (error) {
    throw new UspError(ErrorCode.RecordNotParsed, `Msg could not be parsed: ${(error as Error).message}`);
  }
  msgBodyKind(msg);
  return msg;
}

export function encodeMsg(msg: usp.IMsg): Uint8Array {
  return usp.Msg.encode(msg).finish();
}

export type MsgBodyKind =
  | { readonly body: 'request'; readonly type: NonNullable<usp.Request['reqType']> }
  | { readonly body: 'response'; readonly type: NonNullable<usp.Response['respType']> }
  | { readonly body: 'error' };

/** What a Msg carries; throws 7004 when a oneof is unset. */
export function msgBodyKind(msg: usp.Msg): MsgBodyKind {
  if (!msg.header) throw new UspError(ErrorCode.InvalidArguments, 'Msg has no header');
  const body = msg.body;
  if (!body?.msgBody) throw new UspError(ErrorCode.InvalidArguments, 'Msg has no body');
  if (body.msgBody === 'error') return { body: 'error' };
  if (body.msgBody === 'request') {
    const type = body.request?.reqType;
    if (!type) throw new UspError(ErrorCode.InvalidArguments, 'Request has no message');
    return { body: 'request', type };
  }
  const type = body.response?.respType;
  if (!type) throw new UspError(ErrorCode.InvalidArguments, 'Response has no message');
  return { body: 'response', type };
}

export function buildNoSessionRecord(options: { toId: string; fromId: string; msg: Uint8Array; version?: string }): usp_record.IRecord {
  return {
    version: options.version ?? USP_VERSION,
    toId: options.toId,
    fromId: options.fromId,
    payloadSecurity: usp_record.Record.PayloadSecurity.PLAINTEXT,
    noSessionContext: { payload: options.msg },
  };
}

export function buildMqttConnectRecord(options: { toId: string; fromId: string; mqttVersion: 5 | 4; subscribedTopic: string }): usp_record.IRecord {
  return {
    version: USP_VERSION,
    toId: options.toId,
    fromId: options.fromId,
    mqttConnect: {
      version: options.mqttVersion === 5 ? usp_record.MQTTConnectRecord.MQTTVersion.V5 : usp_record.MQTTConnectRecord.MQTTVersion.V3_1_1,
      subscribedTopic: options.subscribedTopic,
    },
  };
}

export function buildDisconnectRecord(options: { toId: string; fromId: string; reason: string; reasonCode: number }): usp_record.IRecord {
  return { version: USP_VERSION, toId: options.toId, fromId: options.fromId, disconnect: { reason: options.reason, reasonCode: options.reasonCode } };
}
