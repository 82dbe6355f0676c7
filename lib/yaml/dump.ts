/**
 * Writing YAML as Salt's Jinja filters write it with PyYAML's safe dumper: `yaml` (flow style
 * `{a: 1, b: [x, y]}` by default, block style with `yaml(False)`; keys sorted; strings plain when
 * PyYAML would leave them plain, else quoted; no trailing `...`), and `yaml_encode`,
 * `yaml_dquote` and `yaml_squote`, whose output is byte for byte Salt's.
 * @module
 */
import { implicitType } from "./load.ts";

const DQ_ESCAPES: Record<string, string> = {
  "\0": "0",
  "\x07": "a",
  "\x08": "b",
  "\t": "t",
  "\n": "n",
  "\x0b": "v",
  "\x0c": "f",
  "\r": "r",
  "\x1b": "e",
  '"': '"',
  "\\": "\\",
  "\x85": "N",
  "\xa0": "_",
  "\u2028": "L",
  "\u2029": "P",
};

/** PyYAML's double-quoted scalar (non-ASCII escaped, as its emitter does by default). */
export function yamlDquote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch !== '"' && ch !== "\\" && cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (DQ_ESCAPES[ch]) out += `\\${DQ_ESCAPES[ch]}`;
    else if (cp <= 0xff) out += `\\x${cp.toString(16).toUpperCase().padStart(2, "0")}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).toUpperCase().padStart(8, "0")}`;
  }
  return out + '"';
}

/** PyYAML's single-quoted scalar: quotes doubled, a run of n line breaks written as n + 1. */
export function yamlSquote(text: string): string {
  return `'${text.replaceAll("'", "''").replace(/\n+/g, "\n$&")}'`;
}

/** PyYAML's representation of a float: `1.5`, `1.0e-05`, `.inf`, `.nan`. */
function floatText(n: number): string {
  if (Number.isNaN(n)) return ".nan";
  if (!Number.isFinite(n)) return n > 0 ? ".inf" : "-.inf";
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  const s = (abs < 1e-4 || abs >= 1e16 ? n.toExponential() : String(n))
    .replace(/e([+-])(\d)$/, "e$10$2");
  return s.includes(".") || !s.includes("e") ? s : s.replace("e", ".0e");
}

/** Salt's `yaml_encode`: one scalar as YAML (a string double-quoted). */
export function yamlEncode(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return floatText(v);
  if (typeof v === "string") return yamlDquote(v);
  const type = Array.isArray(v) ? "list" : "dict";
  throw new TypeError(
    `yaml_encode() only works with YAML scalar data; failed for <class '${type}'>`,
  );
}

/** True when PyYAML would write `s` without quotes (in flow context when `flow`). */
function plain(s: string, flow: boolean): boolean {
  if (s === "" || implicitType(s) !== "str" || s.startsWith("<<")) return false;
  if (/^\s|\s$/.test(s) || /[^\x20-\x7e]/.test(s)) return false;
  if (/^[#,[\]{}&*!|>'"%@`]/.test(s) || /^[-?:](\s|$)/.test(s)) return false;
  if (/:(\s|$)|\s#/.test(s)) return false;
  return !(flow && /[,?[\]{}]/.test(s));
}

function scalar(v: unknown, flow: boolean): string {
  if (typeof v === "string") {
    if (plain(v, flow)) return v;
    return /[^\x20-\x7e]/.test(v) ? yamlDquote(v) : yamlSquote(v);
  }
  if (v instanceof Date) return v.toISOString();
  return yamlEncode(v);
}

const isDict = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

function sortedEntries(d: Record<string, unknown>): [string, unknown][] {
  return Object.entries(d).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

function flowText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flowText).join(", ")}]`;
  if (isDict(v)) {
    return `{${sortedEntries(v).map(([k, x]) => `${scalar(k, true)}: ${flowText(x)}`).join(", ")}}`;
  }
  return scalar(v, true);
}

function blockLines(v: unknown, indent: string): string[] {
  const out: string[] = [];
  const isEmpty = (x: unknown) =>
    Array.isArray(x) ? x.length === 0 : isDict(x) ? Object.keys(x).length === 0 : true;
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isEmpty(item)) out.push(`${indent}- ${flowText(item)}`);
      else {
        const inner = blockLines(item, `${indent}  `);
        out.push(`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1));
      }
    }
  } else if (isDict(v)) {
    for (const [k, x] of sortedEntries(v)) {
      const key = scalar(k, false);
      if (isEmpty(x)) out.push(`${indent}${key}: ${flowText(x)}`);
      // PyYAML does not indent a list under a mapping key.
      else {out.push(
          `${indent}${key}:`,
          ...blockLines(x, Array.isArray(x) ? indent : `${indent}  `),
        );}
    }
  }
  return out;
}

/** Salt's `yaml` filter: `value` as YAML, flow style unless `flow` is false, stripped. */
export function dumpYaml(value: unknown, flow = true): string {
  if (flow || !(Array.isArray(value) || isDict(value))) return flowText(value);
  const lines = blockLines(value, "");
  return lines.length ? lines.join("\n") : flowText(value);
}
