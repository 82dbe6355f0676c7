/**
 * The top file of a state tree (`top.zy`, else Salt's `top.sls`) read for one peel.
 * @module
 */
import { parseStateYaml, topRefsFor } from "../../lib/state/mod.ts";
import { ArgumentError } from "../functions/context.ts";
import type { StateTree } from "./tree.ts";

/** The SLS refs the top file assigns to this peel (environment `base`). */
export function topRefs(t: StateTree, peelId: string, facts: Record<string, unknown>): string[] {
  const file = t.read("top.zy") === undefined ? "top.sls" : "top.zy";
  const text = t.read(file);
  if (text === undefined) throw new ArgumentError("No top.zy or top.sls in the state tree");
  const doc = parseStateYaml(text, file);
  return topRefsFor(doc.value, { id: peelId, facts }, { file, lines: doc.lines }, ["base"])
    .map((r) => r.ref);
}
