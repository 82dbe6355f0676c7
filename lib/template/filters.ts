/**
 * Jinja's filters and tests that nunjucks lacks or gets wrong for Salt formulas, and Salt's own
 * (its template docs' list): `map`, `unique`, `tojson`, `json`, `yaml`, `format`, `regex_replace`,
 * `yaml_dquote`, `load_yaml`, `quote`, `md5`, `base64_decode`, `path_join`, `traverse`, tests
 * `match`, `none`, `sequence`… Values print and compare as Python's (`python.ts`); attributes are
 * read through the safe lookups, and filters and tests named by a template through the secured
 * environment, so that nothing here reaches what a template could not.
 * @module
 */
import { createHash } from "node:crypto";
import { parseAddress } from "../target/ip.ts";
import { compileGlob } from "../target/glob.ts";
import { dumpYaml, loadYaml, yamlDquote, yamlEncode, YamlError, yamlSquote } from "../yaml/mod.ts";
import { splitKeywords, withKeywords } from "./py_methods.ts";
import {
  isDict,
  percentFormat,
  pyBool,
  pyEq,
  pyIn,
  pyOrder,
  pyRegExp,
  pyReplacement,
  pyRepr,
  pyStr,
  tuple,
} from "./python.ts";
import { attrPath } from "./safe_lookup.ts";
import { traverse } from "./salt.ts";

// deno-lint-ignore no-explicit-any
type Fn = (this: any, ...args: any[]) => unknown;

/** What filters need of the nunjucks context they run in. */
interface FilterContext {
  env: { getFilter(name: string): Fn; getTest(name: string): Fn };
}

/** The parts of a nunjucks environment filters are added to. */
export interface FilterEnv {
  addFilter(name: string, fn: Fn): void;
  addTest(name: string, fn: Fn): void;
  filters: Record<string, Fn>;
  tests: Record<string, Fn>;
}

const py = withKeywords;

/** The elements Python iterates: a list's, a dict's keys, a string's characters. */
function items(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isDict(v)) return Object.keys(v);
  if (typeof v === "string") return [...v];
  if (v === null || v === undefined) return [];
  if (typeof v === "object" && "val" in v) return [...String((v as { val: unknown }).val)];
  throw new TypeError(`'${typeof v}' object is not iterable`);
}

function unique(values: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of values) if (!out.some((x) => pyEq(x, v))) out.push(v);
  return out;
}

const JSON_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

function jsonString(s: string, ascii: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = s.charCodeAt(i);
    if (JSON_ESCAPES[c]) out += JSON_ESCAPES[c];
    else if (code < 0x20 || (ascii && code > 0x7e)) {
      out += `\\u${code.toString(16).padStart(4, "0")}`;
    } else out += c;
  }
  return out + '"';
}

/** Python's `json.dumps` (its separators, `sort_keys`, `indent`, `ensure_ascii`). */
export function pyJson(v: unknown, sortKeys = false, indent?: unknown, ascii = false): string {
  const pad = indent === undefined || indent === null
    ? undefined
    : typeof indent === "string"
    ? indent
    : " ".repeat(Number(indent));
  const dump = (x: unknown, level: string): string => {
    if (x === null || x === undefined) return "null";
    if (x === true) return "true";
    if (x === false) return "false";
    if (typeof x === "number") {
      return Number.isNaN(x)
        ? "NaN"
        : Number.isFinite(x)
        ? String(x)
        : x > 0
        ? "Infinity"
        : "-Infinity";
    }
    if (typeof x === "string") return jsonString(x, ascii);
    const inner = pad === undefined ? "" : level + pad;
    const [open, sep, close] = pad === undefined
      ? ["", ", ", ""]
      : [`\n${inner}`, `,\n${inner}`, `\n${level}`];
    if (Array.isArray(x)) {
      return x.length ? `[${open}${x.map((e) => dump(e, inner)).join(sep)}${close}]` : "[]";
    }
    if (isDict(x)) {
      const entries = Object.entries(x);
      if (sortKeys) entries.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
      return entries.length
        ? `{${open}${
          entries.map(([k, e]) => `${jsonString(k, ascii)}: ${dump(e, inner)}`).join(sep)
        }${close}}`
        : "{}";
    }
    return jsonString(pyStr(x), ascii);
  };
  return dump(v, "");
}

function hash(algorithm: string): Fn {
  return (v: unknown) => createHash(algorithm).update(pyStr(v)).digest("hex");
}

/** Python's `shlex.quote`. */
function shellQuote(v: unknown): string {
  const s = pyStr(v);
  if (s === "") return "''";
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** Python's `os.path.normpath` for POSIX paths. */
function normpath(path: string): string {
  if (path === "") return ".";
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length && out.at(-1) !== "..") out.pop();
    else if (part !== ".." || !abs) out.push(part);
  }
  return (abs ? "/" : "") + out.join("/") || (abs ? "/" : ".");
}

function uuid5(name: string): string {
  const ns = "91633ebf1c865e33935a28061f4b480e";
  const bytes = createHash("sha1").update(
    new Uint8Array([
      ...ns.match(/../g)!.map((h) => parseInt(h, 16)),
      ...new TextEncoder().encode(name),
    ]),
  ).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

function regexFlags(ignorecase: unknown, multiline: unknown): string {
  return (pyBool(ignorecase) ? "i" : "") + (pyBool(multiline) ? "m" : "");
}

function groups(m: RegExpExecArray | null): unknown {
  return m ? tuple(m.slice(1).map((g) => g ?? null)) : null;
}

function toInt(v: unknown, dflt: unknown = 0, base: unknown = 10): unknown {
  if (typeof v === "boolean") return Number(v);
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : dflt;
  const s = pyStr(v).trim().replaceAll("_", "");
  const b = Number(base);
  const prefixed = /^[-+]?0([xob])/i.exec(s);
  if (b === 0 || prefixed) {
    const radix = { x: 16, o: 8, b: 2 }[prefixed?.[1]?.toLowerCase() as "x" | "o" | "b"] ?? 10;
    const n = parseInt(s.replace(/^([-+]?)0[xob]/i, "$1"), radix);
    return Number.isNaN(n) ? dflt : n;
  }
  if (b === 10 && /^[-+]?\d+$/.test(s)) return parseInt(s, 10);
  if (b !== 10 && new RegExp(`^[-+]?[0-9a-z]+$`, "i").test(s)) {
    const n = parseInt(s, b);
    return Number.isNaN(n) ? dflt : n;
  }
  const f = Number(s);
  return s !== "" && Number.isFinite(f) ? Math.trunc(f) : dflt;
}

function toFloat(v: unknown, dflt: unknown = 0): unknown {
  if (typeof v === "number" || typeof v === "boolean") return Number(v);
  const s = pyStr(v).trim().toLowerCase();
  if (/^[-+]?(inf|infinity)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (s === "nan") return NaN;
  const f = Number(s);
  return s !== "" && !Number.isNaN(f) ? f : dflt;
}

/** Jinja's `indent(width=4, first=False, blank=False)`. */
function indent(s: unknown, width: unknown = 4, first: unknown = false, blank: unknown = false) {
  const pad = typeof width === "string" ? width : " ".repeat(Number(width));
  const lines = (pyStr(s) + "\n").split(/\r\n|\r|\n/);
  lines.pop();
  const rest = lines.slice(1).map((l) => l || pyBool(blank) ? pad + l : l);
  const out = [lines[0] ?? "", ...rest].join("\n");
  return pyBool(first) ? pad + out : out;
}

function flatten(data: unknown, levels?: unknown, preserveNulls?: unknown): unknown[] {
  const out: unknown[] = [];
  const depth = levels === undefined || levels === null ? Infinity : Number(levels);
  const walk = (list: unknown[], level: number) => {
    for (const x of list) {
      if (Array.isArray(x) && level < depth) walk(x, level + 1);
      else if (x !== null || pyBool(preserveNulls)) out.push(x);
    }
  };
  walk(items(data), 0);
  return out;
}

const UNITS: Record<string, number> = { B: 0, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6, Z: 7, Y: 8 };

function humanToBytes(size: unknown, unit: unknown = "B", metric: unknown = false): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([BKMGTPEZY])?(i?B)?\s*$/i.exec(pyStr(size));
  if (!m) return 0;
  const base = pyBool(metric) && !m[3]?.startsWith("i") ? 1000 : 1024;
  const u = (m[2] ?? String(unit)).toUpperCase()[0] ?? "B";
  return Math.round(Number(m[1]) * base ** (UNITS[u] ?? 0));
}

function matchesAny(value: string, patterns: unknown): boolean {
  const list = Array.isArray(patterns) ? patterns : patterns ? [patterns] : [];
  return list.some((p) => {
    const s = pyStr(p);
    if (compileGlob(s)(value)) return true;
    try {
      return new RegExp(`^(?:${s})$`).test(value);
    } catch {
      return false;
    }
  });
}

const isIp = (v: unknown, family?: 4 | 6) => {
  const a = typeof v === "string" ? parseAddress(v.split("/")[0]!) : undefined;
  return a !== undefined && (family === undefined || a.family === family);
};

function ipFilter(family?: 4 | 6): Fn {
  return (v: unknown) =>
    Array.isArray(v) ? v.filter((x) => isIp(x, family)) : isIp(v, family) ? v : null;
}

/** Salt's `load_yaml`: its errors say where the YAML is wrong. */
export function loadYamlFilter(v: unknown): unknown {
  try {
    return loadYaml(pyStr(v));
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    throw new Error(
      `Encountered error loading yaml: ${e.reason}${e.line ? ` (line ${e.line})` : ""}`,
      { cause: e },
    );
  }
}

/** Salt's `load_json`. */
export function loadJsonFilter(v: unknown): unknown {
  try {
    return JSON.parse(pyStr(v));
  } catch (e) {
    throw new Error(`Unable to load json from ${pyStr(v)}`, { cause: e });
  }
}

/** Add the filters and tests to `env` (before `secureEnvironment`, which wraps some of them). */
export function installFilters(env: FilterEnv): void {
  const filters: Record<string, Fn> = {
    default: py(
      ["value", "default_value", "boolean"],
      (v, d = "", boolean = false) => v === undefined || (pyBool(boolean) && !pyBool(v)) ? d : v,
    ),
    string: (v: unknown) => pyStr(v),
    list: (v: unknown) => [...items(v)],
    join: (v: unknown, sep: unknown = "") => items(v).map(pyStr).join(pyStr(sep)),
    items: (v: unknown) => isDict(v) ? Object.entries(v).map((e) => tuple(e)) : [],
    count: (v: unknown) => items(v).length,
    pprint: (v: unknown) => pyRepr(v),
    python: (v: unknown) => pyRepr(v),
    int: py(["value", "default", "base"], toInt),
    float: py(["value", "default"], toFloat),
    trim: py(["value", "chars"], (v, chars) => {
      const s = pyStr(v);
      if (chars === undefined || chars === null) return s.trim();
      const set = pyStr(chars);
      let a = 0, b = s.length;
      while (a < b && set.includes(s[a]!)) a++;
      while (b > a && set.includes(s[b - 1]!)) b--;
      return s.slice(a, b);
    }),
    indent: py(
      ["s", "width", "first", "blank", "indentfirst"],
      (s, w, first, blank, old) => indent(s, w, first ?? old, blank),
    ),
    format: function (this: unknown, value: unknown, ...args: unknown[]) {
      const [pos, kw] = splitKeywords(args);
      return percentFormat(pyStr(value), Object.keys(kw).length ? kw : tuple(pos));
    },
    map: function (this: FilterContext, seq: unknown, ...args: unknown[]) {
      const [pos, kw] = splitKeywords(args);
      if (kw.attribute !== undefined) {
        return items(seq).map((v) => attrPath(v, kw.attribute) ?? kw.default);
      }
      const [name, ...rest] = pos;
      const filter = this.env.getFilter(pyStr(name));
      return items(seq).map((v) => filter.call(this, v, ...rest));
    },
    select: selectOrReject(true),
    reject: selectOrReject(false),
    unique: (v: unknown) => unique(items(v)),
    min: py(["value", "case_sensitive", "attribute"], (v, _c, attr) => extreme(v, attr, -1)),
    max: py(["value", "case_sensitive", "attribute"], (v, _c, attr) => extreme(v, attr, 1)),
    avg: (v: unknown) => {
      const list = items(v).map(Number);
      return list.reduce((a, b) => a + b, 0) / list.length;
    },
    union: (a: unknown, b: unknown) => unique([...items(a), ...items(b)]),
    intersect: (a: unknown, b: unknown) => unique(items(a).filter((x) => pyIn(x, items(b)))),
    difference: (a: unknown, b: unknown) => unique(items(a).filter((x) => !pyIn(x, items(b)))),
    symmetric_difference: (a: unknown, b: unknown) =>
      unique([
        ...items(a).filter((x) => !pyIn(x, items(b))),
        ...items(b).filter((x) => !pyIn(x, items(a))),
      ]),
    flatten: py(["data", "levels", "preserve_nulls"], flatten),
    tojson: py(
      ["value", "indent"],
      (v, ind) =>
        pyJson(v, true, ind, true).replace(
          /[<>&']/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        ),
    ),
    json: py(
      ["value", "sort_keys", "indent"],
      (v, sort = true, ind) => pyJson(v, pyBool(sort), ind),
    ),
    yaml: py(["value", "flow_style"], (v, flow = true) => dumpYaml(v, pyBool(flow))),
    load_yaml: loadYamlFilter,
    load_json: loadJsonFilter,
    load_text: (v: unknown) => pyStr(v),
    yaml_encode: (v: unknown) => yamlEncode(v),
    yaml_dquote: (v: unknown) => yamlDquote(pyStr(v)),
    yaml_squote: (v: unknown) => yamlSquote(pyStr(v)),
    to_bool: (v: unknown) => {
      if (v === null || v === undefined) return false;
      if (typeof v === "boolean") return v;
      if (typeof v === "string") return ["yes", "1", "true"].includes(v.toLowerCase());
      if (typeof v === "number") return v > 0;
      return items(v).length > 0;
    },
    sequence: (v: unknown) => Array.isArray(v) || isDict(v) ? v : [v],
    skip: () => "",
    quote: shellQuote,
    regex_escape: (v: unknown) => pyStr(v).replace(/[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g, "\\$&"),
    regex_search: py(
      ["txt", "rgx", "ignorecase", "multiline"],
      (t, r, i, m) => groups(pyRegExp(pyStr(r), regexFlags(i, m)).exec(pyStr(t))),
    ),
    regex_match: py(
      ["txt", "rgx", "ignorecase", "multiline"],
      (t, r, i, m) => groups(pyRegExp(pyStr(r), "y" + regexFlags(i, m)).exec(pyStr(t))),
    ),
    regex_replace: py(
      ["txt", "rgx", "val", "ignorecase", "multiline"],
      (t, r, val, i, m) =>
        pyStr(t).replace(pyRegExp(pyStr(r), "g" + regexFlags(i, m)), pyReplacement(pyStr(val))),
    ),
    uuid: (v: unknown) => uuid5(pyStr(v)),
    md5: hash("md5"),
    sha1: hash("sha1"),
    sha256: hash("sha256"),
    sha512: hash("sha512"),
    base64_encode: (v: unknown) => btoa(String.fromCharCode(...new TextEncoder().encode(pyStr(v)))),
    base64_decode: (v: unknown) =>
      new TextDecoder().decode(Uint8Array.from(atob(pyStr(v)), (c) => c.charCodeAt(0))),
    path_join: (...parts: unknown[]) => {
      const [root = "", ...rest] = parts.map(pyStr);
      return normpath(
        [root, ...rest.map((p) => p.replace(/^\/+/, ""))].filter((p, i) => i === 0 || p).join("/"),
      );
    },
    traverse: py(
      ["data", "key", "default", "delimiter"],
      (d, k, dflt = null, delim = ":") => traverse(d, k, dflt, pyStr(delim)),
    ),
    is_list: (v: unknown) => Array.isArray(v),
    is_iter: (v: unknown) => Array.isArray(v) || isDict(v),
    to_num: (v: unknown) => {
      const s = pyStr(v).trim();
      return s !== "" && !Number.isNaN(Number(s)) ? Number(s) : v;
    },
    contains_whitespace: (v: unknown) => /\s/.test(pyStr(v)),
    is_ip: (v: unknown) => isIp(v),
    is_ipv4: (v: unknown) => isIp(v, 4),
    is_ipv6: (v: unknown) => isIp(v, 6),
    ipaddr: ipFilter(),
    ipv4: ipFilter(4),
    ipv6: ipFilter(6),
    human_to_bytes: py(["size", "default_unit", "handle_metric"], humanToBytes),
    to_snake_case: (v: unknown) =>
      pyStr(v).replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[-\s]+/g, "_").toLowerCase(),
    to_camelcase: py(["text", "uppercamel"], (t, upper) => {
      const parts = pyStr(t).split(/[_\-\s]+/).filter(Boolean);
      const out = parts.map((p, i) =>
        i === 0 && !pyBool(upper) ? p : p[0]!.toUpperCase() + p.slice(1)
      ).join("");
      return out;
    }),
    exactly_n_true: (v: unknown, n: unknown = 1) => items(v).filter(pyBool).length === Number(n),
    exactly_one_true: (v: unknown) => items(v).filter(pyBool).length === 1,
    compare_lists: (a: unknown, b: unknown) => {
      const out: Record<string, unknown[]> = {};
      const added = items(b).filter((x) => !pyIn(x, items(a)));
      const removed = items(a).filter((x) => !pyIn(x, items(b)));
      if (added.length) out.new = added;
      if (removed.length) out.old = removed;
      return out;
    },
    compare_dicts: (a: unknown, b: unknown) => {
      const out: Record<string, unknown> = {};
      const x = isDict(a) ? a : {}, y = isDict(b) ? b : {};
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (!pyEq(x[k], y[k])) out[k] = { old: x[k] ?? "", new: y[k] ?? "" };
      }
      return out;
    },
    check_whitelist_blacklist: py(["value", "whitelist", "blacklist"], (v, white, black) => {
      const s = pyStr(v);
      if (black && matchesAny(s, black)) return false;
      return white ? matchesAny(s, white) : true;
    }),
    dict_to_sls_yaml_params: py(
      ["value", "flow_style"],
      (v, flow = false) =>
        dumpYaml(Object.entries(isDict(v) ? v : {}).map(([k, x]) => ({ [k]: x })), pyBool(flow)),
    ),
    sorted_ignorecase: (v: unknown) =>
      [...items(v)].sort((a, b) => pyOrder(pyStr(a).toLowerCase(), pyStr(b).toLowerCase())),
  };
  filters.d = filters.default!;
  for (const [name, fn] of Object.entries(filters)) env.addFilter(name, fn);

  const compare = (test: (o: number) => boolean): Fn => (a: unknown, b: unknown) =>
    test(pyOrder(a, b));
  const tests: Record<string, Fn> = {
    none: (v: unknown) => v === null,
    boolean: (v: unknown) => typeof v === "boolean",
    true: (v: unknown) => v === true,
    false: (v: unknown) => v === false,
    integer: (v: unknown) => typeof v === "number" && Number.isInteger(v),
    float: (v: unknown) => typeof v === "number" && !Number.isInteger(v),
    sequence: (v: unknown) => typeof v === "string" || Array.isArray(v) || isDict(v),
    list: (v: unknown) => Array.isArray(v),
    mapping: (v: unknown) => isDict(v),
    iterable: (v: unknown) => typeof v === "string" || Array.isArray(v) || isDict(v),
    in: (v: unknown, seq: unknown) => pyIn(v, seq),
    eq: (a: unknown, b: unknown) => pyEq(a, b),
    ne: (a: unknown, b: unknown) => !pyEq(a, b),
    lt: compare((o) => o < 0),
    le: compare((o) => o <= 0),
    gt: compare((o) => o > 0),
    ge: compare((o) => o >= 0),
    match: py(
      ["txt", "rgx", "ignorecase", "multiline"],
      (t, r, i, m) => pyRegExp(pyStr(r), "y" + regexFlags(i, m)).test(pyStr(t)),
    ),
    filter: (v: unknown) => Object.hasOwn(env.filters, pyStr(v)),
    test: (v: unknown) => Object.hasOwn(env.tests, pyStr(v)),
  };
  Object.assign(tests, {
    equalto: tests.eq,
    "==": tests.eq,
    "!=": tests.ne,
    lessthan: tests.lt,
    "<": tests.lt,
    "<=": tests.le,
    greaterthan: tests.gt,
    ">": tests.gt,
    ">=": tests.ge,
  });
  for (const [name, fn] of Object.entries(tests)) env.addTest(name, fn);
}

function extreme(v: unknown, attribute: unknown, sign: 1 | -1): unknown {
  const list = items(v);
  const key = (x: unknown) => attribute ? attrPath(x, attribute) : x;
  return list.reduce((best, x) => pyOrder(key(x), key(best)) * sign > 0 ? x : best, list[0]);
}

function selectOrReject(keep: boolean): Fn {
  return function (this: FilterContext, seq: unknown, test?: unknown, ...args: unknown[]) {
    const fn = test === undefined ? undefined : this.env.getTest(pyStr(test));
    return items(seq).filter((v) => (fn ? fn.call(this, v, ...args) === true : pyBool(v)) === keep);
  };
}
