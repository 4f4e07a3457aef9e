// The USP 1.4 codec: Record/Msg round trips for every message kind, wire bytes computed by hand from the
// field numbers and wire types of proto/*.proto, and the 7100 / 7004 error rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { usp, usp_record } from '../../../src/usp/generated/usp.js';
import {
  USP_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  decodeRecord,
  encodeRecord,
  decodeMsg,
  encodeMsg,
  msgBodyKind,
  buildNoSessionRecord,
  buildMqttConnectRecord,
  buildDisconnectRecord,
} from '../../../src/usp/codec.ts';
import type { MsgBodyKind } from '../../../src/usp/codec.ts';
import { UspError } from '../../../src/usp/errors.ts';

const { MsgType } = usp.Header;
const AGENT = 'os::012345-berth-test';
const CONTROLLER = 'self::controller';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function ascii(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

function expectUspError(work: () => unknown, code: number): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof UspError, `expected a UspError, got ${String(error)}`);
    assert.equal(error.uspErrorCode, code);
    return true;
  });
}

// The .proto files read by protobufjs' reflection: an independent view of the schema (the generated code has no
// converters, the agent does not need them).
const ReflectedMsg = protobuf.loadSync(['proto/usp-record-1-4.proto', 'proto/usp-msg-1-4.proto'].map((file) => new URL(`../../../${file}`, import.meta.url).pathname)).lookupType('usp.Msg');

/** A Msg as a plain object with every default spelled out, so that `allowPartial: false` equals an absent field. */
function normalize(msg: usp.Msg | usp.Msg.$Properties): Record<string, unknown> {
  return ReflectedMsg.toObject(ReflectedMsg.fromObject(msg), { defaults: true, arrays: true, objects: true, longs: String });
}

/** Msg → bytes → NoSessionContext Record → bytes → Record → Msg; the decoded Msg must equal the input. */
function roundTrip(msg: usp.Msg.$Properties, expectedKind: MsgBodyKind): usp.Msg {
  const recordBytes = encodeRecord(buildNoSessionRecord({ toId: AGENT, fromId: CONTROLLER, msg: encodeMsg(msg) }));
  const record = decodeRecord(recordBytes);
  assert.equal(record.version, USP_VERSION);
  assert.equal(record.toId, AGENT);
  assert.equal(record.fromId, CONTROLLER);
  assert.equal(record.recordType, 'noSessionContext');
  const decoded = decodeMsg(record.noSessionContext!.payload!);
  assert.deepEqual(normalize(decoded), normalize(msg));
  assert.deepEqual(msgBodyKind(decoded), expectedKind);
  return decoded;
}

function request(msgId: string, msgType: usp.Header.MsgType, req: usp.Request.$Properties): usp.Msg.$Properties {
  return { header: { msgId, msgType }, body: { request: req } };
}

function response(msgId: string, msgType: usp.Header.MsgType, resp: usp.Response.$Properties): usp.Msg.$Properties {
  return { header: { msgId, msgType }, body: { response: resp } };
}

test('version constants', () => {
  assert.equal(USP_VERSION, '1.4');
  assert.equal(SUPPORTED_PROTOCOL_VERSIONS, '1.0,1.1,1.2,1.3,1.4');
});

test('Get with max_depth round-trips', () => {
  const msg = roundTrip(request('get-1', MsgType.GET, { get: { paramPaths: ['Device.SoftwareModules.', 'Device.LocalAgent.EndpointID'], maxDepth: 2 } }), { body: 'request', type: 'get' });
  assert.equal(msg.body?.request?.get?.maxDepth, 2);
});

test('Set round-trips', () => {
  roundTrip(
    request('set-1', MsgType.SET, {
      set: {
        allowPartial: true,
        updateObjs: [
          { objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'Enable', value: 'true', required: true }, { param: 'Alias', value: 'cpe-1' }] },
          { objPath: 'Device.SoftwareModules.ExecEnv.[Name=="docker"].', paramSettings: [{ param: 'Enable', value: 'false' }] },
        ],
      },
    }),
    { body: 'request', type: 'set' },
  );
});

test('Add round-trips', () => {
  roundTrip(
    request('add-1', MsgType.ADD, {
      add: {
        allowPartial: false,
        createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'ID', value: 'sub-1', required: true }, { param: 'NotifType', value: 'ValueChange' }] }],
      },
    }),
    { body: 'request', type: 'add' },
  );
});

test('Delete round-trips', () => {
  roundTrip(request('del-1', MsgType.DELETE, { delete: { allowPartial: true, objPaths: ['Device.LocalAgent.Subscription.1.', 'Device.LocalAgent.Subscription.*.'] } }), { body: 'request', type: 'delete' });
});

test('Operate with input_args round-trips', () => {
  const msg = roundTrip(
    request('op-1', MsgType.OPERATE, {
      operate: {
        command: 'Device.SoftwareModules.InstallDU()',
        commandKey: 'install-42',
        sendResp: true,
        inputArgs: { URL: 'https://catalog.example/app.tar', UUID: '6ba7b810-9dad-11d1-80b4-00c04fd430c8', ExecutionEnvRef: 'Device.SoftwareModules.ExecEnv.1' },
      },
    }),
    { body: 'request', type: 'operate' },
  );
  assert.equal(msg.body?.request?.operate?.inputArgs?.['URL'], 'https://catalog.example/app.tar');
});

test('GetInstances round-trips', () => {
  roundTrip(request('gi-1', MsgType.GET_INSTANCES, { getInstances: { objPaths: ['Device.SoftwareModules.DeploymentUnit.'], firstLevelOnly: true } }), { body: 'request', type: 'getInstances' });
});

test('GetSupportedDM with return_unique_key_sets round-trips', () => {
  const msg = roundTrip(
    request('gsdm-1', MsgType.GET_SUPPORTED_DM, {
      getSupportedDm: { objPaths: ['Device.SoftwareModules.'], firstLevelOnly: false, returnCommands: true, returnEvents: true, returnParams: true, returnUniqueKeySets: true },
    }),
    { body: 'request', type: 'getSupportedDm' },
  );
  assert.equal(msg.body?.request?.getSupportedDm?.returnUniqueKeySets, true);
});

test('GetSupportedProtocol round-trips', () => {
  roundTrip(request('gsp-1', MsgType.GET_SUPPORTED_PROTO, { getSupportedProtocol: { controllerSupportedProtocolVersions: '1.3,1.4' } }), { body: 'request', type: 'getSupportedProtocol' });
  roundTrip(response('gsp-1', MsgType.GET_SUPPORTED_PROTO_RESP, { getSupportedProtocolResp: { agentSupportedProtocolVersions: SUPPORTED_PROTOCOL_VERSIONS } }), { body: 'response', type: 'getSupportedProtocolResp' });
});

test('Register and Deregister round-trip', () => {
  roundTrip(request('reg-1', MsgType.REGISTER, { register: { allowPartial: true, regPaths: [{ path: 'Device.X_Example.' }] } }), { body: 'request', type: 'register' });
  roundTrip(request('dereg-1', MsgType.DEREGISTER, { deregister: { paths: ['Device.X_Example.'] } }), { body: 'request', type: 'deregister' });
  roundTrip(
    response('dereg-1', MsgType.DEREGISTER_RESP, {
      deregisterResp: { deregisteredPathResults: [{ requestedPath: 'Device.X_Example.', operStatus: { operSuccess: { deregisteredPath: ['Device.X_Example.', 'Device.X_Other.'] } } }] },
    }),
    { body: 'response', type: 'deregisterResp' },
  );
});

test('Notify round-trips with each notification kind', () => {
  const notifications: usp.Notify.$Properties[] = [
    { event: { objPath: 'Device.SoftwareModules.', eventName: 'DUStateChange!', params: { UUID: 'u-1', OperationPerformed: 'Install', FaultCode: '0' } } },
    { valueChange: { paramPath: 'Device.SoftwareModules.ExecutionUnit.1.Status', paramValue: 'Active' } },
    { objCreation: { objPath: 'Device.SoftwareModules.DeploymentUnit.3.', uniqueKeys: { UUID: 'u-3', Alias: 'cpe-3' } } },
    { objDeletion: { objPath: 'Device.SoftwareModules.DeploymentUnit.2.' } },
    { operComplete: { objPath: 'Device.SoftwareModules.', commandName: 'InstallDU()', commandKey: 'k-1', reqOutputArgs: { outputArgs: { DeploymentUnitRef: 'Device.SoftwareModules.DeploymentUnit.3' } } } },
    { operComplete: { objPath: 'Device.SoftwareModules.', commandName: 'InstallDU()', commandKey: 'k-2', cmdFailure: { errCode: 7225, errMsg: 'download failed' } } },
    { onBoardReq: { oui: '00D09E', productClass: 'berth', serialNumber: 'SN-1', agentSupportedProtocolVersions: SUPPORTED_PROTOCOL_VERSIONS } },
  ];
  const kinds = [];
  for (const [index, notification] of notifications.entries()) {
    const msg = roundTrip(request(`notify-${index}`, MsgType.NOTIFY, { notify: { subscriptionId: 'sub-1', sendResp: true, ...notification } }), { body: 'request', type: 'notify' });
    kinds.push(msg.body?.request?.notify?.notification);
  }
  assert.deepEqual(kinds, ['event', 'valueChange', 'objCreation', 'objDeletion', 'operComplete', 'operComplete', 'onBoardReq']);
});

test('NotifyResp round-trips', () => {
  roundTrip(response('notify-0', MsgType.NOTIFY_RESP, { notifyResp: { subscriptionId: 'sub-1' } }), { body: 'response', type: 'notifyResp' });
});

test('GetResp with result_params maps round-trips', () => {
  const msg = roundTrip(
    response('get-1', MsgType.GET_RESP, {
      getResp: {
        reqPathResults: [
          {
            requestedPath: 'Device.SoftwareModules.DeploymentUnit.*.',
            resolvedPathResults: [
              { resolvedPath: 'Device.SoftwareModules.DeploymentUnit.1.', resultParams: { UUID: 'u-1', Name: 'app-one', Status: 'Installed' } },
              { resolvedPath: 'Device.SoftwareModules.DeploymentUnit.2.', resultParams: { UUID: 'u-2', Name: 'app-two', Status: 'Installing' } },
            ],
          },
          { requestedPath: 'Device.Nope.', errCode: 7026, errMsg: 'Invalid path' },
        ],
      },
    }),
    { body: 'response', type: 'getResp' },
  );
  const results = msg.body?.response?.getResp?.reqPathResults;
  assert.equal(results?.[0]?.resolvedPathResults?.[1]?.resultParams?.['Status'], 'Installing');
  assert.equal(results?.[1]?.errCode, 7026);
});

test('the other responses round-trip', () => {
  roundTrip(
    response('set-1', MsgType.SET_RESP, {
      setResp: {
        updatedObjResults: [
          { requestedPath: 'Device.LocalAgent.Controller.1.', operStatus: { operSuccess: { updatedInstResults: [{ affectedPath: 'Device.LocalAgent.Controller.1.', updatedParams: { Enable: 'true' } }] } } },
          {
            requestedPath: 'Device.LocalAgent.Controller.2.',
            operStatus: { operFailure: { errCode: 7021, errMsg: 'Required parameter failed', updatedInstFailures: [{ affectedPath: 'Device.LocalAgent.Controller.2.', paramErrs: [{ param: 'Enable', errCode: 7012, errMsg: 'bad' }] }] } },
          },
        ],
      },
    }),
    { body: 'response', type: 'setResp' },
  );
  roundTrip(
    response('add-1', MsgType.ADD_RESP, {
      addResp: {
        createdObjResults: [
          { requestedPath: 'Device.LocalAgent.Subscription.', operStatus: { operSuccess: { instantiatedPath: 'Device.LocalAgent.Subscription.4.', uniqueKeys: { ID: 'sub-1', Alias: 'cpe-4' } } } },
          { requestedPath: 'Device.Nope.', operStatus: { operFailure: { errCode: 7026, errMsg: 'Invalid path' } } },
        ],
      },
    }),
    { body: 'response', type: 'addResp' },
  );
  roundTrip(
    response('del-1', MsgType.DELETE_RESP, {
      deleteResp: {
        deletedObjResults: [
          { requestedPath: 'Device.LocalAgent.Subscription.*.', operStatus: { operSuccess: { affectedPaths: ['Device.LocalAgent.Subscription.1.'], unaffectedPathErrs: [{ unaffectedPath: 'Device.LocalAgent.Subscription.2.', errCode: 7006, errMsg: 'denied' }] } } },
        ],
      },
    }),
    { body: 'response', type: 'deleteResp' },
  );
  roundTrip(
    response('op-1', MsgType.OPERATE_RESP, {
      operateResp: {
        operationResults: [
          { executedCommand: 'Device.SoftwareModules.InstallDU()', reqObjPath: 'Device.LocalAgent.Request.1.' },
          { executedCommand: 'Device.Reboot()', reqOutputArgs: { outputArgs: { Result: 'ok' } } },
          { executedCommand: 'Device.SelfTest()', cmdFailure: { errCode: 7022, errMsg: 'Command failure' } },
        ],
      },
    }),
    { body: 'response', type: 'operateResp' },
  );
  roundTrip(
    response('gi-1', MsgType.GET_INSTANCES_RESP, {
      getInstancesResp: { reqPathResults: [{ requestedPath: 'Device.SoftwareModules.DeploymentUnit.', currInsts: [{ instantiatedObjPath: 'Device.SoftwareModules.DeploymentUnit.1.', uniqueKeys: { UUID: 'u-1', Alias: 'cpe-1' } }] }] },
    }),
    { body: 'response', type: 'getInstancesResp' },
  );
  const { ObjAccessType, ParamAccessType, ParamValueType, ValueChangeType, CmdType } = usp.GetSupportedDMResp;
  roundTrip(
    response('gsdm-1', MsgType.GET_SUPPORTED_DM_RESP, {
      getSupportedDmResp: {
        reqObjResults: [
          {
            reqObjPath: 'Device.SoftwareModules.',
            dataModelInstUri: 'urn:broadband-forum-org:tr-181-2-19-1',
            supportedObjs: [
              {
                supportedObjPath: 'Device.SoftwareModules.DeploymentUnit.{i}.',
                access: ObjAccessType.OBJ_READ_ONLY,
                isMultiInstance: true,
                supportedCommands: [{ commandName: 'Update()', inputArgNames: ['URL'], outputArgNames: [], commandType: CmdType.CMD_ASYNC }],
                supportedEvents: [{ eventName: 'DUStateChange!', argNames: ['UUID'] }],
                supportedParams: [{ paramName: 'UUID', access: ParamAccessType.PARAM_READ_ONLY, valueType: ParamValueType.PARAM_STRING, valueChange: ValueChangeType.VALUE_CHANGE_ALLOWED }],
                divergentPaths: ['Device.SoftwareModules.DeploymentUnit.1.'],
                uniqueKeySets: [{ keyNames: ['UUID', 'Version', 'ExecutionEnvRef'] }, { keyNames: ['Alias'] }],
              },
            ],
          },
        ],
      },
    }),
    { body: 'response', type: 'getSupportedDmResp' },
  );
});

test('Error with param_errs round-trips', () => {
  const msg = roundTrip(
    {
      header: { msgId: 'set-9', msgType: MsgType.ERROR },
      body: { error: { errCode: 7004, errMsg: 'Invalid arguments', paramErrs: [{ paramPath: 'Device.Nope.X', errCode: 7026, errMsg: 'Invalid path' }, { paramPath: 'Device.LocalAgent.EndpointID', errCode: 7013, errMsg: 'Not writable' }] } },
    },
    { body: 'error' },
  );
  assert.equal(msg.body?.error?.paramErrs?.[0]?.errCode, 7026);
});

test('Get bytes follow the field numbers: param_paths = 1 (length-delimited), max_depth = 2 (fixed32)', () => {
  const expected = [0x0a, 0x07, ...ascii('Device.'), 0x15, 0x02, 0x00, 0x00, 0x00];
  assert.equal(hex(usp.Get.encode({ paramPaths: ['Device.'], maxDepth: 2 }).finish()), hex(new Uint8Array(expected)));
  // Wrapped: Request.get = 1, Body.request = 1, Msg.header = 1 (Header.msg_id = 1, msg_type = 2 varint), Msg.body = 2.
  const get = expected;
  const req = [0x0a, get.length, ...get];
  const body = [0x0a, req.length, ...req];
  const header = [0x0a, 0x01, ...ascii('m'), 0x10, 0x01];
  const msg = [0x0a, header.length, ...header, 0x12, body.length, ...body];
  const encoded = encodeMsg({ header: { msgId: 'm', msgType: MsgType.GET }, body: { request: { get: { paramPaths: ['Device.'], maxDepth: 2 } } } });
  assert.equal(hex(encoded), hex(new Uint8Array(msg)));
  assert.deepEqual(msgBodyKind(decodeMsg(new Uint8Array(msg))), { body: 'request', type: 'get' });
});

test('err_code is fixed32 on the wire: 7026 = 0x00001b72 little-endian', () => {
  const bytes = usp.Error.encode({ errCode: 7026, paramErrs: [{ paramPath: 'A', errCode: 7026 }] }).finish();
  // Error.err_code = 1 (fixed32: tag 0x0d), Error.param_errs = 3 (tag 0x1a) { param_path = 1, err_code = 2 (tag 0x15) }.
  const expected = [0x0d, 0x72, 0x1b, 0x00, 0x00, 0x1a, 0x08, 0x0a, 0x01, ...ascii('A'), 0x15, 0x72, 0x1b, 0x00, 0x00];
  assert.equal(hex(bytes), hex(new Uint8Array(expected)));
  assert.equal(usp.Error.decode(bytes).paramErrs?.[0]?.errCode, 7026);
});

test('Record bytes follow the field numbers: no_session_context = 7, its payload = 2', () => {
  const record = encodeRecord(buildNoSessionRecord({ toId: 'a', fromId: 'b', msg: new Uint8Array([0xde, 0xad]) }));
  // version = 1, to_id = 2, from_id = 3, payload_security PLAINTEXT (0) is not on the wire, no_session_context = 7 { payload = 2 }.
  const expected = [0x0a, 0x03, ...ascii('1.4'), 0x12, 0x01, ...ascii('a'), 0x1a, 0x01, ...ascii('b'), 0x3a, 0x04, 0x12, 0x02, 0xde, 0xad];
  assert.equal(hex(record), hex(new Uint8Array(expected)));
});

test('a decoded payload is a view into the input bytes (no copy)', () => {
  const input = new Uint8Array(encodeRecord(buildNoSessionRecord({ toId: 'a', fromId: 'b', msg: new Uint8Array([1, 2, 3]) })));
  const payload = decodeRecord(input).noSessionContext!.payload!;
  assert.deepEqual([...payload], [1, 2, 3]);
  assert.equal(payload.buffer, input.buffer);
});

test('buildNoSessionRecord defaults the version to 1.4 and takes another one', () => {
  assert.equal(buildNoSessionRecord({ toId: 'a', fromId: 'b', msg: new Uint8Array([1]) }).version, '1.4');
  assert.equal(decodeRecord(encodeRecord(buildNoSessionRecord({ toId: 'a', fromId: 'b', msg: new Uint8Array([1]), version: '1.3' }))).version, '1.3');
});

test('garbage bytes are 7100 for a Record and for a Msg', () => {
  const garbage = [
    new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // varint tag too long
    new Uint8Array([0x0a, 0x10, 0x41]), // field 1 claims 16 bytes, has 1
    new Uint8Array([0x0f]), // wire type 7 does not exist
  ];
  for (const bytes of garbage) {
    expectUspError(() => decodeRecord(bytes), 7100);
    expectUspError(() => decodeMsg(bytes), 7100);
  }
  // A sub-message whose content is not a message: Record.no_session_context = 7, Msg.body = 2.
  expectUspError(() => decodeRecord(new Uint8Array([0x3a, 0x02, 0xff, 0xff])), 7100);
  expectUspError(() => decodeMsg(new Uint8Array([0x12, 0x02, 0xff, 0xff])), 7100);
});

test('a Record without record_type is 7100', () => {
  expectUspError(() => decodeRecord(encodeRecord({ version: '1.4', toId: 'a', fromId: 'b' })), 7100);
  expectUspError(() => decodeRecord(new Uint8Array()), 7100);
});

test('two record_type members on the wire: the last one wins', () => {
  const first = encodeRecord(buildNoSessionRecord({ toId: 'a', fromId: 'b', msg: new Uint8Array([1]) }));
  const second = encodeRecord({ disconnect: { reason: 'bye', reasonCode: 7105 } });
  const record = decodeRecord(new Uint8Array([...first, ...second]));
  assert.equal(record.recordType, 'disconnect');
  assert.equal(record.noSessionContext, null);
  assert.equal(record.toId, 'a');
});

test('a Msg without header, body or inner message is 7004', () => {
  expectUspError(() => decodeMsg(encodeMsg({ header: { msgId: 'x', msgType: MsgType.GET } })), 7004);
  expectUspError(() => decodeMsg(encodeMsg({ header: { msgId: 'x', msgType: MsgType.GET }, body: {} })), 7004);
  expectUspError(() => decodeMsg(encodeMsg({ body: { request: { get: { paramPaths: ['Device.'] } } } })), 7004);
  expectUspError(() => decodeMsg(encodeMsg({ header: { msgId: 'x', msgType: MsgType.GET }, body: { request: {} } })), 7004);
  expectUspError(() => decodeMsg(encodeMsg({ header: { msgId: 'x', msgType: MsgType.GET_RESP }, body: { response: {} } })), 7004);
  // msgBodyKind alone applies the same rule to an already decoded Msg.
  expectUspError(() => msgBodyKind(usp.Msg.decode(encodeMsg({ header: { msgId: 'x' } }))), 7004);
});

test('an empty Error body is still an Error (err_code 0 is a default, not a missing member)', () => {
  assert.deepEqual(msgBodyKind(decodeMsg(encodeMsg({ header: { msgId: 'x' }, body: { error: {} } }))), { body: 'error' });
});

test('MQTTConnectRecord: mqttVersion 5 → V5 (1), 4 → V3_1_1 (0)', () => {
  const { MQTTVersion } = usp_record.MQTTConnectRecord;
  assert.equal(MQTTVersion.V5, 1);
  assert.equal(MQTTVersion.V3_1_1, 0);
  const v5 = decodeRecord(encodeRecord(buildMqttConnectRecord({ toId: CONTROLLER, fromId: AGENT, mqttVersion: 5, subscribedTopic: 'usp/agent/berth' })));
  assert.equal(v5.recordType, 'mqttConnect');
  assert.equal(v5.mqttConnect?.version, MQTTVersion.V5);
  assert.equal(v5.mqttConnect?.subscribedTopic, 'usp/agent/berth');
  assert.equal(v5.version, '1.4');
  assert.equal(v5.toId, CONTROLLER);
  assert.equal(v5.fromId, AGENT);
  const v4 = decodeRecord(encodeRecord(buildMqttConnectRecord({ toId: CONTROLLER, fromId: AGENT, mqttVersion: 4, subscribedTopic: 'usp/agent/berth' })));
  assert.equal(v4.recordType, 'mqttConnect');
  assert.equal(v4.mqttConnect?.version, MQTTVersion.V3_1_1);
  // mqtt_connect = 10 (tag 0x52) { version = 1 varint (tag 0x08), subscribed_topic = 2 (tag 0x12) }; V3_1_1 is 0, so not on the wire.
  const connect = (version: number[]) => [...version, 0x12, 0x01, ...ascii('t')];
  const bytesV5 = encodeRecord({ mqttConnect: { version: MQTTVersion.V5, subscribedTopic: 't' } });
  assert.equal(hex(bytesV5), hex(new Uint8Array([0x52, 0x05, ...connect([0x08, 0x01])])));
  const bytesV4 = encodeRecord({ mqttConnect: { version: MQTTVersion.V3_1_1, subscribedTopic: 't' } });
  assert.equal(hex(bytesV4), hex(new Uint8Array([0x52, 0x03, ...connect([])])));
});

test('DisconnectRecord: reason_code is fixed32', () => {
  const bytes = encodeRecord(buildDisconnectRecord({ toId: CONTROLLER, fromId: AGENT, reason: 'no', reasonCode: 7106 }));
  const record = decodeRecord(bytes);
  assert.equal(record.recordType, 'disconnect');
  assert.equal(record.disconnect?.reason, 'no');
  assert.equal(record.disconnect?.reasonCode, 7106);
  // disconnect = 12 (tag 0x62) { reason = 1, reason_code = 2 (fixed32, tag 0x15): 7106 = 0x1bc2 }
  assert.ok(hex(bytes).endsWith(hex(new Uint8Array([0x62, 0x09, 0x0a, 0x02, ...ascii('no'), 0x15, 0xc2, 0x1b, 0x00, 0x00]))));
});

test('uint64 session context ids decode as numbers, not Long objects, exact up to 2^53', () => {
  const bytes = encodeRecord({ version: '1.4', toId: 'a', fromId: 'b', sessionContext: { sessionId: 5, sequenceId: 2 ** 53 - 1, expectedId: 1, payload: [new Uint8Array([1])] } });
  const context = decodeRecord(bytes).sessionContext!;
  assert.equal(context.sessionId, 5);
  assert.equal(context.sequenceId, 2 ** 53 - 1);
  assert.equal(context.expectedId, 1);
  // Unset: the prototype default, 0.
  assert.equal(context.retransmitId, 0);
  // sequence_id = 2 (varint): 2^53 - 1 is seven 0xff bytes then 0x0f on the wire, the same as Long.js would write.
  assert.ok(hex(bytes).includes(hex(new Uint8Array([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]))));
});
