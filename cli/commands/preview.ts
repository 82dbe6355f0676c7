/**
 * `zester '<target>' --preview`: the peels a target selects, resolved by a master's fact index,
 * without running anything.
 * @module
 */
import { type NatsConnection, RequestStrategy } from "nats";
import { decode, encode, subjects } from "../../lib/bus/mod.ts";
import type { TargetType } from "../../lib/job/mod.ts";
import { type Format, serialize } from "../output/mod.ts";

/** Ask a master which peels `tgt` selects; throws with its reason for a bad expression. */
export async function previewTarget(
  nc: NatsConnection,
  tgt: string,
  tgtType?: TargetType,
): Promise<string[]> {
  const ids: string[] = [];
  const replies = await nc.requestMany(subjects.targetResolve, encode({ tgt, tgt_type: tgtType }), {
    strategy: RequestStrategy.SentinelMsg,
    maxWait: 10_000,
  });
  for await (const m of replies) {
    if (m.data.byteLength === 0) return ids;
    const r = decode(m.data) as { ok?: boolean; ids?: unknown; error?: string };
    if (r?.ok !== true || !Array.isArray(r.ids)) throw new Error(r?.error ?? "Malformed reply");
    ids.push(...r.ids.map(String));
  }
  throw new Error("No complete answer from a master within 10 s");
}

/** Render matched ids. */
export function renderPreview(ids: string[], format: Format): string {
  if (format !== "text") return serialize(ids, format);
  if (ids.length === 0) return "No peels matched the target.";
  return [...ids, "", `${ids.length} peel(s) matched`].join("\n");
}
