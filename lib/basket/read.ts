/**
 * Reading the `basket` bucket as Salt's `mine.get` reads the mine: one entry of every peel a
 * target selects, as `{peel_id: value}`. Targets on ids (glob, `E@`, `L@`) are matched here on
 * the ids that have the entry, so they need no master; every other kind (facts, settings,
 * networks, nodegroups, compound) is resolved by a master's fact index and crossed with them.
 * @module
 */
import type { KV, KvEntry, NatsConnection } from "nats";
import { BUCKETS, decode, openBucket } from "../bus/mod.ts";
import { resolveOnMasters, type TargetType } from "../job/mod.ts";
import { compileTarget, detectKind } from "../target/mod.ts";
import { encodeName, parseBasketKey } from "./key.ts";

/** Target kinds decided by the peel id alone. */
const ID_KINDS: ReadonlySet<TargetType> = new Set(["glob", "pcre", "list"]);

/** The latest value of every key `filter` matches, by key; deleted keys are left out. */
async function latest(kv: KV, filter: string): Promise<Map<string, KvEntry>> {
  const out = new Map<string, KvEntry>();
  let initialized = false;
  const it = await kv.watch({
    key: filter,
    initializedFn: () => {
      initialized = true;
      it?.stop();
    },
  });
  if (initialized) it.stop();
  for await (const e of it) {
    if (e.operation === "PUT") out.set(e.key, e);
    else out.delete(e.key);
  }
  return out;
}

/** Every peel's value of entry `name`, by peel id. */
export async function readEntries(kv: KV, name: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const [key, e] of await latest(kv, `*.${encodeName(name)}`)) {
    const parsed = parseBasketKey(key);
    if (parsed) out.set(parsed.peelId, decode(e.value));
  }
  return out;
}

/** The names of the entries `peelId` has, sorted. */
export async function listNames(kv: KV, peelId: string): Promise<string[]> {
  const names: string[] = [];
  for (const key of (await latest(kv, `${peelId}.>`)).keys()) {
    const parsed = parseBasketKey(key);
    if (parsed?.peelId === peelId) names.push(parsed.name);
  }
  return names.sort();
}

/**
 * Salt's `mine.get`: entry `name` of each peel `tgt` (read as `tgtType`; as the CLI reads it when
 * none) selects that has one, as `{peel_id: value}` sorted by id. Throws `TargetError` for a bad
 * expression, and the master's reason for one it refuses.
 */
export async function basketGet(
  nc: NatsConnection,
  tgt: string,
  name: string,
  tgtType?: TargetType,
): Promise<Record<string, unknown>> {
  const kind = tgtType ?? detectKind(tgt);
  let selected: (id: string) => boolean;
  if (ID_KINDS.has(kind)) {
    const target = compileTarget(tgt, kind);
    selected = (id) => target.matches({ id, facts: {} });
  } else {
    const ids = new Set(await resolveOnMasters(nc, tgt, tgtType));
    selected = (id) => ids.has(id);
  }
  const entries = await readEntries(await openBucket(nc, BUCKETS.basket), name);
  const out: Record<string, unknown> = {};
  for (const id of [...entries.keys()].sort()) if (selected(id)) out[id] = entries.get(id);
  return out;
}
