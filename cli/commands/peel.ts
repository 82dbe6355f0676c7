/**
 * `zester peel list [--status connected|disconnected]` and `zester peel show <id>`: the peels
 * the masters know (their stored facts, and when those were last stored), and which answer now,
 * asked as Salt's `manage.status` asks: a `test.version` job to them, whose returns give each
 * peel's version and whose "not connected" answers come at once.
 * @module
 */
import type { KV, NatsConnection } from "nats";
import { BUCKETS, decode, isPeelId, openBucket } from "../../lib/bus/mod.ts";
import { FactsMessage } from "../../lib/job/mod.ts";
import { type Format, isText, serialize, table } from "../output/mod.ts";
import { runJob } from "./run.ts";

/** One peel as `peel list` shows it. */
export interface PeelStatus {
  id: string;
  /** It answered `test.version` now. */
  connected: boolean;
  /** When its facts were last stored (it refreshes them every `facts_interval`). */
  last_seen: string;
  /** The version it reported, when connected. */
  version?: string;
}

/** How `peel list` and `peel show` ask the peels. */
export interface AskOptions {
  /** How long to wait for answers (`-t`). */
  waitMs: number;
  /** Who asks (recorded with the job). */
  user: string;
}

async function readFacts(kv: KV, id: string) {
  const e = await kv.get(id);
  if (!e || e.operation !== "PUT") return undefined;
  return { message: FactsMessage.parse(decode(e.value)), stored: e.created.toISOString() };
}

/** Run `test.version` on `tgt`: the version each peel that answered reported. */
async function versions(
  nc: NatsConnection,
  tgt: string,
  tgtType: "glob" | "list",
  ask: AskOptions,
): Promise<Map<string, string>> {
  const o = await runJob(nc, {
    tgt,
    tgtType,
    fun: "test.version",
    words: [],
    ...ask,
    // The job ends when the CLI stops waiting, rather than linger among the active ones.
    jobTimeoutMs: ask.waitMs,
  });
  const out = new Map<string, string>();
  for (const [id, r] of o.returns) if (r.success) out.set(id, String(r.result));
  return out;
}

/** Every peel whose facts are stored, with its connection and version, sorted by id. */
export async function listPeels(
  nc: NatsConnection,
  ask: AskOptions,
  status?: "connected" | "disconnected",
): Promise<PeelStatus[]> {
  const kv = await openBucket(nc, BUCKETS.facts);
  const ids: string[] = [];
  for await (const k of await kv.keys()) if (isPeelId(k)) ids.push(k);
  if (ids.length === 0) return [];
  const answered = await versions(nc, "*", "glob", ask);
  const rows: PeelStatus[] = [];
  for (const id of ids.sort()) {
    const f = await readFacts(kv, id);
    if (!f) continue;
    const version = answered.get(id);
    rows.push({ id, connected: version !== undefined, last_seen: f.stored, version });
  }
  return rows.filter((r) => status === undefined || r.connected === (status === "connected"));
}

/** Render `peel list`. */
export function renderPeelList(peels: PeelStatus[], format: Format): string {
  if (!isText(format)) return serialize(peels, format);
  if (peels.length === 0) return "No peels found.";
  return table(
    ["PEEL", "CONNECTED", "LAST SEEN", "VERSION"],
    peels.map((p) => [p.id, p.connected ? "yes" : "no", p.last_seen, p.version ?? "-"]),
  );
}

/** One peel in detail: its status and a summary of its facts. */
export interface PeelDetail extends PeelStatus {
  /** When the peel collected the stored facts. */
  collected: string;
  facts: Record<string, unknown>;
}

/** The facts `peel show` summarizes, by dotted key. */
const SUMMARY = [
  "os.name",
  "os.platform_version",
  "os.family",
  "os.arch",
  "kernel.release",
  "hostname",
  "fqdn",
  "network.ipv4",
  "cpu.model",
  "cpu.count",
  "memory.total",
] as const;

function factAt(facts: Record<string, unknown>, key: string): unknown {
  let v: unknown = facts;
  for (const part of key.split(".")) {
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
  }
  return v;
}

/** Read one peel's facts and ask it for its version; throws when it is unknown. */
export async function showPeel(
  nc: NatsConnection,
  id: string,
  ask: AskOptions,
): Promise<PeelDetail> {
  if (!isPeelId(id)) throw new TypeError(`Invalid peel id "${id}"`);
  const f = await readFacts(await openBucket(nc, BUCKETS.facts), id);
  if (!f) throw new Error(`Peel "${id}" not found: no facts stored for it`);
  const version = (await versions(nc, id, "list", ask)).get(id);
  return {
    id,
    connected: version !== undefined,
    last_seen: f.stored,
    version,
    collected: f.message.collected,
    facts: f.message.facts,
  };
}

/** Render `peel show`: status, then the summary facts (all facts with --format json or yaml). */
export function renderPeelDetail(p: PeelDetail, format: Format): string {
  if (!isText(format)) return serialize(p, format);
  const rows: [string, unknown][] = [
    ["Peel", p.id],
    ["Connected", p.connected ? "yes" : "no"],
    ["Version", p.version ?? "-"],
    ["Last seen", p.last_seen],
    ["Facts collected", p.collected],
    ...SUMMARY.map((k): [string, unknown] => [k, factAt(p.facts, k)]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${`${k}:`.padEnd(width)} ${Array.isArray(v) ? v.join(", ") : String(v)}`)
    .join("\n");
}
