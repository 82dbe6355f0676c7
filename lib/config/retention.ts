/**
 * `retention:` in `master.yaml`: the limits of each bucket and stream (max age, history, max
 * bytes, replicas) over the documented defaults. They apply when provisioning creates a bucket;
 * afterwards they are the operator's (`nats stream edit`), and a difference is only reported.
 * @module
 */
import * as s from "../schema/mod.ts";
import { BUCKETS, STORAGE_NAMES, type StorageLimits, STREAMS } from "../bus/mod.ts";
import { duration } from "./nats.ts";

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i;

/** A size in bytes: a number, or `512MB`, `10GB`, `1TiB` (1024-based, as the nats CLI reads them); -1 is no limit. */
export function byteSize(): s.Schema<number> {
  const expected = "a size such as 512MB or 10GB, or -1 for no limit";
  return s.transform(s.union(s.int({ min: -1 }), s.string()), (v, path) => {
    if (typeof v === "number") return v;
    const m = SIZE.exec(v.trim());
    if (!m) throw new s.SchemaError(path, expected, v);
    return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
  }, expected);
}

const Limits = s.object({
  max_age: s.optional(duration()),
  history: s.optional(s.int({ min: 1, max: 64 })),
  max_bytes: s.optional(byteSize()),
  replicas: s.optional(s.int({ min: 1, max: 5 })),
});

/** Buckets whose keys are written once, and streams that are no KV: they take no `history`. */
const NO_HISTORY: readonly string[] = [
  ...Object.values(BUCKETS).filter((b) => "writeOnce" in b && b.writeOnce).map((b) => b.name),
  ...Object.values(STREAMS).map((st) => st.name),
];

/** Validator for `retention:`: bucket or stream name → limits, as {@linkcode StorageLimits}. */
export const Retention: s.Schema<Record<string, StorageLimits>> = s.transform(
  s.record(Limits),
  (byName, path) => {
    const out: Record<string, StorageLimits> = {};
    for (const [name, l] of Object.entries(byName)) {
      const at = path === "" ? name : `${path}.${name}`;
      if (!STORAGE_NAMES.includes(name)) {
        throw new s.SchemaError(at, `a bucket or stream name (${STORAGE_NAMES.join(", ")})`, l);
      }
      if (l.history !== undefined && NO_HISTORY.includes(name)) {
        throw new s.SchemaError(
          `${at}.history`,
          "no history: each key is written once, or this is a stream",
          l.history,
        );
      }
      out[name] = {
        ...l.max_age !== undefined && { maxAgeMs: l.max_age },
        ...l.history !== undefined && { history: l.history },
        ...l.max_bytes !== undefined && { maxBytes: l.max_bytes },
        ...l.replicas !== undefined && { replicas: l.replicas },
      };
    }
    return out;
  },
);
