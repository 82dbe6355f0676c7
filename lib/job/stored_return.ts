/**
 * Reading a return from `job-returns`. Each peel writes its own entry, so the entry's key — the
 * subject NATS permissions let only that peel write — says whose return it is, and the body
 * is checked against it. An entry that does not validate still counts as the peel's answer: it
 * becomes a failed return naming what was wrong, never a silent gap.
 * @module
 */
import type { KV, Msg } from "nats";
import { decode, isPeelId } from "../bus/mod.ts";
import { ExecReturn } from "./types.ts";

/** How a return went: succeeded, failed, or unknown (the peel or its broker died under it). */
export type ReturnOutcome = "ok" | "failed" | "unknown";

/** The outcome `ret` stands for. */
export function returnOutcome(ret: Pick<ExecReturn, "success" | "outcome">): ReturnOutcome {
  return ret.outcome === "unknown" ? "unknown" : ret.success ? "ok" : "failed";
}

/**
 * The return stored under `<jid>.<peelId>`, or a failed return saying why the stored bytes are
 * not one.
 *
 * @example
 * ```ts
 * const ret = readReturn(msg.data, "2hPx1FNsSgJMqVn5bLSTXeBQMpO", "web-01");
 * if (!ret.success) console.log(ret.error);
 * ```
 */
export function readReturn(data: Uint8Array, jid: string, peelId: string): ExecReturn {
  let why: string;
  try {
    const ret = ExecReturn.parse(decode(data));
    if (ret.jid === jid && ret.peel_id === peelId) return ret;
    why = `it is for job ${ret.jid} on ${ret.peel_id}`;
  } catch (e) {
    why = (e as Error).message;
  }
  return {
    jid,
    peel_id: peelId,
    fun: "",
    success: false,
    started: "",
    error: `Malformed return from ${peelId}: ${why}`,
    duration_ms: 0,
  };
}

/** The return `peelId` stored for job `jid` in the `job-returns` bucket `kv`, if there is one. */
export async function getReturn(
  kv: KV,
  jid: string,
  peelId: string,
): Promise<ExecReturn | undefined> {
  const e = await kv.get(`${jid}.${peelId}`);
  return e?.operation === "PUT" ? readReturn(e.value, jid, peelId) : undefined;
}

/**
 * Every return stored for job `jid` in `kv`, by peel id: one pass over the bucket's entries for
 * the job, rather than one request per peel (a job may have 100,000).
 */
export async function readReturns(kv: KV, jid: string): Promise<Map<string, ExecReturn>> {
  const out = new Map<string, ExecReturn>();
  // The watch stops once it has delivered what is stored, which may happen before it returns.
  let loaded = false;
  let stop = (): void => {
    loaded = true;
  };
  const watch = await kv.watch({ key: `${jid}.*`, initializedFn: () => stop() });
  stop = () => watch.stop();
  if (loaded) stop();
  for await (const e of watch) {
    const id = e.key.slice(jid.length + 1);
    if (e.operation === "PUT" && isPeelId(id)) out.set(id, readReturn(e.value, jid, id));
  }
  return out;
}

/**
 * True when a message on a return's subject writes a return, rather than deleting or purging
 * the key: such a marker is empty, with a `KV-Operation` header, and a return never is empty.
 * The headers are parsed only for an empty message (parsing showed up in profiles of the CLI
 * following a large job).
 */
export function isReturnWrite(msg: Msg): boolean {
  return msg.data.byteLength > 0 || !msg.headers?.get("KV-Operation");
}
