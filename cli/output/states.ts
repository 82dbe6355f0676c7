/**
 * Text for state runs, as Salt's highstate outputter prints them: each state, then a summary.
 * @module
 */
import type { StateResult, Summary } from "../../lib/state/mod.ts";
import { color, indent, renderValue, useColor } from "./text.ts";

/** True for a `{ states, summary }` state run (the result of `state.apply` and friends). */
export function isStateRun(v: unknown): v is { states: StateResult[]; summary: Summary } {
  return !!v && typeof v === "object" && Array.isArray((v as { states?: unknown }).states) &&
    typeof (v as { summary?: unknown }).summary === "object";
}

/** The text block of a state run: each state, then Salt's summary. */
export function stateBlock(run: { states: StateResult[]; summary: Summary }): string {
  const on = useColor();
  const lines: string[] = [];
  for (const s of run.states) {
    const c = s.result === false
      ? "red"
      : s.result === null
      ? "yellow"
      : Object.keys(s.changes).length
      ? "cyan"
      : "green";
    lines.push(color(`----------`, c, on));
    lines.push(indent(color(`ID: ${s.id}`, c, on)));
    lines.push(indent(`Function: ${s.function}`), indent(`Name: ${s.name}`));
    lines.push(indent(`Result: ${s.result === null ? "None" : s.result ? "True" : "False"}`));
    lines.push(indent(`Comment: ${s.comment}`), indent(`Duration: ${s.duration_ms} ms`));
    lines.push(
      indent(
        Object.keys(s.changes).length ? `Changes:\n${indent(renderValue(s.changes))}` : "Changes:",
      ),
    );
  }
  const m = run.summary;
  lines.push(
    "",
    "Summary",
    "-------------",
    `Succeeded: ${m.succeeded} (changed=${m.changed})`,
    color(`Failed: ${m.failed}`, m.failed ? "red" : "green", on),
    "-------------",
    `Total states run: ${m.total}`,
    `Total run time: ${m.duration_ms} ms`,
  );
  return lines.join("\n");
}
