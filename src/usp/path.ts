// USP path grammar (TR-369 §Path Names, reference §2.1): object, parameter, command and event paths with
// instance numbers, wildcards, search expressions and reference following; '{i}' in GetSupportedDM paths.
// A hand-written, linear scanner (no regular expressions run on the whole input) with a small cache, since
// Controllers repeat the same paths. Syntax errors are UspError 7008 naming the position.
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
  | { readonly kind: 'follow'; readonly name: string; readonly item: number | '*' }
  | { readonly kind: 'placeholder' };
export type PathKind = 'object' | 'parameter' | 'command' | 'event';
export interface ParsedPath {
  readonly text: string;
  readonly kind: PathKind;
  /** All segments from { name: 'Device' }. For parameter/command/event paths the last is the bare element name. */
  readonly segments: readonly PathSegment[];
  /** True when the path can match 0..n things: wildcard, search expression or reference following. */
  readonly isSearch: boolean;
}

const MAX_PATH_LENGTH = 64 * 1024;
const CACHE_SIZE = 512;
const cache = new Map<string, ParsedPath>();

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; // A-Z a-z _
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9;
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
  peek(offset = 0): number {
    return this.text.charCodeAt(this.pos + offset);
  }
  fail(message: string): never {
    const shown = this.text.length > 120 ? `${this.text.slice(0, 120)}…` : this.text;
    throw new UspError(ErrorCode.InvalidPathSyntax, `invalid path "${shown}": ${message} at position ${this.pos + 1}`);
  }
  expect(char: string, what: string): void {
    if (this.text[this.pos] !== char) this.fail(`expected ${what}${this.done ? ' but the path ended' : ` but found '${this.text[this.pos]!}'`}`);
    this.pos++;
  }
  name(): string {
    const start = this.pos;
    if (!isNameStart(this.peek())) this.fail(this.done ? 'expected a name but the path ended' : `expected a name but found '${this.text[this.pos]!}'`);
    while (!this.done && isNameChar(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  /** posnum ::= [1-9][0-9]* */
  positive(): number {
    const start = this.pos;
    if (this.peek() === 48) this.fail('instance numbers start at 1 and have no leading zeros');
    while (!this.done && isDigit(this.peek())) this.pos++;
    if (this.pos === start) this.fail('expected a number');
    if (this.pos - start > 10) this.fail('instance number too large');
    return Number(this.text.slice(start, this.pos));
  }
  skipSpaces(): void {
    while (!this.done && isSpace(this.peek())) this.pos++;
  }
  /** After a name: '+' or '#n+' or '#*+' makes it a reference to follow. */
  followSuffix(): number | '*' | undefined {
    if (this.peek() === 43 /* + */) {
      this.pos++;
      return 1;
    }
    if (this.peek() !== 35 /* # */) return undefined;
    this.pos++;
    let item: number | '*';
    if (this.peek() === 42 /* * */) {
      this.pos++;
      item = '*';
    } else {
      item = this.positive();
    }
    this.expect('+', "'+' after the reference item");
    return item;
  }
}

function parseRelativePath(s: Scanner): RelativeSegment[] {
  const path: RelativeSegment[] = [];
  for (;;) {
    const name = s.name();
    const item = s.followSuffix();
    path.push(item === undefined ? { kind: 'name', name } : { kind: 'follow', name, item });
    if (s.peek() !== 46 /* . */) break;
    s.pos++;
  }
  if (path[path.length - 1]!.kind === 'follow') s.fail('a search expression must end with a parameter name');
  return path;
}

function parseOperator(s: Scanner): SearchOp {
  const two = s.text.slice(s.pos, s.pos + 2);
  if (two === '==' || two === '!=' || two === '<=' || two === '>=' || two === '~=') {
    s.pos += 2;
    return two;
  }
  const one = s.text[s.pos];
  if (one === '<' || one === '>') {
    s.pos++;
    return one;
  }
  return s.fail('expected an operator (==, !=, <, >, <=, >=, ~=)');
}

function parseConstant(s: Scanner): { value: string; quoted: boolean } {
  if (s.peek() === 34 /* " */) {
    s.pos++;
    const end = s.text.indexOf('"', s.pos);
    if (end < 0) s.fail('unterminated string literal');
    const raw = s.text.slice(s.pos, end);
    s.pos = end + 1;
    return { value: percentDecodeLiteral(raw), quoted: true };
  }
  const start = s.pos;
  while (!s.done) {
    const c = s.peek();
    if (isSpace(c) || c === 93 /* ] */ || c === 38 /* & */ || c === 91 /* [ */ || c === 34 /* " */) break;
    s.pos++;
  }
  if (s.pos === start) s.fail('expected a value');
  return { value: s.text.slice(start, s.pos), quoted: false };
}

function parseSearch(s: Scanner): SearchTerm[] {
  s.expect('[', "'['");
  const terms: SearchTerm[] = [];
  for (;;) {
    s.skipSpaces();
    if (s.peek() === 93 /* ] */) s.fail(terms.length === 0 ? 'empty search expression' : "expected a term after '&&'");
    const path = parseRelativePath(s);
    s.skipSpaces();
    const op = parseOperator(s);
    s.skipSpaces();
    const { value, quoted } = parseConstant(s);
    terms.push({ path, op, value, quoted });
    s.skipSpaces();
    if (s.text.startsWith('&&', s.pos)) {
      s.pos += 2;
      continue;
    }
    s.expect(']', "']' or '&&'");
    return terms;
  }
}

function parse(text: string, supportedDm: boolean): ParsedPath {
  const s = new Scanner(text);
  if (text.length === 0) s.fail('empty path');
  if (text.length > MAX_PATH_LENGTH) s.fail(`longer than ${MAX_PATH_LENGTH} characters`);
  const segments: PathSegment[] = [{ kind: 'name', name: s.name() }];
  let isSearch = false;
  let kind: PathKind | undefined;
  let last: PathSegment['kind'] = 'name';
  while (kind === undefined) {
    if (s.done) {
      if (segments.length === 1) s.fail("an object path ends with '.'");
      if (last !== 'name') s.fail('a path cannot end with a reference to follow');
      kind = 'parameter';
      break;
    }
    const c = s.peek();
    if (last === 'name' && c === 40 /* ( */) {
      s.expect('(', "'('");
      s.expect(')', "')' (commands end with '()')");
      if (!s.done) s.fail("nothing may follow '()'");
      kind = 'command';
      break;
    }
    if (last === 'name' && c === 33 /* ! */) {
      s.pos++;
      if (!s.done) s.fail("nothing may follow '!'");
      kind = 'event';
      break;
    }
    s.expect('.', "'.'");
    if (s.done) {
      if (last === 'follow') s.fail('a followed reference must be followed by a name');
      kind = 'object';
      break;
    }
    const next = s.peek();
    const afterName = last === 'name';
    if (isDigit(next)) {
      if (!afterName || segments.length === 1) s.fail('an instance number must follow a table name');
      segments.push({ kind: 'instance', instance: s.positive() });
      last = 'instance';
    } else if (next === 42 /* * */) {
      if (!afterName || segments.length === 1) s.fail("'*' must follow a table name");
      s.pos++;
      segments.push({ kind: 'wildcard' });
      isSearch = true;
      last = 'wildcard';
    } else if (next === 91 /* [ */) {
      if (!afterName || segments.length === 1) s.fail('a search expression must follow a table name');
      segments.push({ kind: 'search', terms: parseSearch(s) });
      isSearch = true;
      last = 'search';
    } else if (next === 123 /* { */) {
      if (!supportedDm) s.fail("'{i}' is only valid in GetSupportedDM paths");
      if (!s.text.startsWith('{i}', s.pos)) s.fail("expected '{i}'");
      if (!afterName || segments.length === 1) s.fail("'{i}' must follow a table name");
      s.pos += 3;
      segments.push({ kind: 'placeholder' });
      last = 'placeholder';
    } else {
      const name = s.name();
      const item = s.followSuffix();
      if (item === undefined) {
        segments.push({ kind: 'name', name });
        last = 'name';
      } else {
        segments.push({ kind: 'follow', name, item });
        isSearch = true;
        last = 'follow';
        if (s.peek() !== 46 /* . */) s.fail("a followed reference must be followed by '.' and a name");
      }
    }
    if (last !== 'name' && last !== 'follow' && !s.done && s.peek() !== 46) s.fail("expected '.'");
    if (last !== 'name' && last !== 'follow' && s.done) s.fail("an object path ends with '.'");
  }
  return { text, kind, segments, isSearch };
}

/** Parses a path; throws UspError 7008 with the position of the first error. */
export function parsePath(text: string, options?: { supportedDm?: boolean }): ParsedPath {
  const supportedDm = options?.supportedDm ?? false;
  const key = supportedDm ? `\u0000${text}` : text;
  const cached = cache.get(key);
  if (cached) return cached;
  const parsed = parse(text, supportedDm);
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(key, parsed);
  return parsed;
}

/** Rebuilds the text of a path from instance/name/wildcard/placeholder segments. */
export function formatPath(segments: readonly PathSegment[], kind: PathKind): string {
  const parts = segments.map((segment) => {
    switch (segment.kind) {
      case 'name':
        return segment.name;
      case 'instance':
        return String(segment.instance);
      case 'wildcard':
        return '*';
      case 'placeholder':
        return '{i}';
      case 'follow':
        return `${segment.name}${segment.item === 1 ? '' : `#${segment.item}`}+`;
      case 'search':
        return `[${segment.terms.map((t) => `${t.path.map((p) => (p.kind === 'name' ? p.name : `${p.name}#${p.item}+`)).join('.')}${t.op}${t.quoted ? `"${percentEncodeLiteral(t.value)}"` : t.value}`).join('&&')}]`;
    }
  });
  const body = parts.join('.');
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

/** Decodes %HH escapes in a string literal (TR-369: '"' is %22 and '%' is %25 inside literals). */
export function percentDecodeLiteral(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export function percentEncodeLiteral(s: string): string {
  return s.replaceAll('%', '%25').replaceAll('"', '%22');
}
