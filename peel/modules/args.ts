/**
 * Reading a state's arguments: each accessor checks the type and throws an
 * {@linkcode ArgumentError} naming the function and the argument, which the runner reports as
 * the state's failure.
 * @module
 */
import type { Chunk } from "../../lib/state/mod.ts";
import { ArgumentError } from "../functions/context.ts";

export { ArgumentError };

const fn = (c: Chunk) => `${c.module}.${c.fun}`;

/** An argument that cannot be used: names the function, the argument and what was expected. */
export function badArg(c: Chunk, key: string, expected: string): ArgumentError {
  // A chunk's name is not among its args unless a state gave it as one.
  const v = key === "name" ? c.args.name ?? c.name : c.args[key];
  const got = v === undefined ? "nothing" : JSON.stringify(v) ?? String(v);
  return new ArgumentError(`${fn(c)}: argument "${key}" must be ${expected}, got ${got}`);
}

/** A string argument (numbers are accepted as YAML reads them), or `fallback`. */
export function strArg(c: Chunk, key: string): string | undefined;
export function strArg(c: Chunk, key: string, fallback: string): string;
export function strArg(c: Chunk, key: string, fallback?: string): string | undefined {
  const v = c.args[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === "string" || typeof v === "number") return String(v);
  throw badArg(c, key, "a string");
}

/** A string argument that must be given. */
export function needStr(c: Chunk, key: string): string {
  const v = strArg(c, key);
  if (v === undefined || v === "") throw badArg(c, key, "a non-empty string");
  return v;
}

/** A boolean argument (`True`/`False` as Salt's YAML gives them), or `fallback`. */
export function boolArg(c: Chunk, key: string, fallback: boolean): boolean {
  const v = c.args[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === "boolean") return v;
  if (v === "True" || v === "true") return true;
  if (v === "False" || v === "false") return false;
  throw badArg(c, key, "True or False");
}

/** An integer argument within bounds, or `fallback`. */
export function intArg(c: Chunk, key: string, opts: { min?: number; max?: number } = {}) {
  const v = c.args[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "number"
    ? v
    : typeof v === "string" && /^-?\d+$/.test(v)
    ? Number(v)
    : NaN;
  if (!Number.isInteger(n) || n < (opts.min ?? -Infinity) || n > (opts.max ?? Infinity)) {
    const range = opts.min === undefined ? "" : ` from ${opts.min}`;
    throw badArg(c, key, `an integer${range}${opts.max === undefined ? "" : ` to ${opts.max}`}`);
  }
  return n;
}

/** A non-negative number argument (seconds, say). */
export function numberArg(c: Chunk, key: string): number | undefined {
  const v = c.args[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) throw badArg(c, key, "a non-negative number");
  return n;
}

/** A list of strings; a single string (or a comma-separated one, with `split`) is a list of one. */
export function listArg(c: Chunk, key: string, split = false): string[] | undefined {
  const v = c.args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return split ? v.split(",").map((x) => x.trim()).filter(Boolean) : [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) {
    return v.map(String);
  }
  throw badArg(c, key, "a list of strings");
}

/** A map argument (a list of one-key maps, as YAML lists give them, is merged). */
export function mapArg(c: Chunk, key: string): Record<string, unknown> | undefined {
  const v = c.args[key];
  if (v === undefined || v === null) return undefined;
  const isMap = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x);
  if (isMap(v)) return v;
  if (Array.isArray(v) && v.every(isMap)) return Object.assign({}, ...v);
  throw badArg(c, key, "a map");
}

/** One of `values`, or `fallback`. */
export function oneOf<const T extends string>(
  c: Chunk,
  key: string,
  values: readonly T[],
  fallback: T,
): T {
  const v = strArg(c, key);
  if (v === undefined) return fallback;
  const found = values.find((x) => x === v.toLowerCase());
  if (!found) throw badArg(c, key, `one of ${values.join(", ")}`);
  return found;
}

/** A file mode as people write it: "0644", "644", or 644 as YAML 1.2 reads an unquoted 0644. */
export function modeArg(c: Chunk, key: string): number | undefined {
  const v = c.args[key];
  if (v === undefined || v === null) return undefined;
  if (!/^0?[0-7]{3,4}$/.test(String(v))) throw badArg(c, key, 'a file mode such as "0644"');
  return parseInt(String(v), 8);
}
