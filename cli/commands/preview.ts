/**
 * `zester '<target>' --preview`: the peels a target selects, resolved by a master's fact index,
 * without running anything.
 * @module
 */
import { resolveOnMasters } from "../../lib/job/mod.ts";
import { type Format, isText, serialize } from "../output/mod.ts";

/** Ask a master which peels `tgt` selects; throws with its reason for a bad expression. */
export const previewTarget = resolveOnMasters;

/** Render matched ids. */
export function renderPreview(ids: string[], format: Format): string {
  if (!isText(format)) return serialize(ids, format);
  if (ids.length === 0) return "No peels matched the target.";
  return [...ids, "", `${ids.length} peel(s) matched`].join("\n");
}
