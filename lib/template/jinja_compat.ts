/**
 * The Jinja that Salt formulas use and nunjucks lacks, made to work: Python string methods
 * (`'Abc'.lower()`, `.strip()`, `.split()`, `.startswith()`, `.format()`…), `True`, `False`
 * and `None` printed as Jinja prints them, nested dict literals ending in `}}` inside a tag, and
 * tests with an argument but no parentheses (`x is divisibleby 3`). The last two are rewritten
 * before nunjucks lexes the template, without changing line numbers.
 * @module
 */
import nunjucks from "nunjucks";

type StrFn = (s: string, ...args: unknown[]) => unknown;

/** Python's `str` methods, by name. */
const PY_STR: Record<string, StrFn> = {
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  strip: (s, chars) => chars === undefined ? s.trim() : trimChars(s, String(chars), true, true),
  lstrip: (s, chars) =>
    chars === undefined ? s.trimStart() : trimChars(s, String(chars), true, false),
  rstrip: (s, chars) =>
    chars === undefined ? s.trimEnd() : trimChars(s, String(chars), false, true),
  split: (s, sep, max) => {
    const parts = sep === undefined || sep === null
      ? s.trim().split(/\s+/).filter(Boolean)
      : s.split(String(sep));
    if (max === undefined || Number(max) < 0 || parts.length <= Number(max) + 1) return parts;
    const n = Number(max);
    return [...parts.slice(0, n), parts.slice(n).join(sep === undefined ? " " : String(sep))];
  },
  startswith: (s, p) => s.startsWith(String(p)),
  endswith: (s, p) => s.endsWith(String(p)),
  replace: (s, a, b) => s.split(String(a)).join(String(b)),
  join: (s, list) => (Array.isArray(list) ? list : []).map(String).join(s),
  title: (s) => s.replace(/\w\S*/g, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()),
  capitalize: (s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  find: (s, sub) => s.indexOf(String(sub)),
  count: (s, sub) => s.split(String(sub)).length - 1,
  isdigit: (s) => /^\d+$/.test(s),
  format: (s, ...args) => {
    let i = 0;
    return s.replace(
      /\{(\d*)\}/g,
      (_, n: string) => String(args[n === "" ? i++ : Number(n)] ?? ""),
    );
  },
};

function trimChars(s: string, chars: string, start: boolean, end: boolean): string {
  let a = 0, b = s.length;
  while (start && a < b && chars.includes(s[a]!)) a++;
  while (end && b > a && chars.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

const TESTS = "divisibleby|sameas|equalto|eq|ne|lt|gt|le|ge|greaterthan|lessthan";
const BARE_TEST = new RegExp(`\\bis(\\s+not)?\\s+(${TESTS})\\s+(?!\\()([^\\s%}()]+)`, "g");

/** Python allows a trailing comma in dict, list and call literals; nunjucks does not. */
const TRAILING_COMMA = /,(\s*)([}\])])/g;

function fix(code: string): string {
  return code.replace(BARE_TEST, "is$1 $2($3)").replace(TRAILING_COMMA, "$1$2");
}

/** Rewrite what nunjucks cannot lex, keeping every newline where it was. */
export function prelex(text: string): string {
  return text
    .replace(/\{%[\s\S]*?%\}/g, (tag) => fix(tag.replace(/\}\}(?!$)/g, "} }")))
    .replace(/\{\{[\s\S]*?\}\}/g, (out) => `{{${fix(out.slice(2, -2))}}}`);
}

let installed = false;

/** Install the compatibility layer into nunjucks (once per process). */
export function installCompat(): void {
  if (installed) return;
  installed = true;
  // Python-style dict/list methods and True/False/None names.
  nunjucks.installJinjaCompat();
  const runtime = (nunjucks as unknown as { runtime: Record<string, (...a: unknown[]) => unknown> })
    .runtime;
  const lookup = runtime.memberLookup!;
  runtime.memberLookup = function (this: unknown, obj: unknown, val: unknown, ...rest: unknown[]) {
    if (typeof obj === "string" && typeof val === "string" && Object.hasOwn(PY_STR, val)) {
      return (...args: unknown[]) => PY_STR[val]!(obj, ...args);
    }
    return lookup.call(this, obj, val, ...rest);
  };
  const suppress = runtime.suppressValue!;
  runtime.suppressValue = (val: unknown, autoescape: unknown) =>
    suppress(
      val === true ? "True" : val === false ? "False" : val === null ? "None" : val,
      autoescape,
    );
}
