// USP path grammar (TR-369 §Path Names and §Data Model Path Grammar; reference §2.1): object, parameter,
// command and event paths with instance numbers, wildcards, search expressions and reference following, plus
// '{i}' placeholders in GetSupportedDM paths. A hand-written single-pass scanner (no regular expression ever
// runs on the input), linear in the length of the path, with a small LRU cache because Controllers repeat the
// same paths. Syntax errors are UspError 7008 naming the 1-based position and the offending character.
//
// Decisions where the standard is loose (each is covered by test/unit/usp/path.test.ts):
// * Names are [A-Za-z_][A-Za-z0-9_-]*: the USP BNF has no '-', but R-ARC.7 defers to TR-106 §3.1, which allows
//   hyphens after the first character (SHOULD NOT) and shows 'Device.X_EXAMPLE-COM_MyConfig.Status'.
//   Hyphens never clash with the rest of the grammar. Names are ASCII only (as in the USP BNF).
// * The root name is not checked here ('Foo.Bar' parses; the resolver answers 7026).
// * An instance number, '*', '[...]' or '{i}' must follow a name that is not the root (BNF: 'Device.3.' is
//   7008), and never follows another instance or a followed reference ('Ref+.' must be followed by a name).
// * Instance numbers and '#n' list items are posnum: ≥1, no leading zeros, no sign; more than 15 digits is
//   7008 (it cannot name a row anyway: instance numbers are unsignedInt).
// * 'Ref+.' (nothing after the dot) is an object path naming the referenced object itself (TR-369 §Reference
//   Following: the '.' is "optionally followed by a Relative Object or Parameter Path"). 'Ref+' without the dot,
//   'Ref+()' and 'Ref+!' are 7008.
// * Expression constants: a quoted literal ('"' [^"]* '"', %HH escapes decoded, see percentDecodeLiteral), or
//   an unquoted token of [A-Za-z0-9+-.:/=_]. The BNF only allows numbers unquoted, but TR-369's own examples use
//   unquoted booleans ('[Enable==true]'), dateTimes ('[ValidLifetime<2021-06-06T08:00:00Z]') and hexBinary
//   ('[DeviceClass==08]'), and its note says '+123' and '0123' are valid ints. Whether a constant fits the
//   parameter's type (and whether it may be quoted) is checked when the expression is evaluated (values.ts).
// * Spaces and tabs are tolerated around operators, around '&&', and just inside '[' and ']' (R-ARC.9a);
//   nowhere else.
// * Paths longer than 65536 characters are 7008 without being scanned.
import { ErrorCode, UspError } from './errors.ts';

export type SearchOp = '==' | '!=' | '<' | '>' | '<=' | '>=' | '~=';
/** A step inside a search expression's relative path: a name, or a followed reference (Name+ / Name#2+ / Name#*+). */
export type RelativeSegment = { readonly kind: 'name'; readonly name: string } | { readonly kind: 'follow'; readonly name: string; readonly item: number | '*' };
export interface SearchTerm {
  readonly path: readonly RelativeSegment[];
  readonly op: SearchOp;
  /** The constant; quoted literals are percent-decoded (%22 → ", %25 → %). */
  readonly value: string;
  readonly quoted: boolean;
}
export type PathSegment =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'instance'; readonly instance: number }
  | { readonly kind: 'wildcard' }
  | { readonly kind: 'search'; readonly terms: readonly SearchTerm[] }
  | { readonly kind: 'follow'; readonly name: string; readonly item: number | '*' } // Ref+ (item 1), Ref#2+, Ref#*+
  | { readonly kind: 'placeholder' }; // '{i}', only when parsed with { supportedDm: true }
export type PathKind = 'object' | 'parameter' | 'command' | 'event';
export interface ParsedPath {
  readonly text: string;
  readonly kind: PathKind;
  /**
   * All segments, starting with { kind: 'name', name: 'Device' }. For parameter/command/event paths the last
   * segment is the bare element name (no '()' or '!'). Object paths end with the last object/instance segment
   * (the trailing '.' is implied).
   */
  readonly segments: readonly PathSegment[];
  /** True when the path can match 0..n things: it contains a wildcard, a search expression, or reference following. */
  readonly isSearch: boolean;
}

export const MAX_PATH_LENGTH = 65536;
const CACHE_SIZE = 512;
/** Longer paths are parsed every time: the cache must stay small (512 × 1 KiB at most). */
const MAX_CACHED_LENGTH = 1024;
/** Instance numbers and list items above this many digits are rejected (Number stays exact below 2^53). */
const MAX_NUMBER_DIGITS = 15;
/** Instantiated-DM paths and GetSupportedDM paths are cached apart: the same text parses differently. */
const caches = { dm: new Map<string, ParsedPath>(), supportedDm: new Map<string, ParsedPath>() } as const;

// Character codes.
const TAB = 9;
const SPACE = 32;
const BANG = 33; // !
const QUOTE = 34; // "
const HASH = 35; // #
const PERCENT = 37; // %
const AMP = 38; // &
const LPAREN = 40; // (
const RPAREN = 41; // )
const STAR = 42; // *
const PLUS = 43; // +
const MINUS = 45; // -
const DOT = 46; // .
const SLASH = 47; // /
const ZERO = 48;
const NINE = 57;
const COLON = 58; // :
const LT = 60; // <
const EQ = 61; // =
const GT = 62; // >
const LBRACKET = 91; // [
const RBRACKET = 93; // ]
const UNDERSCORE = 95; // _
const LBRACE = 123; // {
const PIPE = 124; // |
const TILDE = 126; // ~

// Character classes of ASCII, looked up in a table (the scanner's inner loops are one load and one test).
const NAME_START = 1; // A-Z a-z _
const NAME_CHAR = 2; // A-Z a-z 0-9 _ -
const DIGIT = 4; // 0-9
const BARE = 8; // characters of an unquoted constant: A-Z a-z 0-9 + - . : / = _
const HEX = 16; // 0-9 A-F a-f
const CLASSES = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  const digit = c >= ZERO && c <= NINE;
  let bits = 0;
  if (letter || c === UNDERSCORE) bits |= NAME_START | NAME_CHAR | BARE;
  if (digit) bits |= NAME_CHAR | DIGIT | BARE | HEX;
  if (c === MINUS) bits |= NAME_CHAR | BARE;
  if (c === PLUS || c === DOT || c === COLON || c === SLASH || c === EQ) bits |= BARE;
  if ((c >= 65 && c <= 70) || (c >= 97 && c <= 102)) bits |= HEX;
  CLASSES[c] = bits;
}
/** True if c (a char code, or NaN past the end) is in `cls`. */
function is(c: number, cls: number): boolean {
  return c < 128 && (CLASSES[c]! & cls) !== 0; // NaN < 128 is false
}
function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}
function isNameStart(c: number): boolean {
  return is(c, NAME_START);
}
function isNameChar(c: number): boolean {
  return is(c, NAME_CHAR);
}
function isSpace(c: number): boolean {
  return c === SPACE || c === TAB;
}
function isHex(c: number): boolean {
  return is(c, HEX);
}

function describe(text: string, pos: number): string {
  if (pos >= text.length) return 'the end of the path';
  const c = text.charCodeAt(pos);
  if (c === SPACE) return 'a space';
  if (c === TAB) return 'a tab';
  if (c < 32 || c === 127) return `control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${String.fromCodePoint(text.codePointAt(pos)!)}'`;
}

class Scanner {
  readonly text: string;
  pos = 0;
  constructor(text: string) {
    this.text = text;
  }
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  /** The character code at pos (+offset); NaN past the end, which no predicate accepts. */
  peek(offset = 0): number {
    return this.text.charCodeAt(this.pos + offset);
  }
  fail(message: string, at = this.pos): never {
    const text = this.text;
    const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
    throw new UspError(ErrorCode.InvalidPathSyntax, `invalid path "${shown}": ${message} (at character ${Math.min(at, text.length) + 1})`);
  }
  /** "expected X but found Y" at the current position. */
  unexpected(expected: string): never {
    return this.fail(`expected ${expected} but found ${describe(this.text, this.pos)}`);
  }
  name(what = 'a name'): string {
    const text = this.text;
    const start = this.pos;
    const c = text.charCodeAt(start);
    if (!is(c, NAME_START)) {
      if (isDigit(c) || c === MINUS) this.fail(`${what} must start with a letter or '_', not ${describe(text, start)}`);
      this.unexpected(what);
    }
    let pos = start + 1;
    while (is(text.charCodeAt(pos), NAME_CHAR)) pos++;
    this.pos = pos;
    return text.slice(start, pos);
  }
  /** posnum ::= [1-9][0-9]* */
  posnum(what: string): number {
    const text = this.text;
    const start = this.pos;
    const c = text.charCodeAt(start);
    if (c === ZERO) this.fail(isDigit(text.charCodeAt(start + 1)) ? `${what} must not have leading zeros` : `${what} must be at least 1`);
    if (!isDigit(c)) this.unexpected(what);
    let pos = start + 1;
    while (isDigit(text.charCodeAt(pos))) pos++;
    if (pos - start > MAX_NUMBER_DIGITS) this.fail(`${what} is too large`, start);
    this.pos = pos;
    if (pos - start === 1) return c - ZERO;
    return Number(text.slice(start, pos));
  }
  skipSpaces(): void {
    const text = this.text;
    let pos = this.pos;
    while (isSpace(text.charCodeAt(pos))) pos++;
    this.pos = pos;
  }
  /** After a name: '+', '#n+' or '#*+' make it a reference to follow; returns the list item, or undefined. */
  followSuffix(): number | '*' | undefined {
    const c = this.peek();
    if (c === PLUS) {
      this.pos++;
      return 1;
    }
    if (c !== HASH) return undefined;
    this.pos++;
    let item: number | '*';
    if (this.peek() === STAR) {
      this.pos++;
      item = '*';
    } else {
      item = this.posnum("the list item after '#'");
    }
    if (this.peek() !== PLUS) this.unexpected(`'+' after '#${item}'`);
    this.pos++;
    return item;
  }
}

// Segments without data, and those of small instance numbers, are shared (and frozen, being shared).
const WILDCARD: PathSegment = Object.freeze({ kind: 'wildcard' });
const PLACEHOLDER: PathSegment = Object.freeze({ kind: 'placeholder' });
const INSTANCES: readonly PathSegment[] = Array.from({ length: 1024 }, (_, k) => Object.freeze({ kind: 'instance', instance: k }));

function instanceSegment(instance: number): PathSegment {
  return instance < INSTANCES.length ? INSTANCES[instance]! : { kind: 'instance', instance };
}

function relativeSegment(name: string, item: number | '*' | undefined): RelativeSegment {
  return item === undefined ? { kind: 'name', name } : { kind: 'follow', name, item };
}

/** relpath ::= name ( reffollow? '.' name )* — relative to the row; never into a child table. */
function parseRelativePath(s: Scanner): RelativeSegment[] {
  const path: RelativeSegment[] = [];
  for (;;) {
    const start = s.pos;
    const name = s.name('a parameter name');
    const item = s.followSuffix();
    path.push(relativeSegment(name, item));
    if (s.peek() !== DOT) {
      if (item !== undefined) s.fail(`a followed reference ('${s.text.slice(start, s.pos)}') must be followed by '.' and a parameter name`);
      return path;
    }
    s.pos++;
    const c = s.peek();
    if (isDigit(c) || c === STAR || c === LBRACKET || c === LBRACE) {
      s.fail(`a search expression cannot descend into a table: found ${describe(s.text, s.pos)} where a name is expected`);
    }
  }
}

function parseOperator(s: Scanner): SearchOp {
  const c = s.peek();
  const next = s.peek(1);
  if (next === EQ) {
    let op: SearchOp | undefined;
    if (c === EQ) op = '==';
    else if (c === BANG) op = '!=';
    else if (c === LT) op = '<=';
    else if (c === GT) op = '>=';
    else if (c === TILDE) op = '~=';
    if (op !== undefined) {
      s.pos += 2;
      return op;
    }
  }
  if (c === LT || c === GT) {
    s.pos++;
    return c === LT ? '<' : '>';
  }
  if (c === EQ) s.fail("'=' is not an operator (use '==')");
  if (c === BANG || c === TILDE) s.fail(`'${String.fromCharCode(c)}' must be followed by '='`);
  return s.unexpected('an operator (==, !=, ~=, <, >, <=, >=)');
}

function parseConstant(s: Scanner): { value: string; quoted: boolean } {
  if (s.peek() === QUOTE) {
    const open = s.pos;
    const close = s.text.indexOf('"', open + 1);
    if (close < 0) s.fail('the string literal is not closed (missing \'"\')', open);
    s.pos = close + 1;
    return { value: percentDecodeLiteral(s.text.slice(open + 1, close)), quoted: true };
  }
  const text = s.text;
  const start = s.pos;
  let pos = start;
  while (is(text.charCodeAt(pos), BARE)) pos++;
  s.pos = pos;
  if (pos === start) s.unexpected("a value (a number, true/false, or a string in double quotes)");
  return { value: s.text.slice(start, s.pos), quoted: false };
}

/** expr ::= '[' exprcomp ( '&&' exprcomp )* ']'; s is at '['. */
function parseSearch(s: Scanner): SearchTerm[] {
  const open = s.pos;
  s.pos++;
  const terms: SearchTerm[] = [];
  for (;;) {
    s.skipSpaces();
    if (s.peek() === RBRACKET) s.fail(terms.length === 0 ? 'the search expression is empty' : "'&&' must be followed by another expression");
    if (s.done) s.fail("the search expression is not closed (missing ']')", open);
    if (s.peek() === LPAREN) s.fail('parentheses are not allowed in search expressions');
    const path = parseRelativePath(s);
    s.skipSpaces();
    const op = parseOperator(s);
    s.skipSpaces();
    const { value, quoted } = parseConstant(s);
    terms.push({ path, op, value, quoted });
    s.skipSpaces();
    const c = s.peek();
    if (c === AMP && s.peek(1) === AMP) {
      s.pos += 2;
      continue;
    }
    if (c === RBRACKET) {
      s.pos++;
      return terms;
    }
    if (c === PIPE && s.peek(1) === PIPE) s.fail("'||' is not supported: search expressions only combine with '&&'");
    if (c === AMP) s.fail("use '&&' to combine expressions");
    if (s.done) s.fail("the search expression is not closed (missing ']')", open);
    s.unexpected(quoted ? "'&&' or ']' after the string literal" : "'&&' or ']'");
  }
}

/** Fails unless an instance position is allowed here (right after a name other than the root). */
function checkInstancePosition(s: Scanner, afterTableName: boolean, what: string): void {
  if (!afterTableName) s.fail(`${what} must follow the name of a table (a name other than the root)`);
}

/** One path segment after a '.'; `afterTableName`: the previous segment is a name other than the root. */
function parseSegment(s: Scanner, supportedDm: boolean, afterTableName: boolean): PathSegment {
  const c = s.peek();
  if (isNameStart(c)) {
    const name = s.name();
    const item = s.followSuffix();
    return item === undefined ? { kind: 'name', name } : { kind: 'follow', name, item };
  }
  if (isDigit(c)) {
    checkInstancePosition(s, afterTableName, 'an instance number');
    return instanceSegment(s.posnum('an instance number'));
  }
  switch (c) {
    case STAR:
      checkInstancePosition(s, afterTableName, "'*'");
      s.pos++;
      return WILDCARD;
    case LBRACKET:
      checkInstancePosition(s, afterTableName, 'a search expression');
      return { kind: 'search', terms: parseSearch(s) };
    case LBRACE:
      if (!supportedDm) s.fail("'{...}' is not valid here: search expressions use '[...]' and '{i}' is only for GetSupportedDM");
      if (!s.text.startsWith('{i}', s.pos)) s.fail("the only placeholder is '{i}'");
      checkInstancePosition(s, afterTableName, "'{i}'");
      s.pos += 3;
      return PLACEHOLDER;
    case DOT:
      return s.fail("empty path segment ('..')");
    case RBRACKET:
      return s.fail("']' without a matching '['");
    case PLUS:
    case HASH:
      return s.fail(`${describe(s.text, s.pos)} must directly follow the name of a reference parameter`);
    case LPAREN:
    case BANG:
      return s.fail(`${c === LPAREN ? "'()'" : "'!'"} must directly follow a command or event name, not '.'`);
    case MINUS:
      return s.fail("a name must start with a letter or '_', and instance numbers have no sign");
    default:
      return s.unexpected("a name, an instance number, '*' or '['");
  }
}

function parse(text: string, supportedDm: boolean): ParsedPath {
  const s = new Scanner(text);
  if (text.length === 0) s.fail('the path is empty');
  if (text.length > MAX_PATH_LENGTH) s.fail(`the path is longer than ${MAX_PATH_LENGTH} characters`, 0);
  const segments: PathSegment[] = [{ kind: 'name', name: s.name('the root object name') }];
  let isSearch = false;
  let kind: PathKind;
  for (;;) {
    const prev = segments[segments.length - 1]!;
    const c = s.peek();
    if (c === DOT) {
      s.pos++;
      if (s.done) {
        kind = 'object';
        break;
      }
      const segment = parseSegment(s, supportedDm, prev.kind === 'name' && segments.length > 1);
      if (segment.kind === 'wildcard' || segment.kind === 'search' || segment.kind === 'follow') isSearch = true;
      segments.push(segment);
      continue;
    }
    // Not a '.': the path must end here (parameter), or with '()' (command) or '!' (event) after a name.
    const element = prev.kind === 'name' && segments.length > 1;
    if (s.done) {
      if (element) {
        kind = 'parameter';
        break;
      }
      if (segments.length === 1) s.fail("a path needs at least '.' after the root object name");
      if (prev.kind === 'follow') s.fail(`a followed reference must be followed by '.'`);
      s.fail("an object path must end with '.'");
    }
    if (c === LPAREN || c === BANG) {
      if (!element) s.fail(`${c === LPAREN ? "'()'" : "'!'"} must follow a command or event name`);
      if (c === LPAREN) {
        if (s.peek(1) !== RPAREN) {
          s.pos++;
          s.unexpected("')' (a command path ends with '()')");
        }
        s.pos += 2;
        kind = 'command';
      } else {
        s.pos++;
        kind = 'event';
      }
      if (!s.done) s.fail(`nothing may follow ${kind === 'command' ? "'()'" : "'!'"}, found ${describe(text, s.pos)}`);
      break;
    }
    if (c === LBRACKET) s.fail("a search expression is a path segment of its own: expected '.' before '['");
    if (c === RBRACKET) s.fail("']' without a matching '['");
    if (isSpace(c)) s.fail('whitespace is only allowed inside search expressions');
    s.unexpected("'.'");
  }
  return { text, kind, segments, isSearch };
}

/**
 * Parses a USP path (TR-369 §Data Model Path Grammar). `supportedDm` additionally allows '{i}' in instance
 * positions (GetSupportedDM). Throws UspError 7008 (Invalid path syntax) naming the position of the first error;
 * never throws anything else. Results are shared through a cache (LRU, 512 entries per mode; paths over
 * 1 KiB are not cached), so they must not be mutated; the readonly types say so, and they are not frozen because
 * freezing costs a fifth of an uncached parse.
 */
export function parsePath(text: string, options?: { supportedDm?: boolean }): ParsedPath {
  const supportedDm = options?.supportedDm ?? false;
  if (text.length > MAX_CACHED_LENGTH) return parse(text, supportedDm);
  const cache = supportedDm ? caches.supportedDm : caches.dm;
  const cached = cache.get(text);
  if (cached !== undefined) {
    cache.delete(text); // most recently used goes last
    cache.set(text, cached);
    return cached;
  }
  const parsed = parse(text, supportedDm);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(text, parsed);
  return parsed;
}

/** Number of cached parse results (for tests). */
export function pathCacheSize(): number {
  return caches.dm.size + caches.supportedDm.size;
}

/**
 * Parses the relative parameter path of a Set/Add `param` field ('Stats.BytesSent' → ['Stats', 'BytesSent']):
 * names separated by '.', no instance numbers, wildcards, expressions or trailing '.'. A malformed one is
 * UspError 7010 (Unsupported parameter): the field is not a requested_path (7008 is for those), and a name that
 * cannot be written cannot match any parameter, which is what 7010 reports in a ParamError.
 */
export function parseRelativeParamPath(text: string): readonly string[] {
  if (text.length === 0) throw badParamName(text, 'it is empty');
  if (text.length > MAX_PATH_LENGTH) throw badParamName(text, `it is longer than ${MAX_PATH_LENGTH} characters`);
  const names: string[] = [];
  let start = 0;
  for (;;) {
    let i = start;
    if (!isNameStart(text.charCodeAt(i))) {
      throw badParamName(text, i >= text.length ? "it ends with '.'" : `expected a name at character ${i + 1} but found ${describe(text, i)}`);
    }
    i++;
    while (isNameChar(text.charCodeAt(i))) i++;
    names.push(text.slice(start, i));
    if (i === text.length) return names;
    if (text.charCodeAt(i) !== DOT) throw badParamName(text, `unexpected ${describe(text, i)} at character ${i + 1}`);
    start = i + 1;
  }
}

function badParamName(text: string, why: string): UspError {
  const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return new UspError(ErrorCode.UnsupportedParameter, `invalid parameter name "${shown}": ${why}`);
}

function formatRelative(segment: RelativeSegment): string {
  if (segment.kind === 'name') return segment.name;
  return segment.item === 1 ? `${segment.name}+` : `${segment.name}#${segment.item}+`;
}

/** Writes a search expression in the form Controllers are asked to send: no spaces, literals percent-encoded. */
export function formatSearch(terms: readonly SearchTerm[]): string {
  const parts = terms.map((t) => `${t.path.map(formatRelative).join('.')}${t.op}${t.quoted ? `"${percentEncodeLiteral(t.value)}"` : t.value}`);
  return `[${parts.join('&&')}]`;
}

/**
 * Builds path text from segments: 'Device.LocalAgent.Controller.3.' (object), '...EndpointID' (parameter),
 * '...Reboot()' (command), '...Boot!' (event); '{i}' for placeholders. Search and follow segments are written
 * in canonical form (no whitespace, 'Ref#1+' as 'Ref+'), so parsePath(formatPath(p.segments, p.kind)) is p
 * up to that normalization.
 */
export function formatPath(segments: readonly PathSegment[], kind: PathKind): string {
  let body = '';
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (i > 0) body += '.';
    switch (segment.kind) {
      case 'name':
        body += segment.name;
        break;
      case 'instance':
        body += String(segment.instance);
        break;
      case 'wildcard':
        body += '*';
        break;
      case 'placeholder':
        body += '{i}';
        break;
      case 'follow':
        body += formatRelative(segment);
        break;
      case 'search':
        body += formatSearch(segment.terms);
        break;
    }
  }
  switch (kind) {
    case 'object':
      return `${body}.`;
    case 'parameter':
      return body;
    case 'command':
      return `${body}()`;
    case 'event':
      return `${body}!`;
  }
}

/**
 * Decodes %HH escapes in a string literal of a search expression. TR-369 requires '"' as %22 and '%' as %25;
 * like OB-USP-Agent, every %HH is decoded (runs of escapes as UTF-8, '%C3%A9' → 'é') and a '%' that does not
 * start a valid escape is kept as it is ('100%' stays '100%'). Escapes of bytes that are not valid UTF-8 are
 * decoded only when below 0x80, otherwise kept as written.
 */
export function percentDecodeLiteral(s: string): string {
  const n = s.length;
  let out = '';
  let copied = 0; // s[copied, i) is still to be copied as it is
  let i = s.indexOf('%');
  while (i >= 0 && i < n) {
    if (s.charCodeAt(i) !== PERCENT || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) {
      i++;
      continue;
    }
    let end = i + 3;
    while (s.charCodeAt(end) === PERCENT && isHex(s.charCodeAt(end + 1)) && isHex(s.charCodeAt(end + 2))) end += 3;
    out += s.slice(copied, i);
    try {
      out += decodeURIComponent(s.slice(i, end));
    } catch {
      for (let j = i; j < end; j += 3) {
        const byte = parseInt(s.slice(j + 1, j + 3), 16);
        out += byte < 0x80 ? String.fromCharCode(byte) : s.slice(j, j + 3);
      }
    }
    copied = end;
    i = end;
  }
  return copied === 0 ? s : out + s.slice(copied);
}

/** Encodes a string for a quoted literal: '%' → %25 and '"' → %22 (the inverse of percentDecodeLiteral). */
export function percentEncodeLiteral(s: string): string {
  if (!s.includes('%') && !s.includes('"')) return s;
  return s.replaceAll('%', '%25').replaceAll('"', '%22');
}
