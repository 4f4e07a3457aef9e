// TR-106 value types: checking and normalizing the string forms USP carries, and the typed comparison of
// search expressions (TR-369 §Searching with Expressions). Pure.
import { ErrorCode, UspError } from './errors.ts';
import type { SearchOp } from './path.ts';

export type ParamType = 'string' | 'boolean' | 'unsignedInt' | 'int' | 'unsignedLong' | 'long' | 'decimal' | 'dateTime' | 'base64' | 'hexBinary';

export interface ValueSpec {
  readonly type: ParamType;
  readonly list?: boolean;
  readonly enumValues?: readonly string[];
  readonly range?: { readonly min?: number | bigint; readonly max?: number | bigint };
  readonly maxLength?: number;
  readonly minLength?: number;
}

export const UNKNOWN_TIME = '0001-01-01T00:00:00Z';
export const INFINITE_TIME = '9999-12-31T23:59:59Z';

const INTEGER_LIMITS: Readonly<Record<'unsignedInt' | 'int' | 'unsignedLong' | 'long', readonly [bigint, bigint]>> = {
  unsignedInt: [0n, 4294967295n],
  int: [-2147483648n, 2147483647n],
  unsignedLong: [0n, 18446744073709551615n],
  long: [-9223372036854775808n, 9223372036854775807n],
};

const INTEGER = /^[+-]?[0-9]+$/;
const DECIMAL = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;
const HEX = /^([0-9A-Fa-f]{2})*$/;
const BASE64 = /^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// TR-106 dateTime: ISO 8601 date and time, optional fraction, 'Z' or an offset (or none: local time, accepted).
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

export function toDateTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function invalidType(spec: ValueSpec, text: string): UspError {
  return new UspError(ErrorCode.InvalidType, `"${text.length > 64 ? `${text.slice(0, 64)}…` : text}" is not a valid ${spec.list ? `list of ${spec.type}` : spec.type}`);
}

/** Canonical form of one (non-list) value, or throws 7011 (not of the type) / 7012 (out of range or enum). */
function canonicalItem(spec: ValueSpec, text: string): string {
  switch (spec.type) {
    case 'string': {
      if (spec.enumValues && !spec.enumValues.includes(text)) {
        throw new UspError(ErrorCode.InvalidValue, `"${text}" is not one of: ${spec.enumValues.join(', ')}`);
      }
      return text;
    }
    case 'boolean':
      if (text === 'true' || text === '1') return 'true';
      if (text === 'false' || text === '0') return 'false';
      throw invalidType(spec, text);
    case 'unsignedInt':
    case 'int':
    case 'unsignedLong':
    case 'long': {
      if (!INTEGER.test(text) || text.length > 40) throw invalidType(spec, text);
      const value = BigInt(text);
      const [low, high] = INTEGER_LIMITS[spec.type];
      if (value < low || value > high) throw invalidType(spec, text);
      const min = spec.range?.min;
      const max = spec.range?.max;
      if ((min !== undefined && value < BigInt(min)) || (max !== undefined && value > BigInt(max))) {
        throw new UspError(ErrorCode.InvalidValue, `${text} is outside the allowed range ${min ?? ''}..${max ?? ''}`);
      }
      return value.toString();
    }
    case 'decimal': {
      if (!DECIMAL.test(text)) throw invalidType(spec, text);
      const value = Number(text);
      const min = spec.range?.min;
      const max = spec.range?.max;
      if ((min !== undefined && value < Number(min)) || (max !== undefined && value > Number(max))) {
        throw new UspError(ErrorCode.InvalidValue, `${text} is outside the allowed range ${min ?? ''}..${max ?? ''}`);
      }
      return text.startsWith('+') ? text.slice(1) : text;
    }
    case 'dateTime': {
      const match = DATE_TIME.exec(text);
      if (!match) throw invalidType(spec, text);
      if (text === UNKNOWN_TIME || text === INFINITE_TIME) return text;
      const [, , month, day, hour, minute, second] = match.map(Number);
      if (month! < 1 || month! > 12 || day! < 1 || day! > 31 || hour! > 23 || minute! > 59 || second! > 60 || Number.isNaN(Date.parse(text))) {
        throw invalidType(spec, text);
      }
      return text;
    }
    case 'base64':
      if (!BASE64.test(text)) throw invalidType(spec, text);
      return text;
    case 'hexBinary':
      if (!HEX.test(text)) throw invalidType(spec, text);
      return text;
  }
}

function checkLength(spec: ValueSpec, text: string): void {
  if (spec.maxLength !== undefined && text.length > spec.maxLength) {
    throw new UspError(ErrorCode.InvalidValue, `value is ${text.length} characters long; at most ${spec.maxLength} are allowed`);
  }
  if (spec.minLength !== undefined && text.length < spec.minLength) {
    throw new UspError(ErrorCode.InvalidValue, `value is ${text.length} characters long; at least ${spec.minLength} are needed`);
  }
}

/**
 * Validates a value for a parameter and returns its canonical form (booleans 'true'/'false', integers without
 * sign or leading zeros). Lists are comma-separated; each item is checked; "" is the empty list.
 * Throws UspError 7011 (cannot be converted to the type) or 7012 (range, enumeration, length).
 */
export function canonicalValue(spec: ValueSpec, text: string): string {
  if (!spec.list) {
    checkLength(spec, text);
    return canonicalItem(spec, text);
  }
  if (text.trim() === '') return '';
  const items = text.split(',').map((item) => canonicalItem(spec, item.trim()));
  const joined = items.join(',');
  checkLength({ ...spec, ...(spec.maxLength !== undefined && { maxLength: Math.max(spec.maxLength, spec.maxLength * items.length) }) }, joined);
  return joined;
}

function isNumeric(type: ParamType): boolean {
  return type === 'unsignedInt' || type === 'int' || type === 'unsignedLong' || type === 'long' || type === 'decimal';
}

function compareNumbers(type: ParamType, a: string, b: string): number {
  if (type === 'decimal') return Math.sign(Number(a) - Number(b));
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function invalidTerm(message: string): UspError {
  return new UspError(ErrorCode.InvalidPathSyntax, `search expression: ${message}`);
}

/** Parses the constant of a search term for a parameter of `spec`'s (element) type; throws 7008 if it does not fit. */
function termConstant(spec: ValueSpec, constant: string, quoted: boolean): string {
  const item = { type: spec.type } as const;
  if (spec.type === 'string' || spec.type === 'base64' || spec.type === 'hexBinary' || spec.type === 'dateTime') {
    if (!quoted) throw invalidTerm(`a ${spec.type} value must be given in double quotes, not ${constant}`);
    if (spec.type === 'string') return constant;
  } else if (quoted) {
    throw invalidTerm(`a ${spec.type} value is written without quotes, not "${constant}"`);
  }
  try {
    return canonicalItem(item, constant);
  } catch {
    throw invalidTerm(`"${constant}" is not a valid ${spec.type}`);
  }
}

/**
 * Evaluates one search term against a parameter's current value (TR-369 typed comparison): string, boolean,
 * base64, hexBinary and the Unknown Time only compare with == and !=; numbers compare numerically and
 * dateTimes chronologically; ~= (contains) is for list parameters only. Throws 7008 for an operator or
 * constant that does not fit the type.
 */
export function matchesTerm(spec: ValueSpec, actual: string, op: SearchOp, constant: string, quoted: boolean): boolean {
  if (op === '~=') {
    if (!spec.list) throw invalidTerm(`~= works on list parameters only`);
    const wanted = termConstant(spec, constant, quoted);
    return actual.split(',').some((item) => item.trim() === wanted);
  }
  if (spec.list) {
    if (op !== '==' && op !== '!=') throw invalidTerm(`a list parameter is compared with ==, != or ~= only`);
    if (!quoted) throw invalidTerm('a list value must be given in double quotes');
    return (actual === constant) === (op === '==');
  }
  const wanted = termConstant(spec, constant, quoted);
  const ordered = isNumeric(spec.type) || (spec.type === 'dateTime' && wanted !== UNKNOWN_TIME);
  if (!ordered && op !== '==' && op !== '!=') throw invalidTerm(`${op} does not apply to ${spec.type} values`);
  let comparison: number;
  if (isNumeric(spec.type)) {
    if (!(spec.type === 'decimal' ? DECIMAL : INTEGER).test(actual)) return false;
    comparison = compareNumbers(spec.type, actual, wanted);
  } else if (spec.type === 'dateTime') {
    comparison = Math.sign(Date.parse(actual) - Date.parse(wanted));
    if (Number.isNaN(comparison)) comparison = actual === wanted ? 0 : 1;
  } else {
    comparison = actual === wanted ? 0 : 1;
  }
  switch (op) {
    case '==':
      return comparison === 0;
    case '!=':
      return comparison !== 0;
    case '<':
      return comparison < 0;
    case '>':
      return comparison > 0;
    case '<=':
      return comparison <= 0;
    case '>=':
      return comparison >= 0;
  }
}
