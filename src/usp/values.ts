// TR-106 value types (TR-106 §3.2, DM Schema built-in types, reference §1.5): checking and normalizing the string
// forms USP carries, and the typed comparison of search expressions (TR-369 §Searching with Expressions). Pure;
// hand-written lexers (no regular expressions on input).
//
// Decisions where the standards are loose (each is covered by test/unit/usp/values.test.ts):
// * Integers follow the XML Schema lexical space: optional sign, leading zeros allowed ('+0123' is 123, '-0' is
//   a valid unsignedInt 0). Outside the type's own bounds (e.g. 4294967296 for unsignedInt) is 7011 (not a value
//   of the type); outside the parameter's declared range is 7012.
// * decimal: [+-]?(digits[.digits*] | .digits); canonical form without '+', leading zeros or trailing fraction
//   zeros ('+01.50' → '1.5', '-0.0' → '0').
// * dateTime: YYYY-MM-DDThh:mm:ss[.fraction] with 'Z' or ±hh:mm (up to ±14:00), real calendar dates, no leap
//   second, no 24:00. TR-106 §3.2.1: an untimezoned value is relative time since boot and only valid with a year
//   below 1000 ('0001-01-03T03:04:05'), so '2024-01-01T00:00:00' is 7011. Offsets other than ±00:00 are accepted
//   (TR-106 allows them where a parameter says so, and ValueSpec does not say). Kept exactly as given.
// * base64: RFC 4648 alphabet, length a multiple of 4, '=' padding only at the end, no whitespace. hexBinary: an
//   even number of hex digits, either case. Both are kept as given; their min/maxLength count decoded bytes
//   (DM Schema: "Length is that of the actual string, not the base64-encoded string").
// * Lists (TR-106 §3.2.2): items separated by one comma with optional whitespace around it; "" (or only
//   whitespace) is the empty list; the canonical form joins the canonical items with ','. enumValues and
//   min/maxLength apply to each item (the data model declares them per item, e.g. list<string(:256)>).
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

type IntegerType = 'unsignedInt' | 'int' | 'unsignedLong' | 'long';
const INTEGER_LIMITS: Readonly<Record<IntegerType, readonly [bigint, bigint]>> = {
  unsignedInt: [0n, 4294967295n],
  int: [-2147483648n, 2147483647n],
  unsignedLong: [0n, 18446744073709551615n],
  long: [-9223372036854775808n, 9223372036854775807n],
};

function isIntegerType(type: ParamType): type is IntegerType {
  return type === 'unsignedInt' || type === 'int' || type === 'unsignedLong' || type === 'long';
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function isBase64Char(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || isDigit(c) || c === 43 || c === 47; // A-Z a-z 0-9 + /
}
function isListSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Shortens a value for an error message. */
function show(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

// ---------------------------------------------------------------------------------------------------------------
// Lexers. Each returns undefined when the text is not in the type's lexical space.

/** [+-]?[0-9]+ as a bigint, or undefined. Leading zeros do not count towards the size guard. */
function parseInteger(text: string): bigint | undefined {
  let i = 0;
  const sign = text.charCodeAt(0);
  if (sign === 43 || sign === 45) i = 1; // + -
  if (i === text.length) return undefined;
  let firstSignificant = -1;
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (!isDigit(c)) return undefined;
    if (firstSignificant < 0 && c !== 48) firstSignificant = j;
  }
  if (firstSignificant < 0) return 0n;
  if (text.length - firstSignificant > 40) return sign === 45 ? -(10n ** 40n) : 10n ** 40n; // beyond every type
  const magnitude = BigInt(text.slice(firstSignificant));
  return sign === 45 ? -magnitude : magnitude;
}

interface Decimal {
  readonly negative: boolean;
  /** Integer digits without leading zeros ('0' for none). */
  readonly int: string;
  /** Fraction digits without trailing zeros ('' for none). */
  readonly frac: string;
}

/** XML Schema decimal: [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+). */
function parseDecimal(text: string): Decimal | undefined {
  let i = 0;
  const sign = text.charCodeAt(0);
  if (sign === 43 || sign === 45) i = 1;
  const intStart = i;
  while (isDigit(text.charCodeAt(i))) i++;
  const intEnd = i;
  let fracStart = i;
  let fracEnd = i;
  if (text.charCodeAt(i) === 46) {
    i++;
    fracStart = i;
    while (isDigit(text.charCodeAt(i))) i++;
    fracEnd = i;
  }
  if (i !== text.length || (intEnd === intStart && fracEnd === fracStart)) return undefined;
  let a = intStart;
  while (a < intEnd - 1 && text.charCodeAt(a) === 48) a++;
  let b = fracEnd;
  while (b > fracStart && text.charCodeAt(b - 1) === 48) b--;
  const int = intEnd === intStart ? '0' : text.slice(a, intEnd);
  const frac = text.slice(fracStart, b);
  return { negative: sign === 45 && (int !== '0' || frac !== ''), int, frac };
}

function formatDecimal(d: Decimal): string {
  return `${d.negative ? '-' : ''}${d.int}${d.frac === '' ? '' : `.${d.frac}`}`;
}

function compareDecimal(a: Decimal, b: Decimal): number {
  if (a.negative !== b.negative) return a.negative ? -1 : 1;
  let magnitude: number;
  if (a.int.length !== b.int.length) magnitude = a.int.length < b.int.length ? -1 : 1;
  else if (a.int !== b.int) magnitude = a.int < b.int ? -1 : 1;
  else if (a.frac !== b.frac) magnitude = a.frac < b.frac ? -1 : 1; // no trailing zeros: plain string order is numeric
  else magnitude = 0;
  return a.negative ? -magnitude : magnitude;
}

interface DateTime {
  /** Seconds since 1970-01-01T00:00:00Z (negative before), offset applied. */
  readonly seconds: number;
  /** Fraction-of-second digits without trailing zeros. */
  readonly frac: string;
  /** Untimezoned: relative time since boot (TR-106 §3.2.1). */
  readonly relative: boolean;
  /** The Unknown Time (0001-01-01T00:00:00Z, or with -00:00/+00:00). */
  readonly unknown: boolean;
}

const UNKNOWN_SECONDS = -62135596800; // 0001-01-01T00:00:00Z

/** Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Reads `count` digits at `at` as a number, or -1. */
function digitsAt(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return -1;
    value = value * 10 + (c - 48);
  }
  return value;
}

/** YYYY-MM-DDThh:mm:ss[.s+][Z|±hh:mm]; an untimezoned value must have a year below 1000 (relative time). */
function parseDateTime(text: string): DateTime | undefined {
  if (text.length < 19) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') return undefined;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let i = 19;
  let frac = '';
  if (text.charCodeAt(i) === 46) {
    const start = ++i;
    while (isDigit(text.charCodeAt(i))) i++;
    if (i === start) return undefined;
    let end = i;
    while (end > start && text.charCodeAt(end - 1) === 48) end--;
    frac = text.slice(start, end);
  }
  let offsetMinutes = 0;
  let relative = false;
  if (i === text.length) {
    if (year >= 1000) return undefined; // TR-106 §3.2.1: absolute times carry a timezone
    relative = true;
  } else if (text[i] === 'Z' && i + 1 === text.length) {
    // UTC
  } else if ((text[i] === '+' || text[i] === '-') && i + 6 === text.length && text[i + 3] === ':') {
    const oh = digitsAt(text, i + 1, 2);
    const om = digitsAt(text, i + 4, 2);
    if (oh < 0 || om < 0 || om > 59 || oh > 14 || (oh === 14 && om !== 0)) return undefined;
    offsetMinutes = (text[i] === '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return undefined;
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  return { seconds, frac, relative, unknown: !relative && seconds === UNKNOWN_SECONDS && frac === '' };
}

function compareDateTime(a: DateTime, b: DateTime): number {
  if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1;
  if (a.frac !== b.frac) return a.frac < b.frac ? -1 : 1;
  return 0;
}

/** Number of bytes a valid RFC 4648 base64 string decodes to, or -1 if it is not valid. */
function base64Length(text: string): number {
  const n = text.length;
  if (n % 4 !== 0) return -1;
  let padding = 0;
  if (n > 0 && text.charCodeAt(n - 1) === 61) padding = text.charCodeAt(n - 2) === 61 ? 2 : 1; // '='
  for (let i = 0; i < n - padding; i++) if (!isBase64Char(text.charCodeAt(i))) return -1;
  return (n / 4) * 3 - padding;
}

/** Number of bytes of a valid hexBinary string, or -1. */
function hexLength(text: string): number {
  if (text.length % 2 !== 0) return -1;
  for (let i = 0; i < text.length; i++) if (!isHex(text.charCodeAt(i))) return -1;
  return text.length / 2;
}

/** Length in Unicode characters (code points), as TR-106 string sizes count. */
function codePointLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// canonicalValue

function invalidType(spec: ValueSpec, text: string, why = ''): UspError {
  return new UspError(ErrorCode.InvalidType, `${show(text)} is not a valid ${spec.type}${why}`);
}

function checkLength(spec: ValueSpec, length: number, unit: string): void {
  if (spec.maxLength !== undefined && length > spec.maxLength) {
    throw new UspError(ErrorCode.InvalidValue, `the value is ${length} ${unit} long; at most ${spec.maxLength} are allowed`);
  }
  if (spec.minLength !== undefined && length < spec.minLength) {
    throw new UspError(ErrorCode.InvalidValue, `the value is ${length} ${unit} long; at least ${spec.minLength} are required`);
  }
}

function outOfRange(text: string, spec: ValueSpec): UspError {
  const min = spec.range?.min;
  const max = spec.range?.max;
  const bounds = `${min === undefined ? '' : String(min)}..${max === undefined ? '' : String(max)}`;
  return new UspError(ErrorCode.InvalidValue, `${show(text)} is outside the allowed range ${bounds}`);
}

/** Canonical form of one (non-list) value, or throws 7011 (not of the type) / 7012 (range, enumeration, length). */
function canonicalItem(spec: ValueSpec, text: string): string {
  switch (spec.type) {
    case 'string':
      checkLength(spec, codePointLength(text), 'characters');
      if (spec.enumValues && !spec.enumValues.includes(text)) {
        throw new UspError(ErrorCode.InvalidValue, `${show(text)} is not one of: ${spec.enumValues.join(', ')}`);
      }
      return text;
    case 'boolean':
      if (text === 'true' || text === '1') return 'true';
      if (text === 'false' || text === '0') return 'false';
      throw invalidType(spec, text, " (use 'true', 'false', '1' or '0')");
    case 'unsignedInt':
    case 'int':
    case 'unsignedLong':
    case 'long': {
      const value = parseInteger(text);
      if (value === undefined) throw invalidType(spec, text);
      const [low, high] = INTEGER_LIMITS[spec.type];
      if (value < low || value > high) throw invalidType(spec, text, ` (${String(low)}..${String(high)})`);
      const min = spec.range?.min;
      const max = spec.range?.max;
      if ((min !== undefined && value < BigInt(min)) || (max !== undefined && value > BigInt(max))) throw outOfRange(text, spec);
      return value.toString();
    }
    case 'decimal': {
      const value = parseDecimal(text);
      if (value === undefined) throw invalidType(spec, text);
      const canonical = formatDecimal(value);
      const number = Number(canonical);
      const min = spec.range?.min;
      const max = spec.range?.max;
      if ((min !== undefined && number < Number(min)) || (max !== undefined && number > Number(max))) throw outOfRange(text, spec);
      return canonical;
    }
    case 'dateTime':
      if (parseDateTime(text) === undefined) {
        throw invalidType(spec, text, " (expected e.g. '2024-05-01T12:00:00Z'; only relative times since boot, with years below 1000, omit the timezone)");
      }
      return text;
    case 'base64': {
      const bytes = base64Length(text);
      if (bytes < 0) throw invalidType(spec, text);
      checkLength(spec, bytes, 'bytes');
      return text;
    }
    case 'hexBinary': {
      const bytes = hexLength(text);
      if (bytes < 0) throw invalidType(spec, text);
      checkLength(spec, bytes, 'bytes');
      return text;
    }
  }
}

/** Splits a TR-106 comma-separated list: separators are one comma with optional whitespace; "" is no items. */
export function splitList(text: string): string[] {
  let start = 0;
  let end = text.length;
  while (start < end && isListSpace(text.charCodeAt(start))) start++;
  while (end > start && isListSpace(text.charCodeAt(end - 1))) end--;
  if (start === end) return [];
  const items: string[] = [];
  let itemStart = start;
  for (let i = start; i <= end; i++) {
    if (i < end && text.charCodeAt(i) !== 44) continue; // ','
    let a = itemStart;
    let b = i;
    while (a < b && isListSpace(text.charCodeAt(a))) a++;
    while (b > a && isListSpace(text.charCodeAt(b - 1))) b--;
    items.push(text.slice(a, b));
    itemStart = i + 1;
  }
  return items;
}

/**
 * Validates a lexical value for a parameter and returns its canonical form: booleans 'true'/'false', integers
 * without '+' or leading zeros, decimals without '+', leading or trailing zeros; dateTime, base64 and hexBinary
 * kept as given. Lists are comma-separated (whitespace around commas allowed), each item checked, "" is the
 * empty list; the canonical list has no whitespace. Throws UspError 7011 (cannot be read as the type) or 7012
 * (outside the range or enumeration, or too long/short).
 */
export function canonicalValue(spec: ValueSpec, text: string): string {
  if (!spec.list) return canonicalItem(spec, text);
  const items = splitList(text);
  for (let i = 0; i < items.length; i++) {
    try {
      items[i] = canonicalItem(spec, items[i]!);
    } catch (error) {
      if (error instanceof UspError) throw new UspError(error.uspErrorCode, `list item ${i + 1}: ${error.message}`);
      throw error;
    }
  }
  return items.join(',');
}

// ---------------------------------------------------------------------------------------------------------------
// Search expressions

/** A value read as its type, for comparison. */
type Typed =
  | { readonly kind: 'exact'; readonly key: string } // string, boolean, hexBinary, base64: equality only
  | { readonly kind: 'integer'; readonly value: bigint }
  | { readonly kind: 'decimal'; readonly value: Decimal }
  | { readonly kind: 'time'; readonly value: DateTime };

/** Reads a value of `type` for comparison; undefined when it is not a value of the type. */
function toTyped(type: ParamType, text: string): Typed | undefined {
  switch (type) {
    case 'string':
      return { kind: 'exact', key: text };
    case 'boolean':
      if (text === 'true' || text === '1') return { kind: 'exact', key: 'true' };
      if (text === 'false' || text === '0') return { kind: 'exact', key: 'false' };
      return undefined;
    case 'unsignedInt':
    case 'int':
    case 'unsignedLong':
    case 'long': {
      const value = parseInteger(text);
      const [low, high] = INTEGER_LIMITS[type];
      return value === undefined || value < low || value > high ? undefined : { kind: 'integer', value };
    }
    case 'decimal': {
      const value = parseDecimal(text);
      return value === undefined ? undefined : { kind: 'decimal', value };
    }
    case 'dateTime': {
      const value = parseDateTime(text);
      return value === undefined ? undefined : { kind: 'time', value };
    }
    case 'hexBinary':
      return hexLength(text) < 0 ? undefined : { kind: 'exact', key: text.toLowerCase() };
    case 'base64':
      // Compare the bytes: encodings that differ only in unused trailing bits name the same value.
      return base64Length(text) < 0 ? undefined : { kind: 'exact', key: Buffer.from(text, 'base64').toString('hex') };
  }
}

function compareTyped(a: Typed, b: Typed): number | undefined {
  if (a.kind === 'integer' && b.kind === 'integer') return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  if (a.kind === 'decimal' && b.kind === 'decimal') return compareDecimal(a.value, b.value);
  if (a.kind === 'time' && b.kind === 'time') return compareDateTime(a.value, b.value);
  return undefined;
}

function equalTyped(a: Typed, b: Typed): boolean {
  if (a.kind === 'exact' && b.kind === 'exact') return a.key === b.key;
  if (a.kind === 'time' && b.kind === 'time') return a.value.relative === b.value.relative && compareDateTime(a.value, b.value) === 0;
  return compareTyped(a, b) === 0;
}

function invalidTerm(message: string): UspError {
  return new UspError(ErrorCode.InvalidPathSyntax, `invalid search expression: ${message}`);
}

function describeConstant(constant: string, quoted: boolean): string {
  const shown = constant.length > 64 ? `${constant.slice(0, 64)}…` : constant;
  return quoted ? JSON.stringify(shown) : shown;
}

/** TR-369: strings are quoted; booleans and numbers are not (its examples also write dateTime and hexBinary bare). */
function quoting(type: ParamType): 'required' | 'forbidden' | 'optional' {
  if (type === 'string') return 'required';
  if (type === 'boolean' || type === 'decimal' || isIntegerType(type)) return 'forbidden';
  return 'optional'; // dateTime, base64, hexBinary
}

/** The constant of a term as a value of `type` (the element type for lists); throws 7008 if it is not one. */
function typedConstant(type: ParamType, constant: string, quoted: boolean): Typed {
  const rule = quoting(type);
  if (rule === 'required' && !quoted) throw invalidTerm(`a ${type} value must be in double quotes, not ${describeConstant(constant, quoted)}`);
  if (rule === 'forbidden' && quoted) {
    throw invalidTerm(`a ${type} value is written without quotes: ${describeConstant(constant, quoted)} compares a ${type} with a string`);
  }
  const typed = toTyped(type, constant);
  if (typed === undefined) throw invalidTerm(`${describeConstant(constant, quoted)} is not a valid ${type}`);
  return typed;
}

function applyOp(op: Exclude<SearchOp, '~='>, comparison: number): boolean {
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

/**
 * Checks one search term against the parameter's type once and returns its evaluator. Throws UspError 7008
 * when the operator or the constant does not fit the type (see matchesTerm).
 */
export function compileTerm(spec: ValueSpec, op: SearchOp, constant: string, quoted: boolean): (actual: string) => boolean {
  const type = spec.type;
  if (op === '~=') {
    if (!spec.list) throw invalidTerm(`'~=' (contains) only applies to list parameters, and this is a single ${type}`);
    const wanted = typedConstant(type, constant, quoted);
    return (actual) =>
      splitList(actual).some((item) => {
        const have = toTyped(type, item);
        return have !== undefined && equalTyped(have, wanted);
      });
  }
  if (spec.list) {
    // The whole list is a string: compared item by item (so "1, 2" equals "1,2" and "01,2" for numbers).
    if (op !== '==' && op !== '!=') throw invalidTerm(`${op} does not apply to a list; use ==, != or ~=`);
    if (!quoted) throw invalidTerm(`a list value must be in double quotes, not ${describeConstant(constant, quoted)} (use ~= to look for one item)`);
    const wanted = splitList(constant).map((item) => {
      const typed = toTyped(type, item);
      if (typed === undefined) throw invalidTerm(`${JSON.stringify(item)} in ${describeConstant(constant, quoted)} is not a valid ${type}`);
      return typed;
    });
    return (actual) => {
      const items = splitList(actual);
      let equal = items.length === wanted.length;
      for (let i = 0; equal && i < items.length; i++) {
        const have = toTyped(type, items[i]!);
        equal = have !== undefined && equalTyped(have, wanted[i]!);
      }
      return equal === (op === '==');
    };
  }
  const wanted = typedConstant(type, constant, quoted);
  const ordered = wanted.kind !== 'exact';
  if (!ordered && op !== '==' && op !== '!=') throw invalidTerm(`${op} does not apply to ${type} values; use == or !=`);
  if (wanted.kind === 'time' && wanted.value.unknown && op !== '==' && op !== '!=') {
    throw invalidTerm(`${op} does not apply to the Unknown Time ${UNKNOWN_TIME}; use == or !=`);
  }
  return (actual) => {
    const have = toTyped(type, actual);
    if (have === undefined) return false; // a stored value that is not of the type matches nothing
    if (op === '==' || op === '!=') return equalTyped(have, wanted) === (op === '==');
    if (have.kind === 'time' && have.value.unknown) return false; // Unknown Time is neither before nor after anything
    const comparison = compareTyped(have, wanted);
    return comparison !== undefined && applyOp(op, comparison);
  };
}

/**
 * Evaluates one search term against a parameter's current value, per TR-369 typed comparison: for string,
 * boolean, base64/hexBinary and the Unknown Time dateTime only == and != are valid; ordering ops compare
 * numerically for numeric types and chronologically for dateTime; ~= only for list parameters (exact element
 * match, constant of the element type). Strings must be quoted, booleans and numbers must not be
 * ([Enable=="true"] is invalid), dateTime/base64/hexBinary may be either. Throws UspError 7008 when the operator
 * or the constant is invalid for the type. A current value that is not of the type (or the Unknown Time under an
 * ordering operator) matches nothing.
 */
export function matchesTerm(spec: ValueSpec, actual: string, op: SearchOp, constant: string, quoted: boolean): boolean {
  return compileTerm(spec, op, constant, quoted)(actual);
}

/**
 * A Date as a TR-106 dateTime: ISO 8601 UTC with 'Z', no milliseconds ('2024-05-01T12:00:00Z'). An invalid
 * Date or one before year 1 gives the Unknown Time; one after year 9999 the Infinite Time.
 */
export function toDateTime(date: Date): string {
  const ms = date.getTime();
  if (Number.isNaN(ms) || ms < UNKNOWN_SECONDS * 1000) return UNKNOWN_TIME;
  if (ms >= 253402300800000) return INFINITE_TIME; // 10000-01-01T00:00:00Z
  return `${utcTimestamp(date).slice(0, 19)}Z`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * What Date.prototype.toISOString gives for a valid Date in years 0..9999 ('2024-05-01T12:00:00.789Z'), built from
 * the getUTC* fields. toISOString's first call sets up V8's time-zone support, which costs the agent ~0.8 MiB of
 * resident memory for a result that is UTC anyway (npm run bench:usp).
 */
export function utcTimestamp(date: Date): string {
  const day = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  return `${day}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}Z`;
}
