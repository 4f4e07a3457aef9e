// USP Msgs for the fuzzer: every request type berth serves (Get, GetInstances, GetSupportedDM,
// GetSupportedProtocol, Set, Add, Delete, Operate), the messages it should refuse or ignore (Notify, Register,
// Deregister, responses, Error, unknown message types, empty bodies), and NotifyResp, with real and hostile paths
// and values. Writes stay in the fuzzer's sandbox (write-guard.ts says which rows): a fuzzer that deletes its own
// Controller or points the agent at another broker measures nothing. Oversized variants (many paths, many
// objects, long strings) are bounded by FuzzBounds. Pure: a Prng in, a Msg out.
import { usp } from '../../src/usp/generated/usp.js';
import type { ParamDecl } from '../../src/datamodel/schema.ts';
import type { Prng } from './prng.ts';
import { encodeVarint } from './protobuf-mutate.ts';
import { anyPath, hostilePath, modelPath, objectDecl, searchExpression } from './usp-paths.ts';

const MsgType = usp.Header.MsgType;

/** A Header whose msg_type is any uint32, as it arrives from the wire (the enum has no name for most of them). */
function headerWithRawType(msgId: string, msgType: number): usp.Header {
  const known = usp.Header.encode({ msgId }).finish();
  const field = encodeVarint(msgType);
  const bytes = new Uint8Array(known.length + 1 + field.length);
  bytes.set(known);
  bytes[known.length] = 0x10; // field 2 (msg_type), varint
  bytes.set(field, known.length + 1);
  return usp.Header.decode(bytes);
}

/** How far the oversized generators go. */
export interface FuzzBounds {
  /** Most paths in one Get / GetInstances / GetSupportedDM / Delete (e.g. `Device.` repeated). */
  readonly maxPaths: number;
  /** Most objects in one Add or Set. */
  readonly maxObjects: number;
  /** Most parameter settings in one object of an Add or Set, and input arguments of an Operate. */
  readonly maxParamSettings: number;
  /** Longest string value or path. */
  readonly maxStringBytes: number;
}

/** What the fuzzer knows of the agent it fuzzes, so that generated messages can name it. */
export interface FuzzTarget {
  readonly agentId: string;
  readonly agentTopic: string;
  readonly controllerId: string;
  readonly probeControllerId: string;
}

/** Controller rows the fuzzer may add; Records from these ids then come from a known Controller. */
export function addedControllerId(n: number): string {
  return `proto::fuzz-added-${n}`;
}
export const ADDED_CONTROLLERS = 4;

/** Rows of Controller and Role below this instance number are the agent's own and stay out of the fuzzer's writes. */
export const FIRST_SANDBOX_INSTANCE = 3;

function sandboxInstance(rng: Prng): number {
  return rng.between(FIRST_SANDBOX_INSTANCE, FIRST_SANDBOX_INSTANCE + 3);
}

function longString(rng: Prng, bounds: FuzzBounds): string {
  const bytes = Math.min(bounds.maxStringBytes, rng.pick([257, 4096, 65_536, 65_537, 1_000_000, 4_000_000]));
  const unit = rng.pick(['x', '€', '.', '\u0000']);
  return unit.repeat(Math.floor(bytes / Buffer.byteLength(unit)));
}

function hostileTopic(rng: Prng, target: FuzzTarget): string {
  return rng.pick([
    'usp/controller/fuzz-added', `usp/controller/fuzz-added/${rng.int(1000)}`, target.agentTopic, '', 'usp/#', '#', '+', 'usp/+/x',
    '$SYS/broker', 'a\u0000b', '/', 'x'.repeat(65_535), 'x'.repeat(65_536), 'usp/controller/\ud800',
  ]);
}

/** A value for a parameter: valid for its type most of the time, otherwise at or past its edges. */
export function paramValue(rng: Prng, decl: ParamDecl | undefined, target: FuzzTarget, bounds: FuzzBounds): string {
  if (rng.chance(0.15)) {
    return rng.pick(['', ' ', 'true', '-1', '4294967296', '18446744073709551616', '1.5', 'NaN', '0001-01-01T00:00:00Z', 'Device.', '\u0000', longString(rng, bounds)]);
  }
  if (decl?.enum && rng.chance(0.8)) return rng.pick(decl.enum);
  const maxLength = decl?.maxLength;
  switch (decl?.type) {
    case 'boolean':
      return rng.pick(['true', 'false', '1', '0', 'TRUE', 'yes']);
    case 'unsignedInt':
    case 'unsignedLong':
      return rng.pick(['0', '1', '5', '60', '86400', '4294967295', '4294967296', '-1', '01', '+1', ' 1']);
    case 'int':
    case 'long':
      return rng.pick(['0', '-1', '1', '-2147483648', '2147483647', '2147483648', '65535', '65536']);
    case 'dateTime':
      return rng.pick(['0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00+01:00', 'yesterday']);
    case 'base64':
    case 'decimal':
    case 'hexBinary':
    case 'string':
    case undefined: {
      const choice = rng.int(5);
      if (choice === 0 && maxLength !== undefined) return 'a'.repeat(maxLength + rng.between(-1, 1));
      if (choice === 1) return modelPath(rng, { kind: rng.pick(['object', 'param', 'command', 'event'] as const) }).replace(/\.$/, '');
      if (choice === 2) return rng.pick([target.controllerId, target.probeControllerId, target.agentId, addedControllerId(rng.int(ADDED_CONTROLLERS))]);
      if (choice === 3) return `fuzz-${rng.int(100)}`;
      return anyPath(rng);
    }
  }
}

type Settings = { param: string; value: string; required: boolean }[];

/** Settings for the parameters of the table or object at `supportedPath` (some unknown names, some many). */
function settingsFor(rng: Prng, supportedPath: string, target: FuzzTarget, bounds: FuzzBounds, extra: Readonly<Record<string, () => string>> = {}): Settings {
  const params = objectDecl(supportedPath)?.params ?? {};
  const names = [...Object.keys(params), ...Object.keys(extra)];
  const many = rng.chance(0.05);
  const count = many ? Math.min(bounds.maxParamSettings, rng.pick([100, 1000, 10_000])) : rng.between(0, Math.min(6, names.length + 1));
  const settings: Settings = [];
  for (let i = 0; i < count; i++) {
    const unknown = names.length === 0 || rng.chance(0.08);
    const param = unknown ? rng.pick(['Nope', '', 'Enable.', 'MTP.1.Enable', 'Stats.X', '*', `P${i}`, 'A'.repeat(300)]) : rng.pick(names);
    const value = extra[param]?.() ?? paramValue(rng, params[param], target, bounds);
    settings.push({ param, value, required: rng.chance(0.4) });
  }
  return settings;
}

function subscriptionSettings(rng: Prng, target: FuzzTarget, bounds: FuzzBounds): Settings {
  const settings = settingsFor(rng, 'Device.LocalAgent.Subscription.{i}.', target, bounds, {
    ReferenceList: () => Array.from({ length: rng.between(1, 3) }, () => anyPath(rng)).join(','),
    Recipient: () => `Device.LocalAgent.Controller.${rng.between(1, 5)}`,
  });
  // Most subscriptions should be valid, so that creating and notifying is exercised, not only refusing.
  if (rng.chance(0.6)) {
    settings.push(
      { param: 'NotifType', value: rng.pick(['ValueChange', 'ObjectCreation', 'ObjectDeletion', 'OperationComplete', 'Event']), required: true },
      { param: 'ReferenceList', value: modelPath(rng, { kind: rng.pick(['object', 'param', 'event', 'command'] as const) }), required: true },
      { param: 'Enable', value: 'true', required: false },
    );
  }
  return settings;
}

function controllerSettings(rng: Prng, target: FuzzTarget, bounds: FuzzBounds): Settings {
  const settings = settingsFor(rng, 'Device.LocalAgent.Controller.{i}.', target, bounds);
  settings.push({ param: 'EndpointID', value: rng.chance(0.8) ? addedControllerId(rng.int(ADDED_CONTROLLERS)) : paramValue(rng, undefined, target, bounds), required: rng.chance(0.5) });
  if (rng.chance(0.5)) settings.push({ param: 'Enable', value: 'true', required: false });
  return settings;
}

function mtpSettings(rng: Prng, target: FuzzTarget, bounds: FuzzBounds): Settings {
  return [
    ...settingsFor(rng, 'Device.LocalAgent.Controller.{i}.MTP.{i}.', target, bounds),
    { param: 'Protocol', value: 'MQTT', required: false },
    { param: 'MQTT.Topic', value: hostileTopic(rng, target), required: rng.chance(0.5) },
    { param: 'Enable', value: 'true', required: false },
  ];
}

/** One CreateObject of an Add, in the sandbox (or a table the agent must refuse to add to). */
function createObject(rng: Prng, target: FuzzTarget, bounds: FuzzBounds): usp.Add.CreateObject.$Properties {
  const n = sandboxInstance(rng);
  const kind = rng.weighted<string>([[6, 'subscription'], [3, 'controller'], [2, 'mtp'], [1, 'boot-parameter'], [1, 'role'], [1, 'permission'], [1, 'refused']]);
  switch (kind) {
    case 'subscription':
      return { objPath: 'Device.LocalAgent.Subscription.', paramSettings: subscriptionSettings(rng, target, bounds) };
    case 'controller':
      return { objPath: 'Device.LocalAgent.Controller.', paramSettings: controllerSettings(rng, target, bounds) };
    case 'mtp':
      return { objPath: `Device.LocalAgent.Controller.${n}.MTP.`, paramSettings: mtpSettings(rng, target, bounds) };
    case 'boot-parameter':
      return { objPath: `Device.LocalAgent.Controller.${n}.BootParameter.`, paramSettings: settingsFor(rng, 'Device.LocalAgent.Controller.{i}.BootParameter.{i}.', target, bounds) };
    case 'role':
      return { objPath: 'Device.LocalAgent.ControllerTrust.Role.', paramSettings: settingsFor(rng, 'Device.LocalAgent.ControllerTrust.Role.{i}.', target, bounds) };
    case 'permission':
      return { objPath: `Device.LocalAgent.ControllerTrust.Role.${n}.Permission.`, paramSettings: settingsFor(rng, 'Device.LocalAgent.ControllerTrust.Role.{i}.Permission.{i}.', target, bounds) };
    default:
      return {
        objPath: rng.pick(['Device.LocalAgent.Request.', 'Device.SoftwareModules.DeploymentUnit.', 'Device.DeviceInfo.', 'Device.LocalAgent.Subscription.1.', 'Device.LocalAgent.Subscription.*.', 'Device.LocalAgent.Subscription']),
        paramSettings: settingsFor(rng, 'Device.LocalAgent.Subscription.{i}.', target, bounds),
      };
  }
}

function sandboxRowPath(rng: Prng): string {
  const n = sandboxInstance(rng);
  const subscriptionRow = rng.chance(0.5) ? String(rng.between(1, 6)) : rng.chance(0.5) ? '*' : searchExpression(rng, ['ID', 'Enable', 'NotifType', 'Persistent', 'Recipient', 'ReferenceList']);
  return rng.weighted<string>([
    [5, `Device.LocalAgent.Subscription.${subscriptionRow}.`],
    [2, `Device.LocalAgent.Controller.${n}.`],
    [1, `Device.LocalAgent.Controller.${n}.MTP.${rng.pick(['1', '2', '*'])}.`],
    [1, `Device.LocalAgent.Controller.${n}.BootParameter.${rng.pick(['1', '*'])}.`],
    [1, `Device.LocalAgent.ControllerTrust.Role.${n}.`],
    [1, `Device.LocalAgent.ControllerTrust.Role.${n}.Permission.${rng.pick(['1', '*'])}.`],
    [1, `Device.LocalAgent.Request.${rng.pick(['1', '*'])}.`],
  ]);
}

/** The supported path of a sandbox row path, to find its parameters ('…Subscription.*.' → '…Subscription.{i}.'). */
function supportedPathOf(path: string): string {
  return path.replace(/\.(\d+|\*|\[[^\]]*\])\./g, '.{i}.').replace(/\.(\d+|\*|\[[^\]]*\])\./g, '.{i}.');
}

function setRequest(rng: Prng, target: FuzzTarget, bounds: FuzzBounds): usp.Set.$Properties {
  const many = rng.chance(0.03);
  const count = many ? Math.min(bounds.maxObjects, rng.pick([100, 1000, 20_000])) : rng.between(1, 3);
  const updateObjs: usp.Set.UpdateObject.$Properties[] = [];
  for (let i = 0; i < count; i++) {
    const objPath = rng.chance(0.1) ? rng.pick(['Device.LocalAgent.', 'Device.DeviceInfo.']) : sandboxRowPath(rng);
    const supported = supportedPathOf(objPath);
    const paramSettings = supported.includes('.MTP.') ? mtpSettings(rng, target, bounds) : supported.includes('Subscription') ? subscriptionSettings(rng, target, bounds) : settingsFor(rng, supported, target, bounds);
    updateObjs.push({ objPath, paramSettings });
  }
  return { allowPartial: rng.chance(0.5), updateObjs };
}

function addRequest(rng: Prng, target: FuzzTarget, bounds: FuzzBounds): usp.Add.$Properties {
  const many = rng.chance(0.03);
  const count = many ? Math.min(bounds.maxObjects, rng.pick([100, 1000, 20_000])) : rng.between(0, 3);
  // Many objects of one kind (say 20,000 Subscriptions) is the realistic flood; build one and repeat it.
  const first = createObject(rng, target, bounds);
  const createObjs = many ? Array.from({ length: count }, () => first) : [first, ...Array.from({ length: Math.max(0, count - 1) }, () => createObject(rng, target, bounds))];
  return { allowPartial: rng.chance(0.5), createObjs };
}

function deleteRequest(rng: Prng, bounds: FuzzBounds): usp.Delete.$Properties {
  const count = rng.chance(0.03) ? Math.min(bounds.maxPaths, rng.pick([100, 10_000])) : rng.between(0, 3);
  return { allowPartial: rng.chance(0.5), objPaths: Array.from({ length: count }, () => (rng.chance(0.9) ? sandboxRowPath(rng) : rng.pick(['Device.LocalAgent.Subscription.', 'Device.DeviceInfo.', '']))) };
}

function operateRequest(rng: Prng, bounds: FuzzBounds): usp.Operate.$Properties {
  const command = rng.weighted<string>([
    [4, 'Device.ScheduleTimer()'],
    [2, `Device.LocalAgent.Request.${rng.pick(['1', '2', '*'])}.Cancel()`],
    [1, `Device.LocalAgent.Controller.${sandboxInstance(rng)}.SendOnBoardRequest()`],
    [1, 'Device.SoftwareModules.InstallDU()'],
    [1, rng.pick(['Device.LocalAgent.Subscription.1.Nope()', 'Device.LocalAgent.Request.1.Nope()', 'Device.ScheduleTimer', 'Device.LocalAgent.Subscription.1.Boot!', 'Device.ScheduleTimer()()', 'Device.LocalAgent.Request.[Status=="Active"].Cancel()'])],
  ]);
  const inputArgs: Record<string, string> = {};
  if (command === 'Device.ScheduleTimer()' && rng.chance(0.8)) inputArgs['DelaySeconds'] = rng.pick(['0', '1', '2', '3600', '4294967295', '4294967296', '-1', 'soon']);
  if (command === 'Device.SoftwareModules.InstallDU()') {
    // Only loopback URLs: the fuzz must never make the agent reach the network.
    inputArgs['URL'] = rng.pick(['http://127.0.0.1:9/x.berth', 'ftp://127.0.0.1/x', 'http://user:pw@127.0.0.1/x', '']);
    if (rng.chance(0.5)) inputArgs['ExecutionEnvRef'] = rng.pick(['Device.SoftwareModules.ExecEnv.1', 'Device.SoftwareModules.ExecEnv.9', '']);
  }
  const extra = rng.chance(0.05) ? Math.min(bounds.maxParamSettings, rng.pick([100, 10_000])) : rng.int(2);
  for (let i = 0; i < extra; i++) inputArgs[rng.chance(0.5) ? `Arg${i}` : rng.pick(['DelaySeconds', '', 'URL', '\u0000'])] = rng.chance(0.9) ? `v${i}` : longString(rng, bounds);
  return { command, commandKey: rng.pick(['', 'fuzz', 'k'.repeat(300), String(rng.int(1000))]), sendResp: !rng.chance(0.1), inputArgs };
}

function getRequest(rng: Prng, bounds: FuzzBounds): usp.Get.$Properties {
  const shape = rng.weighted<string>([[8, 'few'], [1, 'device-repeated'], [1, 'many']]);
  let paramPaths: string[];
  if (shape === 'device-repeated') paramPaths = Array.from({ length: Math.min(bounds.maxPaths, rng.pick([2, 10, 100, 1000, 10_000])) }, () => 'Device.');
  else if (shape === 'many') paramPaths = Array.from({ length: Math.min(bounds.maxPaths, rng.pick([100, 1000, 10_000])) }, () => anyPath(rng));
  else paramPaths = Array.from({ length: rng.between(0, 4) }, () => anyPath(rng));
  return { paramPaths, maxDepth: rng.pick([0, 0, 1, 2, 3, 255, 4294967295]) };
}

function manyPaths(rng: Prng, bounds: FuzzBounds, placeholders: boolean): string[] {
  const count = rng.chance(0.05) ? Math.min(bounds.maxPaths, rng.pick([100, 1000, 10_000])) : rng.between(0, 3);
  return Array.from({ length: count }, () => (rng.chance(0.1) ? 'Device.' : anyPath(rng, { placeholders, kind: 'object' })));
}

/** A Request of any type the agent serves. */
export function request(rng: Prng, target: FuzzTarget, bounds: FuzzBounds): { request: usp.Request.$Properties; type: usp.Header.MsgType; name: string } {
  const kind = rng.weighted<string>([[6, 'get'], [2, 'getInstances'], [2, 'getSupportedDm'], [1, 'getSupportedProtocol'], [3, 'set'], [4, 'add'], [2, 'delete'], [2, 'operate']]);
  switch (kind) {
    case 'get':
      return { request: { get: getRequest(rng, bounds) }, type: MsgType.GET, name: 'Get' };
    case 'getInstances':
      return { request: { getInstances: { objPaths: manyPaths(rng, bounds, false), firstLevelOnly: rng.chance(0.5) } }, type: MsgType.GET_INSTANCES, name: 'GetInstances' };
    case 'getSupportedDm':
      return {
        request: { getSupportedDm: { objPaths: manyPaths(rng, bounds, true), firstLevelOnly: rng.chance(0.5), returnCommands: rng.chance(0.5), returnEvents: rng.chance(0.5), returnParams: rng.chance(0.5), returnUniqueKeySets: rng.chance(0.5) } },
        type: MsgType.GET_SUPPORTED_DM,
        name: 'GetSupportedDM',
      };
    case 'getSupportedProtocol':
      return {
        request: { getSupportedProtocol: { controllerSupportedProtocolVersions: rng.pick(['1.4', '1.0,1.1,1.2,1.3,1.4', '', '9.9', ',,,', longString(rng, bounds)]) } },
        type: MsgType.GET_SUPPORTED_PROTO,
        name: 'GetSupportedProtocol',
      };
    case 'set':
      return { request: { set: setRequest(rng, target, bounds) }, type: MsgType.SET, name: 'Set' };
    case 'add':
      return { request: { add: addRequest(rng, target, bounds) }, type: MsgType.ADD, name: 'Add' };
    case 'delete':
      return { request: { delete: deleteRequest(rng, bounds) }, type: MsgType.DELETE, name: 'Delete' };
    default:
      return { request: { operate: operateRequest(rng, bounds) }, type: MsgType.OPERATE, name: 'Operate' };
  }
}

/**
 * A whole Msg: a request (most of the time), or something a Controller should not send the agent (Notify,
 * Register, responses, an Error, an unknown message type, a missing header or body), or a NotifyResp.
 */
export function message(rng: Prng, target: FuzzTarget, bounds: FuzzBounds, id: string): { msg: usp.Msg.$Properties; name: string } {
  const kind = rng.weighted<string>([[20, 'request'], [2, 'notify-resp'], [1, 'notify'], [1, 'register'], [1, 'response'], [1, 'error'], [1, 'unknown-type'], [1, 'no-header'], [1, 'empty-body'], [1, 'empty-request']]);
  const header = (type: usp.Header.MsgType): usp.Header.$Properties => (rng.chance(0.9) ? { msgId: id, msgType: type } : headerWithRawType(id, rng.pick([0, 2, 99, 4294967295])));
  switch (kind) {
    case 'request': {
      const made = request(rng, target, bounds);
      return { msg: { header: header(made.type), body: { request: made.request } }, name: made.name };
    }
    case 'notify-resp':
      return { msg: { header: header(MsgType.NOTIFY_RESP), body: { response: { notifyResp: { subscriptionId: rng.pick(['', 'fuzz-1', '1']) } } } }, name: 'NotifyResp' };
    case 'notify':
      return {
        msg: { header: header(MsgType.NOTIFY), body: { request: { notify: { subscriptionId: 'x', sendResp: rng.chance(0.5), event: { objPath: 'Device.', eventName: 'Boot!', params: {} } } } } },
        name: 'Notify',
      };
    case 'register':
      return rng.chance(0.5)
        ? { msg: { header: header(MsgType.REGISTER), body: { request: { register: { allowPartial: true, regPaths: [{ path: anyPath(rng) }] } } } }, name: 'Register' }
        : { msg: { header: header(MsgType.DEREGISTER), body: { request: { deregister: { paths: [anyPath(rng)] } } } }, name: 'Deregister' };
    case 'response':
      return { msg: { header: header(MsgType.GET_RESP), body: { response: { getResp: { reqPathResults: [{ requestedPath: hostilePath(rng), errCode: 7003 }] } } } }, name: 'GetResp' };
    case 'error':
      return { msg: { header: header(MsgType.ERROR), body: { error: { errCode: rng.pick([0, 7000, 7003, 4294967295]), errMsg: 'fuzz' } } }, name: 'Error' };
    case 'unknown-type':
      return { msg: { header: headerWithRawType(id, rng.pick([23, 99, 4294967295])), body: { request: request(rng, target, bounds).request } }, name: 'unknown msg_type' };
    case 'no-header':
      return { msg: { body: { request: { get: { paramPaths: ['Device.LocalAgent.EndpointID'] } } } }, name: 'no header' };
    case 'empty-body':
      return { msg: { header: header(MsgType.GET), body: {} }, name: 'empty body' };
    default:
      return { msg: { header: header(MsgType.GET), body: { request: {} } }, name: 'empty request' };
  }
}
