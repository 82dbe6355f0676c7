/**
 * The Salt functions templates call on their data, with Salt's semantics: key lookup through
 * dicts and lists (`traverse`), `dictupdate.update` and `slsutil.merge`'s strategies,
 * `grains.filter_by`, `pillar.get` with `merge`, and `config.get`'s lookup order (options, then
 * grains, then settings, then the settings' `master` key).
 * @module
 */
import { compileGlob } from "../target/glob.ts";
import { put } from "./py_methods.ts";
import { isDict, pyEq } from "./python.ts";

type Dict = Record<string, unknown>;

/**
 * Salt's `traverse_dict_and_list`: follow `key` (`a:b:0`, split on `delimiter`) through dicts and
 * lists (an index, or the first dict in a list holding the key); `fallback` when absent.
 */
export function traverse(data: unknown, key: unknown, fallback: unknown = null, delimiter = ":") {
  const parts = Array.isArray(key) ? key.map(String) : String(key).split(delimiter);
  let cur = data;
  for (const part of parts) {
    if (Array.isArray(cur)) {
      const embedded = cur.find((x) => isDict(x) && Object.hasOwn(x, part)) as Dict | undefined;
      if (embedded) cur = embedded[part];
      else if (/^-?\d+$/.test(part) && Number(part) < cur.length && -Number(part) <= cur.length) {
        cur = cur.at(Number(part));
      } else return fallback;
    } else if (isDict(cur) && Object.hasOwn(cur, part)) {
      cur = cur[part];
    } else return fallback;
  }
  return cur;
}

/** Look up `key` (`a:b:c`) in `data`, or `fallback` (Salt's default: the empty string). */
export function lookupKey(data: unknown, key: string, fallback: unknown = ""): unknown {
  return traverse(data, key, fallback);
}

/** A deep copy of plain data (dicts and lists; other values as they are). */
export function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  if (isDict(v)) {
    const out: Dict = {};
    for (const [k, x] of Object.entries(v)) put(out, k, deepCopy(x));
    return out as T;
  }
  return v;
}

/**
 * Salt's `dictupdate.update`: merge `upd` into `dest` in place, recursing into dicts; lists are
 * replaced, or extended with the new elements when `mergeLists`.
 */
export function dictUpdate(dest: unknown, upd: unknown, mergeLists = false): Dict {
  if (!isDict(dest) || !isDict(upd)) {
    throw new TypeError("Cannot update using non-dict types in dictupdate.update()");
  }
  for (const [k, v] of Object.entries(upd)) {
    const cur = Object.hasOwn(dest, k) ? dest[k] : undefined;
    if (isDict(cur) && isDict(v)) put(dest, k, dictUpdate(cur, v, mergeLists));
    else if (Array.isArray(cur) && Array.isArray(v) && mergeLists) {
      const merged = deepCopy(cur);
      for (const x of v) if (!merged.some((y) => pyEq(y, x))) merged.push(x);
      put(dest, k, merged);
    } else put(dest, k, v);
  }
  return dest;
}

/**
 * Salt's `slsutil.merge` (`dictupdate.merge`): `recurse` (what `smart` means for YAML), `overwrite`
 * (top-level keys replaced whole), `list` (clashing values paired in a list), `aggregate` and
 * `none` (as `recurse`). `a` is not changed.
 */
export function saltMerge(a: unknown, b: unknown, strategy = "smart", mergeLists = false): unknown {
  switch (strategy) {
    case "list": {
      const out: Dict = {};
      for (const [k, v] of Object.entries(isDict(a) ? a : {})) {
        put(out, k, isDict(b) && Object.hasOwn(b, k) ? [v, b[k]] : v);
      }
      return out;
    }
    case "overwrite": {
      const out = deepCopy(a) as Dict;
      for (const [k, v] of Object.entries(isDict(b) ? b : {})) put(out, k, deepCopy(v));
      return out;
    }
    default:
      return dictUpdate(deepCopy(isDict(a) ? a : {}), isDict(b) ? b : {}, mergeLists);
  }
}

/**
 * Salt's `grains.filter_by`: the entry of `lookup` whose key (a glob, case-sensitive) matches the
 * grain's value (or any element of a list grain), else `default`'s, on top of `base`'s; `merge`
 * is merged into it.
 */
export function filterBy(
  grains: Dict,
  lookup: unknown,
  grain: unknown = "os_family",
  merge?: unknown,
  dflt: unknown = "default",
  base?: unknown,
): unknown {
  if (!isDict(lookup)) throw new TypeError("filter_by: lookup_dict must be a dictionary");
  const val = traverse(grains, String(grain), []);
  let ret: unknown;
  for (const each of Array.isArray(val) ? val : [val]) {
    const key = Object.keys(lookup).find((k) => compileGlob(k)(String(each)));
    if (key !== undefined) {
      ret = lookup[key];
      break;
    }
  }
  if (ret === undefined || ret === null) {
    ret = Object.hasOwn(lookup, String(dflt)) ? lookup[String(dflt)] : null;
  }
  if (base && Object.hasOwn(lookup, String(base))) {
    const baseValues = lookup[String(base)];
    if (ret === null || ret === undefined) ret = baseValues;
    else if (isDict(baseValues)) {
      if (!isDict(ret)) {
        throw new TypeError("filter_by default and look-up values must both be dictionaries.");
      }
      ret = dictUpdate(deepCopy(baseValues), ret);
    }
  }
  if (merge) {
    if (!isDict(merge)) throw new TypeError("filter_by merge argument must be a dictionary.");
    if (ret === null || ret === undefined) ret = merge;
    else dictUpdate(ret, deepCopy(merge));
  }
  return ret ?? null;
}

const MISSING = Symbol("missing");

/**
 * Salt's `pillar.get`: with `merge`, a dict default is deep-merged with the settings' dict
 * (lists in it merged when `mergeLists`), and a list default extended with the settings' list
 * elements it lacks; a value of another type is returned as it is.
 */
export function pillarGet(
  pillar: Dict,
  key: string,
  fallback: unknown = "",
  merge = false,
  delimiter = ":",
  mergeLists = false,
): unknown {
  if (merge && isDict(fallback)) {
    const found = traverse(pillar, key, {}, delimiter);
    if (isDict(found)) return dictUpdate(deepCopy(fallback), found, mergeLists);
  } else if (merge && Array.isArray(fallback)) {
    const found = traverse(pillar, key, [], delimiter);
    if (Array.isArray(found)) {
      const out = deepCopy(fallback);
      for (const x of found) if (!out.some((y) => pyEq(y, x))) out.push(x);
      return out;
    }
  }
  return traverse(pillar, key, fallback, delimiter);
}

/** The data `config.get` reads, in Salt's order of precedence. */
export interface ConfigSources {
  opts: Dict;
  grains: Dict;
  pillar: Dict;
  /** The master's configuration, as the settings' `master` key carries it. */
  master: Dict;
}

/**
 * Salt's `config.get`: the first of the options, grains, settings and master configuration that
 * has `key`; with `merge` (`recurse` or `overwrite`), all of them merged, options last.
 */
export function configGet(
  src: ConfigSources,
  key: string,
  fallback: unknown = "",
  merge?: unknown,
  delimiter = ":",
): unknown {
  if (merge === undefined || merge === null || merge === false) {
    for (const data of [src.opts, src.grains, src.pillar, src.master]) {
      const v = traverse(data, key, MISSING, delimiter);
      if (v !== MISSING) return v;
    }
    return fallback;
  }
  const strategy = merge === "overwrite" ? "overwrite" : "recurse";
  let data: unknown = {};
  for (const layer of [src.master, src.pillar, src.grains, src.opts]) {
    data = saltMerge(data, layer, strategy);
  }
  const v = traverse(data, key, MISSING, delimiter);
  return v === MISSING ? fallback : v;
}
