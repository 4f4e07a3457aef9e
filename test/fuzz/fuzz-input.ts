// One fuzz input: what to publish (one or a few MQTT messages, each with how it is sent) and why. Each input is a
// pure function of (run seed, batch, record index), so a failure names three numbers that make it again, alone.
// Four generators: random bytes, mutated valid Records (protobuf level), semantic Records (valid encoding, hostile
// content and envelopes), and oversized Records.
import { usp, usp_record } from '../../src/usp/generated/usp.js';
import { encodeMsg, encodeRecord, buildNoSessionRecord, USP_VERSION } from '../../src/usp/codec.ts';
import { createPrng, mixSeed } from './prng.ts';
import type { Prng } from './prng.ts';
import { mutateProtobuf } from './protobuf-mutate.ts';
import { ADDED_CONTROLLERS, addedControllerId, message } from './usp-messages.ts';
import type { FuzzBounds, FuzzTarget } from './usp-messages.ts';
import { recordLeavesSandbox } from './write-guard.ts';

/**
 * How a message reaches the agent's topic: MQTT 5 with the fuzz Controller's Response Topic (what a configured
 * Controller does), without one, with the agent's own topic or a topic nobody reads as its reply-to, with a
 * content type other than usp.msg; or MQTT 3.1.1, bare or with a `/reply-to=` suffix.
 */
export const CHANNELS = ['v5-reply', 'v5-no-reply', 'v5-self-reply', 'v5-void-reply', 'v5-bad-content-type', 'v4', 'v4-reply-suffix'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface FuzzPublish {
  readonly channel: Channel;
  readonly bytes: Uint8Array;
}

export type GeneratorName = 'random-bytes' | 'mutated' | 'semantic' | 'oversized';

export interface FuzzInput {
  readonly batch: number;
  readonly index: number;
  readonly generator: GeneratorName;
  /** A short account of what the input is (for reports). */
  readonly description: string;
  readonly publishes: readonly FuzzPublish[];
  /** Set when the input was not sent: why it would have made the agent write outside the sandbox. */
  readonly skipped?: string;
}

export interface InputSettings {
  readonly target: FuzzTarget;
  readonly bounds: FuzzBounds;
  /** The agent's largest accepted MQTT message (its mqtt.maxMessageBytes). */
  readonly agentMaxMessageBytes: number;
  /** The broker's largest packet: nothing larger is generated (the broker, not the agent, would refuse it). */
  readonly brokerMaxPacketBytes: number;
  /** Longest random byte string. */
  readonly maxRandomBytes: number;
  /** Relative weights of the four generators. */
  readonly weights?: Readonly<Partial<Record<GeneratorName, number>>>;
}

const MsgType = usp.Header.MsgType;
const DEFAULT_WEIGHTS: Readonly<Record<GeneratorName, number>> = { 'random-bytes': 15, mutated: 37, semantic: 44, oversized: 4 };

function freshMsgId(batch: number, index: number): string {
  return `fz-${batch}-${index}`;
}

function channel(rng: Prng): Channel {
  return rng.weighted<Channel>([[70, 'v5-reply'], [8, 'v5-no-reply'], [3, 'v5-self-reply'], [3, 'v5-void-reply'], [2, 'v5-bad-content-type'], [8, 'v4'], [6, 'v4-reply-suffix']]);
}

/** The Record around a Msg: mostly the fuzz Controller's, sometimes an envelope the agent must refuse or ignore. */
function envelope(rng: Prng, target: FuzzTarget, payload: Uint8Array): { record: usp_record.Record.$Properties; name: string } {
  const base = buildNoSessionRecord({ toId: target.agentId, fromId: target.controllerId, msg: payload });
  const kind = rng.weighted<string>([
    [30, 'controller'], [3, 'added-controller'], [2, 'probe-controller'], [2, 'wrong-to'], [2, 'unknown-from'], [2, 'own-from'],
    [2, 'session-context'], [1, 'connect-record'], [1, 'empty-payload'], [1, 'no-record-type'], [1, 'payload-security'], [1, 'version'],
  ]);
  switch (kind) {
    case 'controller':
      return { record: base, name: 'from the fuzz Controller' };
    case 'added-controller': {
      const id = addedControllerId(rng.int(ADDED_CONTROLLERS));
      return { record: { ...base, fromId: id }, name: `from ${id}` };
    }
    case 'probe-controller':
      return { record: { ...base, fromId: target.probeControllerId }, name: 'from the probe Controller' };
    case 'wrong-to':
      return { record: { ...base, toId: rng.pick(['', 'os::other', target.agentId.toLowerCase(), `${target.agentId} `, target.controllerId]) }, name: 'wrong to_id' };
    case 'unknown-from':
      return { record: { ...base, fromId: rng.pick(['proto::stranger', '', 'x'.repeat(1000), '\u0000']) }, name: 'from an unknown Endpoint' };
    case 'own-from':
      return { record: { ...base, fromId: target.agentId }, name: "from the agent's own Endpoint ID" };
    case 'session-context':
      return {
        record: {
          version: USP_VERSION,
          toId: target.agentId,
          fromId: rng.chance(0.7) ? target.controllerId : 'proto::stranger',
          sessionContext: { sessionId: rng.pick([0, 1, 2 ** 53 - 1]), sequenceId: rng.int(5), expectedId: rng.int(5), payload: rng.chance(0.8) ? [payload] : [] },
        },
        name: 'session context',
      };
    case 'connect-record':
      return {
        record: rng.pick<usp_record.Record.$Properties>([
          { version: USP_VERSION, toId: target.agentId, fromId: target.controllerId, mqttConnect: { version: usp_record.MQTTConnectRecord.MQTTVersion.V5, subscribedTopic: 'usp/controller/fuzz' } },
          { version: USP_VERSION, toId: target.agentId, fromId: target.controllerId, websocketConnect: {} },
          { version: USP_VERSION, toId: target.agentId, fromId: target.controllerId, disconnect: { reason: 'fuzz', reasonCode: 7106 } },
          { version: USP_VERSION, toId: target.agentId, fromId: target.controllerId, stompConnect: { version: usp_record.STOMPConnectRecord.STOMPVersion.V1_2, subscribedDestination: '/x' } },
          { version: USP_VERSION, toId: target.agentId, fromId: target.controllerId, udsConnect: {} },
        ]),
        name: 'connect/disconnect Record',
      };
    case 'empty-payload':
      return { record: { ...base, noSessionContext: { payload: new Uint8Array(0) } }, name: 'empty payload' };
    case 'no-record-type':
      return { record: { version: USP_VERSION, toId: target.agentId, fromId: target.controllerId }, name: 'no record_type' };
    case 'payload-security':
      return { record: { ...base, payloadSecurity: usp_record.Record.PayloadSecurity.TLS12, macSignature: rng.bytes(32), senderCert: rng.bytes(rng.int(2000)) }, name: 'TLS12 payload security' };
    default:
      return { record: { ...base, version: rng.pick(['', '0.9', '1.3', '99.99', 'x'.repeat(1000)]) }, name: 'odd version' };
  }
}

/** A lower bound of a message's encoded size (string lengths and bytes), cheap even when many objects share one value. */
export function estimatedBytes(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + estimatedBytes(item), 0);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce((sum: number, item) => sum + estimatedBytes(item), 0);
  return 1;
}

/** A valid Record carrying a semantic Msg (also the seed of the mutated generator). */
function semanticRecord(rng: Prng, settings: InputSettings, batch: number, index: number): { bytes: Uint8Array; name: string } {
  const id = freshMsgId(batch, index);
  const previous = index > 0 ? freshMsgId(batch, index - 1) : undefined;
  const msgIdRoll = rng.weighted<string>([[20, id], [1, ''], [1, previous ?? id], [1, '\u0000'], [1, 'm'.repeat(rng.pick([256, 65_536]))]]);
  // A message whose strings add up past the broker's limit is made again (a few tries, then a plain Get): encoding
  // 20,000 objects that share one 4 MB value would take the fuzzer's own memory, not the agent's.
  let made = message(rng, settings.target, settings.bounds, msgIdRoll);
  for (let tries = 0; estimatedBytes(made.msg) > settings.brokerMaxPacketBytes; tries++) {
    made = tries < 4 ? message(rng, settings.target, settings.bounds, msgIdRoll) : { msg: { header: { msgId: msgIdRoll, msgType: MsgType.GET }, body: { request: { get: { paramPaths: ['Device.'] } } } }, name: 'Get' };
  }
  const wrapped = envelope(rng, settings.target, encodeMsg(made.msg));
  return { bytes: encodeRecord(wrapped.record), name: `${made.name} ${wrapped.name}${msgIdRoll === id ? '' : ' (odd msg_id)'}` };
}

/** A Get Record padded to exactly `size` bytes with one long path. */
function recordOfSize(target: FuzzTarget, size: number, msgId: string): Uint8Array {
  const build = (pathLength: number): Uint8Array =>
    encodeRecord(buildNoSessionRecord({
      toId: target.agentId,
      fromId: target.controllerId,
      msg: encodeMsg({ header: { msgId, msgType: MsgType.GET }, body: { request: { get: { paramPaths: [`Device.${'A'.repeat(Math.max(0, pathLength))}.`] } } } }),
    }));
  // Length prefixes grow by a few bytes with the path: one correction settles it.
  const first = Math.max(0, size - build(0).length);
  const tried = build(first);
  return tried.length === size ? tried : build(first + size - tried.length);
}

function oversized(rng: Prng, settings: InputSettings, batch: number, index: number): { bytes: Uint8Array; name: string } {
  const { target } = settings;
  const id = freshMsgId(batch, index);
  // Bounds at their maximum: the oversized generator goes as far as it is allowed to.
  const big: FuzzBounds = settings.bounds;
  const kind = rng.weighted<string>([[3, 'near-agent-limit'], [2, 'long-path'], [2, 'device-repeated'], [2, 'many-objects'], [2, 'many-settings'], [2, 'long-values']]);
  const wrap = (msg: usp.Msg.$Properties): Uint8Array => encodeRecord(buildNoSessionRecord({ toId: target.agentId, fromId: target.controllerId, msg: encodeMsg(msg) }));
  switch (kind) {
    case 'near-agent-limit': {
      const limit = settings.agentMaxMessageBytes;
      const size = Math.min(settings.brokerMaxPacketBytes - 4096, limit + rng.pick([-1024, -1, 0, 1, 1024, 2 ** 20]));
      return { bytes: recordOfSize(target, size, id), name: `Get Record of ${size} bytes (agent limit ${limit})` };
    }
    case 'long-path': {
      const length = Math.min(big.maxStringBytes, rng.pick([65_536, 65_537, 1_000_000]));
      return { bytes: wrap({ header: { msgId: id, msgType: MsgType.GET }, body: { request: { get: { paramPaths: [`Device.${'LocalAgent.'.repeat(Math.floor(length / 11))}`] } } } }), name: `Get of a ${length}-character path` };
    }
    case 'device-repeated': {
      const count = big.maxPaths;
      return { bytes: wrap({ header: { msgId: id, msgType: MsgType.GET }, body: { request: { get: { paramPaths: Array.from({ length: count }, () => 'Device.') } } } }), name: `Get of Device. ×${count}` };
    }
    case 'many-objects': {
      const add = {
        allowPartial: rng.chance(0.5),
        createObjs: Array.from({ length: big.maxObjects }, () => ({
          objPath: 'Device.LocalAgent.Subscription.',
          paramSettings: [
            { param: 'NotifType', value: 'ValueChange', required: true },
            { param: 'ReferenceList', value: 'Device.LocalAgent.Controller.', required: true },
            { param: 'Persistent', value: rng.chance(0.5) ? 'true' : 'false', required: false },
            { param: 'Enable', value: 'true', required: false },
          ],
        })),
      };
      return { bytes: wrap({ header: { msgId: id, msgType: MsgType.ADD }, body: { request: { add } } }), name: `Add of ${big.maxObjects} Subscriptions` };
    }
    case 'many-settings': {
      const count = big.maxParamSettings;
      const paramSettings = Array.from({ length: count }, (_, i) => ({ param: rng.chance(0.5) ? 'ID' : `P${i}`, value: `v${i}`, required: false }));
      return {
        bytes: wrap({ header: { msgId: id, msgType: MsgType.SET }, body: { request: { set: { allowPartial: true, updateObjs: [{ objPath: 'Device.LocalAgent.Subscription.*.', paramSettings }] } } } }),
        name: `Set of ${count} parameter settings`,
      };
    }
    default: {
      const length = Math.min(big.maxStringBytes, rng.pick([65_536, 1_000_000, 4_000_000]));
      const value = 'v'.repeat(length);
      return {
        bytes: wrap({
          header: { msgId: id, msgType: MsgType.ADD },
          body: { request: { add: { allowPartial: rng.chance(0.5), createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: rng.pick(['ID', 'ReferenceList', 'Nope']), value, required: rng.chance(0.5) }] }] } } },
        }),
        name: `Add with a ${length}-byte value`,
      };
    }
  }
}

/** The input for record `index` of batch `batch` of the run seeded `seed`. */
export function generateInput(seed: number, batch: number, index: number, settings: InputSettings): FuzzInput {
  const rng = createPrng(mixSeed(seed, batch, index));
  const weights = { ...DEFAULT_WEIGHTS, ...settings.weights };
  const generator = rng.weighted<GeneratorName>((Object.keys(DEFAULT_WEIGHTS) as GeneratorName[]).map((name) => [weights[name], name] as const));
  let bytes: Uint8Array;
  let description: string;
  switch (generator) {
    case 'random-bytes': {
      const length = rng.chance(0.02) ? rng.between(65_536, settings.maxRandomBytes) : rng.length(Math.min(4096, settings.maxRandomBytes));
      bytes = rng.bytes(length);
      description = `${length} random bytes`;
      break;
    }
    case 'mutated': {
      const valid = semanticRecord(rng, settings, batch, index);
      const mutated = mutateProtobuf(valid.bytes, rng);
      bytes = mutated.bytes;
      description = `${valid.name}, mutated: ${mutated.mutations.join('; ')}`;
      break;
    }
    case 'semantic': {
      const made = semanticRecord(rng, settings, batch, index);
      bytes = made.bytes;
      description = made.name;
      break;
    }
    case 'oversized': {
      const made = oversized(rng, settings, batch, index);
      bytes = made.bytes;
      description = made.name;
    }
  }
  if (bytes.length > settings.brokerMaxPacketBytes - 4096) {
    description += ` (cut from ${bytes.length} bytes to the broker's limit)`;
    bytes = bytes.subarray(0, settings.brokerMaxPacketBytes - 4096);
  }
  const how = channel(rng);
  // A duplicate: the same Record again at once (same msg_id while the first may still be in progress, R-MSG.4).
  const copies = generator !== 'oversized' && rng.chance(0.04) ? rng.between(2, 4) : 1;
  const publishes = Array.from({ length: copies }, () => ({ channel: how, bytes }));
  const skipped = recordLeavesSandbox(bytes, settings.target.agentId);
  return {
    batch,
    index,
    generator,
    description: `${description}${copies > 1 ? `, sent ×${copies}` : ''} [${how}]`,
    publishes,
    ...(skipped !== undefined && { skipped }),
  };
}
