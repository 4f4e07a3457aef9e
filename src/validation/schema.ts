// Typed validation of untrusted JSON (the config file, app manifests, signed catalog summaries): a schema checks
// a value, fills documented defaults, and reports every problem with its key path, e.g.
// `mqtt.version: must be 5 (MQTT 5.0) or 4 (MQTT 3.1.1)`.
//
// berth had zod here. zod is a fine library, but the agent is a long-running process on a small gateway and
// zod's full API (no tree shaking for its classic API) kept ~5 MiB of the agent's memory for the ~80 checks berth
// makes. This file is the part berth uses: strings, integers, booleans, literal choices, arrays, strict objects,
// records, optional values, defaults and refinements.
//
// Objects are strict: an unknown key is an error, so a typo in a config or manifest never passes silently.

export type PathPart = string | number;

export interface Issue {
  readonly path: readonly PathPart[];
  readonly message: string;
}

export type ParseResult<T> = { readonly success: true; readonly data: T } | { readonly success: false; readonly issues: readonly Issue[] };

/** Returned by a check that failed; its issues are already recorded. */
const INVALID: unique symbol = Symbol('invalid');
type Checked<T> = T | typeof INVALID;
type Check<T> = (value: unknown, path: readonly PathPart[], issues: Issue[]) => Checked<T>;

export class Schema<T> {
  /** Type only: what parse() gives (see Infer). */
  declare readonly output: T;
  /** @internal */
  readonly check: Check<T>;

  constructor(check: Check<T>) {
    this.check = check;
  }

  parse(value: unknown): ParseResult<T> {
    const issues: Issue[] = [];
    const data = this.check(value, [], issues);
    return data === INVALID || issues.length > 0 ? { success: false, issues } : { success: true, data };
  }

  /** The value may be absent (undefined). */
  optional(): OptionalSchema<T> {
    return new Schema<T | undefined>((value, path, issues) => (value === undefined ? undefined : this.check(value, path, issues))) as OptionalSchema<T>;
  }

  /**
   * An absent value is checked as `fallback` instead, so an object's default can be `{}` and its keys' own
   * defaults fill it. Objects, lists and records are built anew by their check, so every parse gets its own
   * copy and callers may change what they get.
   */
  default(fallback: T | Partial<T>): Schema<T> {
    return new Schema<T>((value, path, issues) => this.check(value === undefined ? fallback : value, path, issues));
  }

  /** A further rule; `message` is reported at the value's path, or at `path` below it. */
  refine(rule: (value: T) => boolean, message: string, path: readonly PathPart[] = []): Schema<T> {
    return new Schema<T>((value, at, issues) => {
      const checked = this.check(value, at, issues);
      if (checked === INVALID) return INVALID;
      if (!rule(checked)) {
        issues.push({ path: [...at, ...path], message });
        return INVALID;
      }
      return checked;
    });
  }

  /** Rules that need the whole value and report at paths inside it (e.g. duplicates in a list). */
  superRefine(rules: (value: T, report: (path: readonly PathPart[], message: string) => void) => void): Schema<T> {
    return new Schema<T>((value, at, issues) => {
      const checked = this.check(value, at, issues);
      if (checked === INVALID) return INVALID;
      const before = issues.length;
      rules(checked, (path, message) => issues.push({ path: [...at, ...path], message }));
      return issues.length > before ? INVALID : checked;
    });
  }
}

declare const OPTIONAL: unique symbol;
/** A schema whose value may be undefined; an object type makes its key optional. */
export type OptionalSchema<T> = Schema<T | undefined> & { readonly [OPTIONAL]: true };

export type Infer<S> = S extends { readonly output: infer T } ? T : never;

function fail(issues: Issue[], path: readonly PathPart[], message: string): typeof INVALID {
  issues.push({ path, message });
  return INVALID;
}

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

export interface StringRules {
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** Said when `pattern` does not match (default: "must match <pattern>"). */
  patternMessage?: string;
}

export function string(rules: StringRules = {}): Schema<string> {
  return new Schema<string>((value, path, issues) => {
    if (typeof value !== 'string') return fail(issues, path, missingOr(value, 'a string'));
    if (rules.min !== undefined && value.length < rules.min) return fail(issues, path, rules.min === 1 ? 'must not be empty' : `must be at least ${rules.min} characters`);
    if (rules.max !== undefined && value.length > rules.max) return fail(issues, path, `must be at most ${rules.max} characters`);
    if (rules.pattern && !rules.pattern.test(value)) return fail(issues, path, rules.patternMessage ?? `must match ${String(rules.pattern)}`);
    return value;
  });
}

export interface IntegerRules {
  min?: number;
  max?: number;
}

export function integer(rules: IntegerRules = {}): Schema<number> {
  const { min, max } = rules;
  const range =
    min !== undefined && max !== undefined ? `an integer from ${min} to ${max}` : min !== undefined ? `an integer ≥ ${min}` : max !== undefined ? `an integer ≤ ${max}` : 'an integer';
  return new Schema<number>((value, path, issues) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return fail(issues, path, missingOr(value, range));
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) return fail(issues, path, `must be ${range}, not ${value}`);
    return value;
  });
}

export function boolean(): Schema<boolean> {
  return new Schema<boolean>((value, path, issues) => (typeof value === 'boolean' ? value : fail(issues, path, missingOr(value, 'true or false'))));
}

/** One of a few literal values (strings or numbers). */
export function oneOf<const V extends readonly (string | number)[]>(values: V, message?: string): Schema<V[number]> {
  const allowed = new Set<unknown>(values);
  const said = message ?? `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return new Schema<V[number]>((value, path, issues) => (allowed.has(value) ? (value as V[number]) : fail(issues, path, value === undefined ? `is required (${said.replace(/^must be /, '')})` : said)));
}

export interface ArrayRules {
  min?: number;
  max?: number;
}

export function array<T>(item: Schema<T>, rules: ArrayRules = {}): Schema<T[]> {
  return new Schema<T[]>((value, path, issues) => {
    if (!Array.isArray(value)) return fail(issues, path, missingOr(value, 'a list'));
    if (rules.min !== undefined && value.length < rules.min) return fail(issues, path, `must have at least ${rules.min} item${rules.min === 1 ? '' : 's'}`);
    if (rules.max !== undefined && value.length > rules.max) return fail(issues, path, `must have at most ${rules.max} items`);
    const out: T[] = [];
    let valid = true;
    value.forEach((element, i) => {
      const checked = item.check(element, [...path, i], issues);
      if (checked === INVALID) valid = false;
      else out.push(checked);
    });
    return valid ? out : INVALID;
  });
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { readonly [OPTIONAL]: true } ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Flatten<{ [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object with exactly these keys (absent optional keys stay absent; defaults are filled in). */
/** A single item or a list of them; parse gives a list either way ("role": "full" or "role": ["a", "b"]). */
export function oneOrMany<T>(item: Schema<T>, rules: ArrayRules = {}): Schema<T[]> {
  const list = array(item, rules);
  return new Schema<T[]>((value, path, issues) => {
    if (Array.isArray(value)) return list.check(value, path, issues);
    const one = item.check(value, path, issues);
    return one === INVALID ? INVALID : [one];
  });
}

export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  return new Schema<ObjectOf<S>>((value, path, issues) => {
    if (!isPlainObject(value)) return fail(issues, path, missingOr(value, 'an object'));
    let valid = true;
    for (const key of Object.keys(value)) {
      if (Object.hasOwn(shape, key)) continue;
      fail(issues, [...path, key], `unknown key (allowed: ${Object.keys(shape).join(', ')})`);
      valid = false;
    }
    const out: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(shape)) {
      const checked = schema.check(value[key], [...path, key], issues);
      if (checked === INVALID) valid = false;
      else if (checked !== undefined) out[key] = checked;
    }
    return valid ? (out as ObjectOf<S>) : INVALID;
  });
}

/** A JSON object used as a map: every key matches `key`, every value `value`. */
export function record<T>(key: { pattern: RegExp; message: string }, value: Schema<T>): Schema<Record<string, T>> {
  return new Schema<Record<string, T>>((input, path, issues) => {
    if (!isPlainObject(input)) return fail(issues, path, missingOr(input, 'an object'));
    // Built with fromEntries: a key such as "__proto__" becomes an own property, never the object's prototype.
    const out: [string, T][] = [];
    let valid = true;
    for (const [name, element] of Object.entries(input)) {
      if (!key.pattern.test(name)) {
        fail(issues, [...path, name], key.message);
        valid = false;
        continue;
      }
      const checked = value.check(element, [...path, name], issues);
      if (checked === INVALID) valid = false;
      else out.push([name, checked]);
    }
    return valid ? Object.fromEntries(out) : INVALID;
  });
}

/** `mqtt.version`, `controllers[1].endpointId`, `executionUnits[0].env.PATH`. */
export function formatPath(path: readonly PathPart[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}
