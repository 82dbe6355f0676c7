/**
 * `zester '<target>' --preview`: the peels a target selects, resolved by a master's fact index,
 * without running anything.
 * @module
 */
import type { NatsConnection } from "nats";
import { decode, encode, subjects } from "../../lib/bus/mod.ts";
import type { TargetType } from "../../lib/job/mod.ts";
import { type Format, serialize } from "../output/mod.ts";

/** Ask a master which peels `tgt` selects; throws with its reason for a bad expression. */
export async function previewTarget(
  nc: NatsConnection,
  tgt: string,
  tgtType?: TargetType,
): Promise<string[]> {
  const r = decode(
    (await nc.request(subjects.targetResolve, encode({ tgt, tgt_type: tgtType }), {
      timeout: 10_000,
    })).data,
  ) as { ok?: boolean; ids?: unknown; error?: string };
  if (r?.ok !== true || !Array.isArray(r.ids)) throw new Error(r?.error ?? "Malformed reply");
  return r.ids.map(String);
}

/** Render matched ids. */
export function renderPreview(ids: string[], format: Format): string {
  if (format !== "text") return serialize(ids, format);
  if (ids.length === 0) return "No peels matched the target.";
  return [...ids, "", `${ids.length} peel(s) matched`].join("\n");
}
