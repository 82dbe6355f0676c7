/**
 * Matching a `key:value` expression against nested data (facts for `G@`/`P@`, settings for
 * `I@`), with the meaning of Salt's `subdict_match`: every split of the expression into a key
 * path and a value is tried, so values may contain the delimiter; key paths may also use dots
 * (`os.family`); a list matches when any element does; a map matches when the value names one
 * of its keys, or (Zester's namespaces such as `os` and `kernel` standing for their `name`) its
 * `name`; `*` matches any existing key. Glob matching is case-insensitive and compares
 * non-string values by their string form. Facts match under Zester's names and under Salt's grain
 * names (`G@os_family:Debian`, `G@osmajorrelease:12`), which are a view of them (`lib/grains`).
 * @module
 */
import { COMPUTED_GRAINS, grainFacts, saltGrains } from "../grains/mod.ts";
import type { PeelView } from "./peel_view.ts";

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const MISSING = Symbol("missing");

function step(cur: unknown, key: string): unknown {
  if (isMap(cur)) return Object.hasOwn(cur, key) ? cur[key] : MISSING;
  if (Array.isArray(cur)) {
    if (/^\d+$/.test(key)) return Number(key) < cur.length ? cur[Number(key)] : MISSING;
    for (const item of cur) {
      if (isMap(item) && Object.hasOwn(item, key)) return item[key];
    }
  }
  return MISSING;
}

/** Follow `keys` (each may also be dotted) into `data`; {@linkcode MISSING} when absent. */
function traverse(data: unknown, keys: string[]): unknown {
  let cur = data;
  for (const key of keys) {
    const direct = step(cur, key);
    if (direct !== MISSING) {
      cur = direct;
      continue;
    }
    if (!key.includes(".")) return MISSING;
    for (const part of key.split(".")) {
      cur = step(cur, part);
      if (cur === MISSING) return MISSING;
    }
  }
  return cur;
}

/** The string form Salt compares: `true`, `7`, `None` for null. */
export function stringForm(v: unknown): string {
  if (v === null || v === undefined) return "None";
  return String(v);
}

function valueMatches(value: unknown, test: (s: string) => boolean, pattern: string): boolean {
  if (Array.isArray(value)) return value.some((v) => valueMatches(v, test, pattern));
  if (isMap(value)) {
    if (pattern === "*") return true;
    if (Object.keys(value).some((k) => test(k))) return true;
    return "name" in value && !isMap(value.name) && valueMatches(value.name, test, pattern);
  }
  return test(stringForm(value));
}

/** One way to read `key:value`: the key path and a test for the value. */
export interface Split {
  keys: string[];
  pattern: string;
  test: (value: string) => boolean;
}

/**
 * Every split of `expr` on `delimiter` into a key path and a value, with `makeTest` applied to
 * each value pattern; splits whose pattern `makeTest` rejects (returns undefined) are left out.
 */
export function splits(
  expr: string,
  delimiter: string,
  makeTest: (pattern: string) => ((value: string) => boolean) | undefined,
): Split[] {
  const parts = expr.split(delimiter);
  const out: Split[] = [];
  for (let i = 1; i < parts.length; i++) {
    const pattern = parts.slice(i).join(delimiter);
    const test = makeTest(pattern);
    if (test) out.push({ keys: parts.slice(0, i), pattern, test });
  }
  return out;
}

const GRAINS = new WeakMap<Record<string, unknown>, Record<string, unknown>>();

/**
 * The grains of `facts` that differ from the fact of the same name (Salt's `os_family`, `os` as
 * a string…), computed once per facts object. Every other grain is the fact itself, which
 * matching already tries.
 */
export function grainsOf(facts: Record<string, unknown>): Record<string, unknown> {
  let grains = GRAINS.get(facts);
  if (!grains) {
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(saltGrains(facts))) {
      if (!Object.hasOwn(facts, k) || !Object.is(facts[k], v)) own[k] = v;
    }
    GRAINS.set(facts, grains = own);
  }
  return grains;
}

/** The top-level facts the grains named `names` depend on, each once. */
function grainSources(names: readonly string[]): string[] {
  return [...new Set(names.flatMap(grainFacts))];
}

/** True when a split's first key may name a computed grain (dotted or not). */
function namesGrain(c: Split): boolean {
  const first = c.keys[0]!;
  return COMPUTED_GRAINS.has(first) || COMPUTED_GRAINS.has(first.split(".")[0]!);
}

/**
 * True when `peel`'s facts, under Zester's or Salt's names, match any of `candidates`: only the
 * top-level facts they name are read, and the grains, from the facts those depend on, only for a
 * name that may be one.
 */
export function factsMatch(peel: PeelView, candidates: readonly Split[]): boolean {
  const names = candidates.flatMap((c) => [c.keys[0]!, c.keys[0]!.split(".")[0]!]);
  const named = peel.factsAt?.(names);
  return subdictMatch(named ?? peel.facts, candidates) ||
    (candidates.some(namesGrain) &&
      subdictMatch(grainsOf(peel.factsAt?.(grainSources(names)) ?? peel.facts), candidates));
}

/** True when `data` matches any of `candidates` (from {@linkcode splits}). */
export function subdictMatch(data: unknown, candidates: readonly Split[]): boolean {
  for (const c of candidates) {
    const value = traverse(data, c.keys);
    if (value !== MISSING && valueMatches(value, c.test, c.pattern)) return true;
  }
  return false;
}
