// Typed validation of untrusted JSON (the config file, app manifests, signed catalog summaries): a schema checks
// a value, fills documented defaults, and reports every problem with its key path, e.g.
// `mqtt.version: must be 5 (MQTT 5.0) or 4 (MQTT 3.1.1)`.
//
// The checking is zod's, through zod 4's tree-shakable `zod/mini`: zod's classic API kept ~5 MiB of the agent's
// memory, zod/mini ~0.8 MiB (npm run bench:usp; README: Libraries). What berth adds on top is here: its messages,
// which say what was expected and what was found, and a record whose "__proto__" key is kept as data. The small
// builder API (string, integer, object, …) keeps the config and manifest schemas short and zod's types out of them.
//
// Objects are strict: an unknown key is an error, so a typo in a config or manifest never passes silently.
import * as z from 'zod/mini';

export type PathPart = string | number;

export interface Issue {
  readonly path: readonly PathPart[];
  readonly message: string;
}

export type ParseResult<T> = { readonly success: true; readonly data: T } | { readonly success: false; readonly issues: readonly Issue[] };

type Zod = z.ZodMiniType;

const startsWith = (path: readonly PathPart[], prefix: readonly PathPart[]): boolean => prefix.every((part, i) => path[i] === part);

/** zod's issues as berth's: one per unknown key, listed before the problems inside the same object. */
function toIssues(zodIssues: readonly z.core.$ZodIssue[]): Issue[] {
  const issues: Issue[] = [];
  for (const issue of zodIssues) {
    const path = issue.path.filter((part): part is PathPart => typeof part !== 'symbol');
    if (issue.code !== 'unrecognized_keys') {
      issues.push({ path, message: issue.message });
      continue;
    }
    // zod checks an object's keys after its values; a reader expects the typo first.
    const first = issues.findIndex((other) => startsWith(other.path, path));
    const unknown = issue.keys.map((key) => ({ path: [...path, key], message: issue.message }));
    issues.splice(first === -1 ? issues.length : first, 0, ...unknown);
  }
  return issues;
}

export class Schema<T> {
  /** Type only: what parse() gives (see Infer). */
  declare readonly output: T;
  /** @internal */
  readonly zod: Zod;

  constructor(zod: Zod) {
    this.zod = zod;
  }

  parse(value: unknown): ParseResult<T> {
    const result = this.zod.safeParse(value);
    return result.success ? { success: true, data: result.data as T } : { success: false, issues: toIssues(result.error.issues) };
  }

  /** The value may be absent (undefined). */
  optional(): OptionalSchema<T> {
    return new Schema<T | undefined>(z.optional(this.zod)) as OptionalSchema<T>;
  }

  /**
   * An absent value is checked as `fallback` instead (zod's prefault), so an object's default can be `{}` and its
   * keys' own defaults fill it. Objects and lists are built anew by their check, so every parse gets its own
   * copy and callers may change what they get.
   */
  default(fallback: T | Partial<T>): Schema<T> {
    return new Schema<T>(z.prefault(this.zod, () => structuredClone(fallback) as never));
  }

  /** A further rule; `message` is reported at the value's path, or at `path` below it. */
  refine(rule: (value: T) => boolean, message: string, path: readonly PathPart[] = []): Schema<T> {
    return new Schema<T>(this.zod.check(z.refine((value) => rule(value as T), { error: message, path: [...path] })));
  }

  /** Rules that need the whole value and report at paths inside it (e.g. duplicates in a list). */
  superRefine(rules: (value: T, report: (path: readonly PathPart[], message: string) => void) => void): Schema<T> {
    return new Schema<T>(
      this.zod.check(
        z.superRefine((value, context) => {
          rules(value as T, (path, message) => {
            context.addIssue({ code: 'custom', message, path: [...path], input: value });
          });
        }),
      ),
    );
  }
}

declare const OPTIONAL: unique symbol;
/** A schema whose value may be undefined; an object type makes its key optional. */
export type OptionalSchema<T> = Schema<T | undefined> & { readonly [OPTIONAL]: true };

export type Infer<S> = S extends { readonly output: infer T } ? T : never;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  // Hostile input can be megabytes long: the message quotes only its start.
  const text = JSON.stringify(value) ?? '';
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

function missingOr(value: unknown, expected: string): string {
  return value === undefined ? `is required (${expected})` : `must be ${expected}, not ${typeName(value)}`;
}

/** zod's error option for a value of the wrong type (or none). */
const expecting = (expected: string) => ({ error: (issue: { input?: unknown }) => missingOr(issue.input, expected) });

function withChecks<V, S extends { check(...checks: z.core.$ZodCheck<V>[]): S }>(schema: S, checks: z.core.$ZodCheck<V>[]): S {
  return checks.length > 0 ? schema.check(...checks) : schema;
}

export interface StringRules {
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** Said when `pattern` does not match (default: "must match <pattern>"). */
  patternMessage?: string;
}

export function string(rules: StringRules = {}): Schema<string> {
  const checks: z.core.$ZodCheck<string>[] = [];
  if (rules.min !== undefined) checks.push(z.minLength(rules.min, rules.min === 1 ? 'must not be empty' : `must be at least ${rules.min} characters`));
  if (rules.max !== undefined) checks.push(z.maxLength(rules.max, `must be at most ${rules.max} characters`));
  if (rules.pattern) checks.push(z.regex(rules.pattern, rules.patternMessage ?? `must match ${String(rules.pattern)}`));
  return new Schema<string>(withChecks(z.string(expecting('a string')), checks));
}

export interface IntegerRules {
  min?: number;
  max?: number;
}

/** A safe integer (no fractions, NaN, infinities or values beyond 2^53). */
export function integer(rules: IntegerRules = {}): Schema<number> {
  const { min, max } = rules;
  const range =
    min !== undefined && max !== undefined ? `an integer from ${min} to ${max}` : min !== undefined ? `an integer ≥ ${min}` : max !== undefined ? `an integer ≤ ${max}` : 'an integer';
  const outside = { error: (issue: { input?: unknown }) => `must be ${range}, not ${String(issue.input)}` };
  const checks: z.core.$ZodCheck<number>[] = [];
  if (min !== undefined) checks.push(z.gte(min, outside));
  if (max !== undefined) checks.push(z.lte(max, outside));
  return new Schema<number>(withChecks(z.int(expecting(range)), checks));
}

export function boolean(): Schema<boolean> {
  return new Schema<boolean>(z.boolean(expecting('true or false')));
}

/** One of a few literal values (strings or numbers). */
export function oneOf<const V extends readonly (string | number)[]>(values: V, message?: string): Schema<V[number]> {
  const said = message ?? `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return new Schema<V[number]>(z.literal(values, { error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required (${said.replace(/^must be /, '')})` : said) }));
}

export interface ArrayRules {
  min?: number;
  max?: number;
}

function list(item: Zod, rules: ArrayRules): Zod {
  const checks: z.core.$ZodCheck<unknown[]>[] = [];
  if (rules.min !== undefined) checks.push(z.minLength(rules.min, `must have at least ${rules.min} item${rules.min === 1 ? '' : 's'}`));
  if (rules.max !== undefined) checks.push(z.maxLength(rules.max, `must have at most ${rules.max} items`));
  return withChecks(z.array(item, expecting('a list')), checks);
}

export function array<T>(item: Schema<T>, rules: ArrayRules = {}): Schema<T[]> {
  return new Schema<T[]>(list(item.zod, rules));
}

/** A single item or a list of them; parse gives a list either way ("role": "full" or "role": ["a", "b"]). */
export function oneOrMany<T>(item: Schema<T>, rules: ArrayRules = {}): Schema<T[]> {
  const many = list(item.zod, rules);
  const one = z.pipe(item.zod, z.transform((value) => [value]));
  // Not z.union: it would report both branches' issues for a bad list item; the value's shape picks one.
  return new Schema<T[]>(
    z.pipe(
      z.unknown(),
      z.transform((value, context) => {
        const result = (Array.isArray(value) ? many : one).safeParse(value);
        if (result.success) return result.data;
        forward(result.error.issues, [], value, context);
        return z.NEVER;
      }),
    ),
  );
}

/** The issues of a schema run inside a transform, reported as the transform's own, `below` the value's path. */
function forward(issues: readonly z.core.$ZodIssue[], below: readonly PathPart[], input: unknown, context: z.core.ParsePayload): void {
  for (const issue of toIssues(issues)) context.issues.push({ code: 'custom', message: issue.message, path: [...below, ...issue.path], input });
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { readonly [OPTIONAL]: true } ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Flatten<{ [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object with exactly these keys (absent optional keys stay absent; defaults are filled in). */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  const unknownKey = `unknown key (allowed: ${Object.keys(shape).join(', ')})`;
  const zodShape = Object.fromEntries(Object.entries(shape).map(([key, schema]) => [key, schema.zod]));
  return new Schema<ObjectOf<S>>(
    z.strictObject(zodShape, { error: (issue: { code?: string; input?: unknown }) => (issue.code === 'unrecognized_keys' ? unknownKey : missingOr(issue.input, 'an object')) }),
  );
}

/**
 * A JSON object used as a map: every key matches `key`, every value `value`. Not zod's record, which drops a
 * "__proto__" key without a word: here it is an own key like any other (checked, kept, never the prototype).
 */
export function record<T>(key: { pattern: RegExp; message: string }, value: Schema<T>): Schema<Record<string, T>> {
  return new Schema<Record<string, T>>(
    z.pipe(
      z.custom<Record<string, unknown>>(isPlainObject, { error: (issue: { input?: unknown }) => missingOr(issue.input, 'an object') }),
      z.transform((input, context) => {
        const out: [string, T][] = [];
        for (const [name, element] of Object.entries(input)) {
          if (!key.pattern.test(name)) {
            context.issues.push({ code: 'custom', message: key.message, path: [name], input: name });
            continue;
          }
          const result = value.zod.safeParse(element);
          if (result.success) out.push([name, result.data as T]);
          else forward(result.error.issues, [name], element, context);
        }
        // Built with fromEntries: a key such as "__proto__" becomes an own property, never the object's prototype.
        return Object.fromEntries(out);
      }),
    ),
  );
}

/** `mqtt.version`, `controllers[1].endpointId`, `executionUnits[0].env.PATH`. */
export function formatPath(path: readonly PathPart[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}
