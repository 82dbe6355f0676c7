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

/** A character PyYAML writes as it is when allowed Unicode (`allow_unicode=True`). */
function unicodePrintable(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  return cp === 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff) ||
    (cp >= 0x10000 && cp < 0x10ffff);
}

/**
 * PyYAML's double-quoted scalar: non-ASCII escaped, as its emitter does by default, unless
 * `unicode` (`allow_unicode=True`).
 */
export function yamlDquote(text: string, unicode = false): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const plainChar = (cp >= 0x20 && cp <= 0x7e) ||
      (unicode && unicodePrintable(ch) && !"\x85\u2028\u2029".includes(ch));
    if (ch !== '"' && ch !== "\\" && plainChar) out += ch;
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

/** Where a scalar is written: in a flow collection, as a mapping key, at which indentation. */
interface Place {
  flow: boolean;
  key: boolean;
  /** Whether non-ASCII characters are written as they are (`allow_unicode`). */
  unicode: boolean;
  /** PyYAML's indentation for the scalar's continuation lines. */
  indent: number;
}

const SPACE = /[\0 \t\r\n\x85\u2028\u2029]/;
const BREAK = /[\n\x85\u2028\u2029]/;

/** PyYAML's `analyze_scalar`: which styles may write `s`. */
function analyze(s: string, unicode: boolean) {
  if (s === "") return { plainFlow: false, plainBlock: false, single: true, multiline: false };
  let flowInd = s.startsWith("---") || s.startsWith("...");
  let blockInd = flowInd;
  let breaks = false, special = false;
  let leadingSpace = false, leadingBreak = false, trailingSpace = false, trailingBreak = false;
  let breakSpace = false, spaceBreak = false, prevSpace = false, prevBreak = false;
  const chars = [...s];
  chars.forEach((ch, i) => {
    const before = i === 0 || SPACE.test(chars[i - 1]!);
    const after = i + 1 >= chars.length || SPACE.test(chars[i + 1]!);
    if (i === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) flowInd = blockInd = true;
      if ("?:".includes(ch)) {
        flowInd = true;
        if (after) blockInd = true;
      }
      if (ch === "-" && after) flowInd = blockInd = true;
    } else {
      if (",?[]{}".includes(ch)) flowInd = true;
      if (ch === ":") {
        flowInd = true;
        if (after) blockInd = true;
      }
      if (ch === "#" && before) flowInd = blockInd = true;
    }
    if (BREAK.test(ch)) breaks = true;
    // Without allow_unicode (Salt's filters leave it off), any non-ASCII character is special.
    if (!(ch === "\n" || (ch >= "\x20" && ch <= "\x7e")) && !(unicode && unicodePrintable(ch))) {
      special = true;
    }
    if (ch === " ") {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (BREAK.test(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else prevSpace = prevBreak = false;
  });
  let plainFlow = true, plainBlock = true, single = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    plainFlow = plainBlock = false;
  }
  if (breakSpace) plainFlow = plainBlock = single = false;
  if (spaceBreak || special) plainFlow = plainBlock = single = false;
  if (breaks) plainFlow = plainBlock = false;
  if (flowInd) plainFlow = false;
  if (blockInd) plainBlock = false;
  return { plainFlow, plainBlock, single, multiline: breaks };
}

/** PyYAML's single-quoted scalar in a block, its line breaks continued at `indent`. */
function singleQuoted(s: string, indent: number): string {
  return `'${
    s.replaceAll("'", "''").replace(/\n+/g, (run) => `\n${run}${" ".repeat(indent)}`)
      .replace(/\n {1,}(?=\n)/g, "\n")
  }'`;
}

/** A string as PyYAML's `choose_scalar_style` writes it at `place`. */
function text(s: string, place: Place): string {
  const a = analyze(s, place.unicode);
  const resolvesToStr = implicitType(s) === "str" && !s.startsWith("<<");
  if (resolvesToStr && !(place.key && (s === "" || a.multiline))) {
    if (place.flow ? a.plainFlow : a.plainBlock) return s;
  }
  if (a.single && !(place.key && a.multiline)) return singleQuoted(s, place.indent);
  return yamlDquote(s, place.unicode);
}

function scalar(v: unknown, place: Place): string {
  if (typeof v === "string") return text(v, place);
  if (v instanceof Date) return v.toISOString();
  return yamlEncode(v);
}

const isDict = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

function sortedEntries(d: Record<string, unknown>): [string, unknown][] {
  return Object.entries(d).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

/** `v` in flow style, inside `depth` flow collections (PyYAML indents two columns for each). */
function flowText(v: unknown, unicode: boolean, depth = 0): string {
  if (Array.isArray(v)) return `[${v.map((x) => flowText(x, unicode, depth + 1)).join(", ")}]`;
  if (isDict(v)) {
    const key: Place = { flow: true, key: true, unicode, indent: 2 * (depth + 2) };
    const entries = sortedEntries(v).map(([k, x]) =>
      `${scalar(k, key)}: ${flowText(x, unicode, depth + 1)}`
    );
    return `{${entries.join(", ")}}`;
  }
  return scalar(v, { flow: true, key: false, unicode, indent: 2 * (depth + 1) });
}

function blockLines(v: unknown, indent: string, unicode: boolean): string[] {
  const out: string[] = [];
  const isEmpty = (x: unknown) =>
    Array.isArray(x) ? x.length === 0 : isDict(x) ? Object.keys(x).length === 0 : true;
  // A collection's scalars continue two columns in from it, as PyYAML indents them.
  const inline = (x: unknown) =>
    Array.isArray(x) || isDict(x)
      ? flowText(x, unicode)
      : scalar(x, { flow: false, key: false, unicode, indent: indent.length + 2 });
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isEmpty(item)) out.push(`${indent}- ${inline(item)}`);
      else {
        const inner = blockLines(item, `${indent}  `, unicode);
        out.push(`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1));
      }
    }
  } else if (isDict(v)) {
    for (const [k, x] of sortedEntries(v)) {
      const key = scalar(k, { flow: false, key: true, unicode, indent: indent.length + 2 });
      if (isEmpty(x)) out.push(`${indent}${key}: ${inline(x)}`);
      // PyYAML does not indent a list under a mapping key.
      else {out.push(
          `${indent}${key}:`,
          ...blockLines(x, Array.isArray(x) ? indent : `${indent}  `, unicode),
        );}
    }
  }
  return out;
}

/**
 * Salt's `yaml` filter: `value` as YAML, flow style unless `flow` is false, stripped; `unicode`
 * writes non-ASCII characters as they are (`slsutil.serialize`'s `allow_unicode`).
 */
export function dumpYaml(value: unknown, flow = true, unicode = false): string {
  if (flow || !(Array.isArray(value) || isDict(value))) return flowText(value, unicode);
  const lines = blockLines(value, "", unicode);
  return lines.length ? lines.join("\n") : flowText(value, unicode);
}
