// Mutations of protobuf bytes at the wire level: the mistakes a broken or hostile encoder makes (flipped and
// missing bytes, lying lengths, wrong field numbers and wire types, duplicated or truncated fields, over-long
// varints), applied at any depth: a length-delimited field whose content parses as fields (a nested message, e.g.
// Record → NoSessionContextRecord → Msg → Body → Request → Get) is mutated inside and its length fixed, so that
// most mutations reach the Msg instead of breaking the Record's envelope. Pure: bytes and a Prng in, bytes out.
import type { Prng } from './prng.ts';

/** One field of a message as it lies on the wire. */
export interface WireField {
  readonly fieldNumber: number;
  readonly wireType: number;
  /** Where the tag starts, where the value starts (after the tag and, for length-delimited fields, the length), where the field ends. */
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
}

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

export function encodeVarint(value: number): Uint8Array {
  const out: number[] = [];
  let rest = Math.max(0, Math.floor(value));
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(byte);
  } while (rest > 0);
  return Uint8Array.from(out);
}

/** The fields of a message, or undefined when the bytes are not a well-formed sequence of fields. */
export function parseWireFields(bytes: Uint8Array): WireField[] | undefined {
  const fields: WireField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (!tag || tag.value < 8) return undefined;
    const fieldNumber = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    let valueStart = tag.next;
    let end: number;
    switch (wireType) {
      case 0: {
        const v = readVarint(bytes, valueStart);
        if (!v) return undefined;
        end = v.next;
        break;
      }
      case 1:
        end = valueStart + 8;
        break;
      case 2: {
        const len = readVarint(bytes, valueStart);
        if (!len) return undefined;
        valueStart = len.next;
        end = valueStart + len.value;
        break;
      }
      case 5:
        end = valueStart + 4;
        break;
      default:
        return undefined;
    }
    if (end > bytes.length) return undefined;
    fields.push({ fieldNumber, wireType, start: at, valueStart, end });
    at = end;
  }
  return fields;
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function tagBytes(fieldNumber: number, wireType: number): Uint8Array {
  return encodeVarint(fieldNumber * 8 + wireType);
}

/** Text that path parsers, search expressions and number parsers trip over. */
const HOSTILE_FRAGMENTS = [
  '.', '..', '*', '*.', '{i}', '[', ']', '[[', '==', '!=', '~=', '&&', '"', '\\', '+', '#', '#*+', '()', '!', '%', '%00',
  '\u0000', '\uffff', '\u202e', 'Device.', '-1', '0', '4294967296', '18446744073709551616', '1e309', 'NaN', 'true', ' ',
];

function mutateRaw(bytes: Uint8Array, rng: Prng): { bytes: Uint8Array; how: string } {
  const at = rng.int(bytes.length + 1);
  const op = rng.int(bytes.length === 0 ? 2 : 7);
  switch (op) {
    case 0: {
      const inserted = rng.chance(0.5) ? new TextEncoder().encode(rng.pick(HOSTILE_FRAGMENTS)) : rng.bytes(rng.between(1, 16));
      return { bytes: concat(bytes.subarray(0, at), inserted, bytes.subarray(at)), how: `insert ${inserted.length} bytes at ${at}` };
    }
    case 1: {
      const run = new Uint8Array(rng.pick([64, 255, 256, 4096, 65_536])).fill(rng.pick([0x2e, 0x2a, 0x41, 0x00, 0xff, 0x5b]));
      return { bytes: concat(bytes.subarray(0, at), run, bytes.subarray(at)), how: `insert a run of ${run.length} at ${at}` };
    }
    case 2: {
      const out = Uint8Array.from(bytes);
      const i = rng.int(out.length);
      out[i] = out[i]! ^ (1 << rng.int(8));
      return { bytes: out, how: `flip a bit at ${i}` };
    }
    case 3: {
      const out = Uint8Array.from(bytes);
      const i = rng.int(out.length);
      out[i] = rng.pick([0x00, 0x7f, 0x80, 0xff, rng.int(256)]);
      return { bytes: out, how: `set byte ${i}` };
    }
    case 4: {
      const i = rng.int(bytes.length);
      const n = rng.between(1, Math.max(1, Math.min(16, bytes.length - i)));
      return { bytes: concat(bytes.subarray(0, i), bytes.subarray(i + n)), how: `delete ${n} bytes at ${i}` };
    }
    case 5:
      return { bytes: bytes.subarray(0, rng.int(bytes.length)), how: 'truncate' };
    default: {
      const times = capRepeats(rng.pick([2, 3, 100, 1000]), bytes.length);
      const out = new Uint8Array(bytes.length * times);
      for (let i = 0; i < times; i++) out.set(bytes, i * bytes.length);
      return { bytes: out, how: `repeat the content ${times} times` };
    }
  }
}

/** Repeats stay under 1 MiB: size is the oversized generators' job, a mutation should stay cheap to send. */
const MAX_REPEATED_BYTES = 1024 * 1024;

function capRepeats(times: number, length: number): number {
  return Math.max(1, Math.min(times, Math.floor(MAX_REPEATED_BYTES / Math.max(1, length))));
}

function replaceField(bytes: Uint8Array, field: WireField, replacement: Uint8Array): Uint8Array {
  return concat(bytes.subarray(0, field.start), replacement, bytes.subarray(field.end));
}

function mutateField(bytes: Uint8Array, fields: readonly WireField[], rng: Prng, depth: number): { bytes: Uint8Array; how: string } {
  const field = rng.pick(fields);
  const value = bytes.subarray(field.valueStart, field.end);
  const op = rng.weighted<string>([
    [field.wireType === 2 ? 6 : 0, 'nested'],
    [1, 'duplicate'],
    [1, 'drop'],
    [1, 'renumber'],
    [1, 'wire-type'],
    [field.wireType === 2 ? 1 : 0, 'lying-length'],
    [1, 'overlong-tag'],
    [fields.length > 1 ? 1 : 0, 'swap'],
    [field.wireType === 0 ? 1 : 0, 'extreme-varint'],
  ]);
  const name = `field ${field.fieldNumber}`;
  switch (op) {
    case 'nested': {
      const inner = parseWireFields(value);
      const mutated = inner && inner.length > 0 && depth < 8 && rng.chance(0.8) ? mutateField(value, inner, rng, depth + 1) : mutateRaw(value, rng);
      const rebuilt = concat(tagBytes(field.fieldNumber, 2), encodeVarint(mutated.bytes.length), mutated.bytes);
      return { bytes: replaceField(bytes, field, rebuilt), how: `${name} > ${mutated.how}` };
    }
    case 'duplicate': {
      const copy = bytes.subarray(field.start, field.end);
      const times = capRepeats(rng.pick([1, 1, 2, 50]), copy.length);
      const copies = concat(...Array.from({ length: times }, () => copy));
      const target = rng.pick(fields);
      return { bytes: concat(bytes.subarray(0, target.end), copies, bytes.subarray(target.end)), how: `${name} duplicated ×${times}` };
    }
    case 'drop':
      return { bytes: replaceField(bytes, field, new Uint8Array(0)), how: `${name} dropped` };
    case 'renumber': {
      const number = rng.pick([0, 1, 2, 3, 8, 15, 16, 19, 100, 536_870_911, field.fieldNumber + 1, rng.between(1, 30)]);
      const rebuilt = concat(tagBytes(number, field.wireType), bytes.subarray(field.start + tagBytes(field.fieldNumber, field.wireType).length, field.end));
      return { bytes: replaceField(bytes, field, rebuilt), how: `${name} renumbered ${number}` };
    }
    case 'wire-type': {
      const wireType = rng.pick([0, 1, 2, 3, 4, 5, 6, 7].filter((t) => t !== field.wireType));
      const rebuilt = concat(tagBytes(field.fieldNumber, wireType), bytes.subarray(field.start + tagBytes(field.fieldNumber, field.wireType).length, field.end));
      return { bytes: replaceField(bytes, field, rebuilt), how: `${name} wire type ${field.wireType}→${wireType}` };
    }
    case 'lying-length': {
      const claimed = rng.pick([0, value.length + 1, value.length + 1000, Math.max(0, value.length - 1), 2 ** 31 - 1, 2 ** 32 + 5]);
      const rebuilt = concat(tagBytes(field.fieldNumber, 2), encodeVarint(claimed), value);
      return { bytes: replaceField(bytes, field, rebuilt), how: `${name} length says ${claimed}, is ${value.length}` };
    }
    case 'overlong-tag': {
      // The same tag spelled with redundant continuation bytes (valid for lenient decoders, odd for strict ones).
      const tag = tagBytes(field.fieldNumber, field.wireType);
      const padded = concat(Uint8Array.from(tag.subarray(0, tag.length - 1)), Uint8Array.of(tag[tag.length - 1]! | 0x80, 0x80, 0x80, 0x00));
      return { bytes: replaceField(bytes, field, concat(padded, bytes.subarray(field.start + tag.length, field.end))), how: `${name} over-long tag` };
    }
    case 'swap': {
      const other = rng.pick(fields.filter((f) => f !== field));
      const [first, second] = field.start < other.start ? [field, other] : [other, field];
      return {
        bytes: concat(bytes.subarray(0, first.start), bytes.subarray(second.start, second.end), bytes.subarray(first.end, second.start), bytes.subarray(first.start, first.end), bytes.subarray(second.end)),
        how: `fields ${first.fieldNumber} and ${second.fieldNumber} swapped`,
      };
    }
    default: {
      const extreme = rng.pick([
        Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f),
        Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
        Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
        Uint8Array.of(0x00),
      ]);
      return { bytes: replaceField(bytes, field, concat(tagBytes(field.fieldNumber, 0), extreme)), how: `${name} varint ${extreme.length} bytes` };
    }
  }
}

/** Applies 1–`maxMutations` mutations; returns the bytes and a short account of each (for the failure report). */
export function mutateProtobuf(bytes: Uint8Array, rng: Prng, maxMutations = 3): { bytes: Uint8Array; mutations: string[] } {
  let current = bytes;
  const mutations: string[] = [];
  const count = rng.between(1, maxMutations);
  for (let i = 0; i < count; i++) {
    const fields = parseWireFields(current);
    const step = fields && fields.length > 0 && rng.chance(0.85) ? mutateField(current, fields, rng, 0) : mutateRaw(current, rng);
    current = step.bytes;
    mutations.push(step.how);
  }
  return { bytes: current, mutations };
}
