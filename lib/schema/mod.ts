/**
 * Small runtime validators for everything that enters a process: config files, NATS messages,
 * broker frames and CLI input. Each validator returns the typed value or throws a
 * {@linkcode SchemaError} naming the field path and what was expected.
 *
 * @example
 * ```ts
 * import * as s from "./mod.ts";
 * const Peel = s.object({ id: s.string({ pattern: /^[a-z]+$/ }), port: s.optional(s.int()) });
 * const peel = Peel.parse({ id: "web" }); // { id: "web", port: undefined }
 * ```
 * @module
 */

/** A validator that turns an unknown value into a `T`, or throws {@linkcode SchemaError}. */
export interface Schema<T> {
  /** Validate `value`; `path` names it in errors (e.g. `"nats_url"`). */
  parse(value: unknown, path?: string): T;
  /** What the validator expects, as written in error messages. */
  readonly expected: string;
  /** True when the key may be missing from an object. */
  readonly optional?: boolean;
  /** The value a missing optional key takes (for generated docs). */
  readonly fallback?: unknown;
  /** The schema an optional one wraps (for generated docs and flags). */
  readonly inner?: Schema<unknown>;
  /** The keys of an object schema (for generated docs and flags). */
  readonly shape?: Readonly<Record<string, Schema<unknown>>>;
}

/** The type a schema produces. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** A value that does not have the expected shape; `path` names the field. */
export class SchemaError extends TypeError {
  /** Dotted path of the offending field (`""` for the root). */
  readonly path: string;
  /** What the schema expected there. */
  readonly expected: string;

  /** Build the error for `path`, saying what was `expected` and what was found. */
  constructor(path: string, expected: string, found: unknown, options?: ErrorOptions) {
    const where = path === "" ? "value" : `field "${path}"`;
    super(`Invalid ${where}: expected ${expected}, got ${describe(found)}`, options);
    this.name = "SchemaError";
    this.path = path;
    this.expected = expected;
  }
}

/** Short printable form of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  }
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return `${typeof value} ${String(value)}`;
}

function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path === "" ? key : `${path}.${key}`;
}

function make<T>(expected: string, parse: (value: unknown, path: string) => T): Schema<T> {
  return { expected, parse: (value, path = "") => parse(value, path) };
}

/** A string, optionally bounded in length and matched against a pattern. */
export function string(
  opts: { pattern?: RegExp; minLength?: number; maxLength?: number; expected?: string } = {},
): Schema<string> {
  const expected = opts.expected ??
    (opts.pattern ? `a string matching ${opts.pattern}` : "a string");
  return make(expected, (v, path) => {
    if (typeof v !== "string") throw new SchemaError(path, expected, v);
    if (opts.minLength !== undefined && v.length < opts.minLength) {
      throw new SchemaError(path, `${expected} of at least ${opts.minLength} characters`, v);
    }
    if (opts.maxLength !== undefined && v.length > opts.maxLength) {
      throw new SchemaError(path, `${expected} of at most ${opts.maxLength} characters`, v);
    }
    if (opts.pattern && !opts.pattern.test(v)) throw new SchemaError(path, expected, v);
    return v;
  });
}

/** A finite number within optional bounds. */
export function number(opts: { min?: number; max?: number; int?: boolean } = {}): Schema<number> {
  const kind = opts.int ? "an integer" : "a number";
  const bounds = [
    opts.min !== undefined ? `>= ${opts.min}` : "",
    opts.max !== undefined ? `<= ${opts.max}` : "",
  ].filter(Boolean).join(" and ");
  const expected = bounds ? `${kind} ${bounds}` : kind;
  return make(expected, (v, path) => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new SchemaError(path, expected, v);
    if (opts.int && !Number.isInteger(v)) throw new SchemaError(path, expected, v);
    if (opts.min !== undefined && v < opts.min) throw new SchemaError(path, expected, v);
    if (opts.max !== undefined && v > opts.max) throw new SchemaError(path, expected, v);
    return v;
  });
}

/** An integer within optional bounds. */
export function int(opts: { min?: number; max?: number } = {}): Schema<number> {
  return number({ ...opts, int: true });
}

/** `true` or `false`. */
export function boolean(): Schema<boolean> {
  return make("a boolean", (v, path) => {
    if (typeof v !== "boolean") throw new SchemaError(path, "a boolean", v);
    return v;
  });
}

/** One of a fixed set of strings. */
export function literal<const T extends readonly string[]>(...values: T): Schema<T[number]> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  return make(expected, (v, path) => {
    if (typeof v !== "string" || !values.includes(v)) throw new SchemaError(path, expected, v);
    return v as T[number];
  });
}

/** Any value, unchecked; use only where the value is passed through as data. */
export function unknown(): Schema<unknown> {
  return make("anything", (v) => v);
}

/** Raw bytes. */
export function bytes(): Schema<Uint8Array> {
  return make("bytes", (v, path) => {
    if (!(v instanceof Uint8Array)) throw new SchemaError(path, "bytes", v);
    return v;
  });
}

/** A list whose items all match `item`. */
export function array<T>(item: Schema<T>, opts: { maxItems?: number } = {}): Schema<T[]> {
  const expected = `a list of ${item.expected.replace(/^an? /, "")}`;
  return make(expected, (v, path) => {
    if (!Array.isArray(v)) throw new SchemaError(path, expected, v);
    if (opts.maxItems !== undefined && v.length > opts.maxItems) {
      throw new SchemaError(path, `${expected} of at most ${opts.maxItems} items`, v);
    }
    return v.map((x, i) => item.parse(x, join(path, i)));
  });
}

/** A map with string keys whose values all match `value`. */
export function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  const expected = "a map";
  return make(expected, (v, path) => {
    if (!isPlainObject(v)) throw new SchemaError(path, expected, v);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) out[k] = value.parse(x, join(path, k));
    return out;
  });
}

/** The first of `options` that accepts the value. */
export function union<T extends Schema<unknown>[]>(...options: T): Schema<Infer<T[number]>> {
  const expected = options.map((o) => o.expected).join(" or ");
  return make(expected, (v, path) => {
    for (const o of options) {
      try {
        return o.parse(v, path) as Infer<T[number]>;
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
      }
    }
    throw new SchemaError(path, expected, v);
  });
}

/** Allows the key to be missing (or `null`); the value is then `fallback`. */
export function optional<T>(inner: Schema<T>): Schema<T | undefined>;
export function optional<T>(inner: Schema<T>, fallback: T): Schema<T>;
export function optional<T>(inner: Schema<T>, fallback?: T): Schema<T | undefined> {
  return {
    expected: inner.expected,
    optional: true,
    fallback,
    inner,
    parse: (v, path = "") => (v === undefined || v === null) ? fallback : inner.parse(v, path),
  };
}

/** Maps each value after validation, e.g. to parse a duration string into milliseconds. */
export function transform<T, U>(
  inner: Schema<T>,
  fn: (value: T, path: string) => U,
  expected = inner.expected,
): Schema<U> {
  return {
    expected,
    optional: inner.optional,
    // A check or conversion after an object's validation keeps its keys, for docs and flags.
    shape: inner.shape,
    parse: (v, path = "") => {
      let value: T;
      try {
        value = inner.parse(v, path);
      } catch (e) {
        if (e instanceof SchemaError && e.path === path && expected !== inner.expected) {
          throw new SchemaError(path, expected, v, { cause: e });
        }
        throw e;
      }
      return fn(value, path);
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: undefined extends Infer<S[K]> ? K : never;
}[keyof S];
type ObjectOf<S extends Shape> =
  & { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> }
  & { [K in OptionalKeys<S>]?: Infer<S[K]> };
type Flatten<T> = { [K in keyof T]: T[K] };

/**
 * A map with known keys. With `strict` (the default) an unknown key is an error, which catches
 * typos in config files; wire messages may pass `strict: false` to accept newer fields.
 */
export function object<S extends Shape>(
  shape: S,
  opts: { strict?: boolean } = {},
): Schema<Flatten<ObjectOf<S>>> {
  const strict = opts.strict ?? true;
  const expected = "a map";
  const entries = Object.entries(shape);
  return {
    shape,
    ...make(expected, (v, path) => {
      if (!isPlainObject(v)) throw new SchemaError(path, expected, v);
      if (strict) {
        for (const k of Object.keys(v)) {
          if (!(k in shape)) {
            const known = Object.keys(shape).join(", ");
            throw new SchemaError(join(path, k), `no such key (known keys: ${known})`, v[k]);
          }
        }
      }
      const out: Record<string, unknown> = {};
      for (const [k, schema] of entries) {
        const x = Object.hasOwn(v, k) ? v[k] : undefined;
        if (x === undefined && !schema.optional) {
          throw new SchemaError(join(path, k), schema.expected, undefined);
        }
        const parsed = schema.parse(x, join(path, k));
        if (parsed !== undefined) out[k] = parsed;
      }
      return out as Flatten<ObjectOf<S>>;
    }),
  };
}

/** True for `{}`-style objects (not arrays, bytes, dates or null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
