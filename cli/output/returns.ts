/**
 * Peels' returns as the CLI prints them, one peel at a time (as they arrive) or all at once
 * (`--static`, `job show`): Salt's nested text (state runs as its highstate text), one
 * `id: value` line (`txt`), or the peel's record in JSON, YAML or Python's repr (`raw`).
 * @module
 */
import type { ExecReturn } from "../../lib/job/mod.ts";
import { type Format, serialize } from "./format.ts";
import { isStateRun, stateBlock } from "./states.ts";
import { color, indent, renderValue, useColor } from "./text.ts";

/**
 * Why a target has no return: it was not connected, it did not answer in time, or the job has
 * not ended and it may still be running it.
 */
export type NoReturn = "Not connected" | "No response" | "Still running";

/**
 * Why a target has no return, for every view of a job (live output, `job show`, `job wait`):
 * not connected when `absent` holds it; otherwise no response once the job `ended`, else still
 * running it.
 */
export function noReturn(absent: ReadonlySet<string>, ended: boolean): (id: string) => NoReturn {
  return (id) => absent.has(id) ? "Not connected" : ended ? "No response" : "Still running";
}

/** What text output says of a target without a return. */
function noReturnText(why: NoReturn): string {
  return why === "Still running" ? "Still running" : `Peel did not return. [${why}]`;
}

/** The per-peel record printed in JSON, YAML and raw. */
export function returnRecord(r: ExecReturn | undefined, why: NoReturn): Record<string, unknown> {
  if (why === "Still running" && !r) return { returned: false, running: true };
  if (!r) return { returned: false, success: false, error: noReturnText(why) };
  const { jid: _j, peel_id: _p, ...rest } = r;
  return { returned: true, ...rest };
}

/** One peel's value in a structured format: its state run (with any warnings), or its record. */
function structured(r: ExecReturn | undefined, why: NoReturn): unknown {
  if (!r || !isStateRun(r.result)) return returnRecord(r, why);
  return r.warnings ? { ...r.result, warnings: r.warnings } : r.result;
}

/** One peel's return (or why there is none) in `format`. */
export function renderReturn(
  id: string,
  r: ExecReturn | undefined,
  why: NoReturn,
  format: Format,
): string {
  if (format === "txt") {
    const value = !r ? noReturnText(why) : r.error ?? renderValue(r.result);
    return `${id}: ${value.replace(/\n/g, `\n${id}: `)}`;
  }
  if (format !== "text") return serialize({ [id]: structured(r, why) }, format);
  const on = useColor();
  const lines = [color(`${id}:`, r ? (r.success ? "green" : "red") : "yellow", on)];
  for (const w of r?.warnings ?? []) lines.push(indent(color(`WARNING: ${w}`, "yellow", on)));
  if (!r) lines.push(indent(color(noReturnText(why), "yellow", on)));
  else if (r.error !== undefined) lines.push(indent(color(`ERROR: ${r.error}`, "red", on)));
  else if (isStateRun(r.result)) lines.push(stateBlock(r.result));
  else if (r.result !== "") lines.push(indent(renderValue(r.result)));
  if (r && r.retcode !== undefined && r.retcode !== 0) {
    lines.push(indent(color(`[exit code ${r.retcode}]`, "red", on)));
  }
  return lines.join("\n");
}

/** Every target's return at once, in target order; text ends with who did not return. */
export function renderReturns(
  targets: string[],
  returns: ReadonlyMap<string, ExecReturn>,
  why: (id: string) => NoReturn,
  format: Format,
): string {
  if (format === "json" || format === "yaml" || format === "raw") {
    const out: Record<string, unknown> = {};
    for (const id of targets) out[id] = structured(returns.get(id), why(id));
    return serialize(out, format);
  }
  const blocks = targets.map((id) => renderReturn(id, returns.get(id), why(id), format));
  const missing = targets.filter((id) => !returns.has(id));
  if (format === "text" && missing.length) blocks.push("", missingLine(missing, why));
  return blocks.join("\n");
}

/**
 * The closing lines of text output naming the targets that did not return, and apart from
 * them those still running the job.
 */
export function missingLine(missing: string[], why?: (id: string) => NoReturn): string {
  const running = missing.filter((id) => why?.(id) === "Still running");
  const gone = missing.filter((id) => !running.includes(id));
  return [
    ...gone.length ? [`Did not return (${gone.length}): ${gone.join(", ")}`] : [],
    ...running.length ? [`Still running (${running.length}): ${running.join(", ")}`] : [],
  ].map((line) => color(line, "yellow", useColor())).join("\n");
}
