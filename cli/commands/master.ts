/**
 * `zester master list`: the masters that beat in `master-heartbeat` (a master's entry expires
 * 15 s after its last beat and is removed when it stops), with when each started, its last beat
 * and the jobs it follows.
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, decode, openBucket } from "../../lib/bus/mod.ts";
import * as s from "../../lib/schema/mod.ts";
import { type Format, isText, serialize, table } from "../output/mod.ts";

const Heartbeat = s.object({
  id: s.string(),
  started: s.string(),
  time: s.string(),
  active_jobs: s.array(s.string()),
}, { strict: false });

/** One master as its heartbeat shows it. */
export type MasterStatus = s.Infer<typeof Heartbeat>;

/** Every master with a live heartbeat, sorted by id. */
export async function listMasters(nc: NatsConnection): Promise<MasterStatus[]> {
  const kv = await openBucket(nc, BUCKETS.masterHeartbeat);
  const out: MasterStatus[] = [];
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (!e || e.operation !== "PUT") continue;
    try {
      out.push(Heartbeat.parse(decode(e.value)));
    } catch {
      // A heartbeat this CLI cannot read is skipped rather than hiding the rest.
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Render `master list`. */
export function renderMasterList(masters: MasterStatus[], format: Format): string {
  if (!isText(format)) return serialize(masters, format);
  if (masters.length === 0) return "No masters found.";
  return table(
    ["MASTER", "STARTED", "LAST BEAT", "ACTIVE JOBS"],
    masters.map((m) => [m.id, m.started, m.time, String(m.active_jobs.length)]),
  );
}
