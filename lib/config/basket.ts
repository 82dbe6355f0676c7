/**
 * The `basket:` section of `peel.yaml`: what the peel publishes into the basket (Salt's mine),
 * written as Salt's `mine_functions` and `mine_interval`:
 *
 * ```yaml
 * basket:
 *   interval: 60                       # minutes, as mine_interval (or a duration: 30s, 5m)
 *   functions:
 *     network.ip_addrs: []             # a function, no arguments
 *     network.ip_addrs6: {interface: eth0}  # keyword arguments
 *     test.arg: [a, b, {c: d}]         # positional; a map in the list holds keywords
 *     web_ips:                         # an alias: published under web_ips
 *       mine_function: network.ip_addrs
 *       cidr: 10.0.0.0/8
 *     ip_list: [{mine_function: grains.get}, ip_interfaces]
 * ```
 * @module
 */
import * as s from "../schema/mod.ts";
import { BasketKeyError, encodeName } from "../basket/key.ts";
import { parseDuration } from "./duration.ts";

/** One function the peel publishes: the name it is published under, and how it is called. */
export interface BasketFunction {
  /** The basket name: the function, or the alias it is published under. */
  name: string;
  /** The execution function run (`network.ip_addrs`). */
  fun: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

const FUNCTION_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** Salt's per-function access lists, which Zester does not have: every peel reads the basket. */
const UNSUPPORTED = ["allow_tgt", "allow_tgt_type"];

/**
 * One `mine_functions` entry `name: spec` as a {@linkcode BasketFunction}; throws `SchemaError`
 * naming `path`. Also the shape `mine.send` takes its arguments in.
 */
export function basketFunction(name: string, spec: unknown, path: string): BasketFunction {
  try {
    encodeName(name);
  } catch (e) {
    if (e instanceof BasketKeyError) {
      throw new s.SchemaError(path, "a name of 1 to 256 characters", name, { cause: e });
    }
    throw e;
  }
  const args: unknown[] = [];
  const kwargs: Record<string, unknown> = {};
  const items = spec === null || spec === undefined
    ? []
    : Array.isArray(spec)
    ? spec
    : s.isPlainObject(spec)
    ? [spec]
    : undefined;
  if (!items) {
    throw new s.SchemaError(path, "a list of arguments or a map of keyword arguments", spec);
  }
  for (const item of items) {
    if (s.isPlainObject(item)) Object.assign(kwargs, item);
    else args.push(item);
  }
  const bad = UNSUPPORTED.find((k) => k in kwargs);
  if (bad) {
    throw new s.SchemaError(
      `${path}.${bad}`,
      "no such key (every peel reads the basket)",
      kwargs[bad],
    );
  }
  const aliased = "mine_function" in kwargs;
  const fun = aliased ? kwargs.mine_function : name;
  delete kwargs.mine_function;
  if (typeof fun !== "string" || !FUNCTION_NAME.test(fun)) {
    throw new s.SchemaError(
      aliased ? `${path}.mine_function` : path,
      "a function name such as network.ip_addrs (or an alias with mine_function: naming one)",
      fun,
    );
  }
  if (/^(mine|basket)\./.test(fun)) {
    throw new s.SchemaError(path, "a function other than mine.* and basket.*", fun);
  }
  return { name, fun, args, kwargs };
}

const functions: s.Schema<BasketFunction[]> = s.transform(
  s.record(s.unknown()),
  (v, path) =>
    Object.entries(v).map(([name, spec]) => basketFunction(name, spec, `${path}.${name}`)),
  "a map of functions, as Salt's mine_functions",
);

const interval: s.Schema<number> = s.transform(
  s.union(s.number({ min: 0 }), s.string()),
  (v, path) => {
    let ms: number;
    try {
      ms = typeof v === "number" ? Math.round(v * 60_000) : parseDuration(v);
    } catch (e) {
      throw new s.SchemaError(path, "minutes, or a duration such as 30s or 5m", v, { cause: e });
    }
    if (ms < 1000) throw new s.SchemaError(path, "at least one second", v);
    return ms;
  },
  "minutes, or a duration such as 30s or 5m",
);

/** Validator for the `basket:` section; `interval` is parsed to milliseconds (default 60 minutes). */
export const BasketSection = s.object({
  interval: s.optional(interval, 60 * 60_000),
  functions: s.optional(functions, []),
});
/** A validated `basket:` section. */
export type BasketSection = s.Infer<typeof BasketSection>;
