/**
 * The Salt functions templates call on their data (`grains.get`, `pillar.get`,
 * `grains.filter_by`…), as plain functions over facts and settings.
 * @module
 */

/** Look up `key` (`a:b:c`) in `data`, or `fallback`. */
export function lookupKey(data: unknown, key: string, fallback: unknown = ""): unknown {
  let cur = data;
  for (const k of key.split(":")) {
    if (cur && typeof cur === "object" && Object.hasOwn(cur, k)) {
      cur = (cur as Record<string, unknown>)[k];
    } else return fallback;
  }
  return cur;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge `b` into a copy of `a`, as Salt's `dictupdate.update` does. */
export function deepMerge(a: unknown, b: unknown): unknown {
  if (!isMap(a) || !isMap(b)) return b === undefined ? a : b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Object.hasOwn(out, k) ? deepMerge(out[k], v) : v;
  return out;
}

/** Grain names of Salt formulas, as paths in Zester's facts. */
const GRAIN_ALIASES: Record<string, string> = {
  os_family: "os:family",
  os: "os:name",
  osrelease: "os:platform_version",
  oscodename: "os:codename",
  kernel: "kernel:name",
};

/**
 * Salt's `grains.filter_by`: the entry of `lookup` named by a grain's value (`os_family` by
 * default; matched case-insensitively), else `default`'s, on top of `base`, with `merge` merged in.
 */
export function filterBy(
  facts: Record<string, unknown>,
  lookup: unknown,
  grain: unknown = "os_family",
  merge?: unknown,
  dflt: unknown = "default",
  base?: unknown,
): unknown {
  if (!isMap(lookup)) return undefined;
  const name = String(grain);
  const missing = Symbol("missing");
  let value = lookupKey(facts, name, missing);
  if (value === missing && GRAIN_ALIASES[name]) {
    value = lookupKey(facts, GRAIN_ALIASES[name]!, missing);
  }
  const wanted = value === missing ? undefined : String(value).toLowerCase();
  const entry = (k: unknown) => Object.hasOwn(lookup, String(k)) ? lookup[String(k)] : undefined;
  const key = Object.keys(lookup).find((k) => k.toLowerCase() === wanted);
  let found = entry(key ?? dflt);
  if (base !== undefined && isMap(entry(base))) found = deepMerge(entry(base), found);
  return merge === undefined || merge === null ? found : deepMerge(found, merge);
}
