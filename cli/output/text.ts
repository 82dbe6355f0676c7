/**
 * Text rendering of values, in the spirit of Salt's outputter: booleans as `True`/`False`,
 * strings as they are, maps and lists as indented YAML.
 * @module
 */
import { stringify } from "yaml";

/** Indent every line of `text` by `n` spaces. */
export function indent(text: string, n = 4): string {
  const pad = " ".repeat(n);
  return text.split("\n").map((l) => (l ? pad + l : l)).join("\n");
}

/** Render one value for people. */
export function renderValue(value: unknown): string {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return stringify(value, { indent: 2, lineWidth: 0 }).replace(/\n$/, "");
}

/** Whether to colour output: a TTY, and `NO_COLOR` unset. */
export function useColor(): boolean {
  try {
    return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  } catch {
    return false;
  }
}

/** Wrap `text` in an ANSI colour when `on`. */
export function color(
  text: string,
  code: "red" | "green" | "yellow" | "cyan",
  on: boolean,
): string {
  if (!on) return text;
  const c = { red: 31, green: 32, yellow: 33, cyan: 36 }[code];
  return `\x1b[${c}m${text}\x1b[0m`;
}
