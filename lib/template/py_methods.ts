/**
 * Python's `str`, `list` and `dict` methods, which Salt formulas call on their values
 * (`'Abc'.lower()`, `name.rpartition('.')`, `l.extend(x)`, `d.items()`, `d.update(…)`…). The
 * methods read and write own properties only, so that no method reaches a prototype;
 * `safe_lookup.ts` decides who may call them.
 * @module
 */
import {
  isDict,
  pyEq,
  pyKey,
  pyOrder,
  pyRepr,
  PyTypeError,
  strFormat,
  tuple,
  typeName,
} from "./python.ts";

type Method<T> = (self: T, ...args: unknown[]) => unknown;

/** Split nunjucks's trailing keyword-argument object (marked `__keywords`) off `args`. */
export function splitKeywords(args: unknown[]): [unknown[], Record<string, unknown>] {
  const last = args[args.length - 1] as Record<string, unknown> | undefined;
  if (last && typeof last === "object" && Object.hasOwn(last, "__keywords")) {
    const { __keywords: _, ...kw } = last;
    return [args.slice(0, -1), kw];
  }
  return [args, {}];
}

/**
 * `fn` taking Python's keyword arguments by parameter `names` (positions): `f(a, default=1)`
 * arrives from nunjucks as `f(a, {default: 1, __keywords: true})`. An unknown keyword is an error.
 */
// deno-lint-ignore no-explicit-any
export function withKeywords<F extends (this: any, ...args: any[]) => unknown>(
  names: string[],
  fn: F,
): F {
  return function (this: unknown, ...args: unknown[]) {
    const [out, kw] = splitKeywords(args);
    for (const [k, v] of Object.entries(kw)) {
      const i = names.indexOf(k);
      if (i < 0) throw new TypeError(`got an unexpected keyword argument '${k}'`);
      out[i] = v;
    }
    return fn.apply(this, out);
  } as F;
}

function ownValue(obj: unknown, key: string): unknown {
  if (Array.isArray(obj) && /^\d+$/.test(key)) return obj[Number(key)];
  return obj && typeof obj === "object" && Object.hasOwn(obj, key)
    ? (obj as Record<string, unknown>)[key]
    : undefined;
}

function trimChars(s: string, chars: string, start: boolean, end: boolean): string {
  let a = 0, b = s.length;
  while (start && a < b && chars.includes(s[a]!)) a++;
  while (end && b > a && chars.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

function strip(start: boolean, end: boolean): Method<string> {
  return (s, chars) =>
    chars === undefined || chars === null
      ? trimChars(s, " \t\n\r\x0b\x0c", start, end)
      : trimChars(s, String(chars), start, end);
}

function splitStr(s: string, sep: unknown, max: unknown, fromRight: boolean): string[] {
  const limit = max === undefined || max === null || Number(max) < 0 ? Infinity : Number(max);
  if (sep === undefined || sep === null) {
    const words = s.trim().split(/\s+/).filter(Boolean);
    if (words.length <= limit + 1) return words;
    // Whitespace-split with a limit keeps the rest of the string as it was.
    const re = /\S+/g;
    const spans = [...s.matchAll(re)].map((m) => [m.index!, m.index! + m[0].length]);
    if (fromRight) {
      const keep = spans.slice(-limit);
      return [s.slice(0, keep[0]![0]).trimEnd(), ...keep.map(([a, b]) => s.slice(a, b))];
    }
    const keep = spans.slice(0, limit);
    return [...keep.map(([a, b]) => s.slice(a, b)), s.slice(spans[limit]![0]).trimEnd()];
  }
  const by = String(sep);
  if (by === "") throw new Error("ValueError: empty separator");
  const parts = s.split(by);
  if (parts.length <= limit + 1) return parts;
  return fromRight
    ? [parts.slice(0, parts.length - limit).join(by), ...parts.slice(parts.length - limit)]
    : [...parts.slice(0, limit), parts.slice(limit).join(by)];
}

function affix(s: string, what: unknown, test: (s: string, x: string) => boolean): boolean {
  const options = Array.isArray(what) ? what : [what];
  return options.some((x) => test(s, String(x)));
}

function found(i: number): number {
  if (i < 0) throw new Error("ValueError: substring not found");
  return i;
}

/** Python's `str` methods, by name. */
const STR: Record<string, Method<string>> = {
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  casefold: (s) => s.toLowerCase(),
  swapcase: (s) =>
    [...s].map((c) => c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()).join(""),
  strip: strip(true, true),
  lstrip: strip(true, false),
  rstrip: strip(false, true),
  split: (s, ...a) => {
    const [[sep, max], kw] = splitKeywords(a);
    return splitStr(s, kw.sep ?? sep, kw.maxsplit ?? max, false);
  },
  rsplit: (s, ...a) => {
    const [[sep, max], kw] = splitKeywords(a);
    return splitStr(s, kw.sep ?? sep, kw.maxsplit ?? max, true);
  },
  splitlines: (s, keep) => {
    const lines = s.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? [];
    return keep ? lines : lines.map((l) => l.replace(/(\r\n|\r|\n)$/, ""));
  },
  partition: (s, sep) => {
    const i = s.indexOf(String(sep));
    return i < 0
      ? tuple([s, "", ""])
      : tuple([s.slice(0, i), String(sep), s.slice(i + String(sep).length)]);
  },
  rpartition: (s, sep) => {
    const i = s.lastIndexOf(String(sep));
    return i < 0
      ? tuple(["", "", s])
      : tuple([s.slice(0, i), String(sep), s.slice(i + String(sep).length)]);
  },
  startswith: (s, p) => affix(s, p, (a, b) => a.startsWith(b)),
  endswith: (s, p) => affix(s, p, (a, b) => a.endsWith(b)),
  replace: (s, a, b, count) => {
    const parts = s.split(String(a));
    const n = count === undefined || Number(count) < 0 ? parts.length : Number(count) + 1;
    return parts.slice(0, n).join(String(b)) + (n < parts.length ? String(a) : "") +
      parts.slice(n).join(String(a));
  },
  join: (s, list) => {
    if (typeof list === "string") return [...list].join(s);
    if (!Array.isArray(list)) throw new PyTypeError("can only join an iterable");
    return list.map((x) => {
      if (typeof x !== "string") {
        throw new PyTypeError(`sequence item: expected str instance, ${typeName(x)} found`);
      }
      return x;
    }).join(s);
  },
  title: (s) => s.replace(/[A-Za-z]+/g, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()),
  capitalize: (s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  find: (s, sub) => s.indexOf(String(sub)),
  rfind: (s, sub) => s.lastIndexOf(String(sub)),
  index: (s, sub) => found(s.indexOf(String(sub))),
  rindex: (s, sub) => found(s.lastIndexOf(String(sub))),
  count: (s, sub) => s.split(String(sub)).length - 1,
  isdigit: (s) => /^\d+$/.test(s),
  isdecimal: (s) => /^\d+$/.test(s),
  isnumeric: (s) => /^\p{N}+$/u.test(s),
  isalpha: (s) => /^\p{L}+$/u.test(s),
  isalnum: (s) => /^[\p{L}\p{N}]+$/u.test(s),
  isspace: (s) => /^\s+$/.test(s),
  islower: (s) => /\p{Ll}/u.test(s) && s === s.toLowerCase(),
  isupper: (s) => /\p{Lu}/u.test(s) && s === s.toUpperCase(),
  zfill: (s, w) => {
    const sign = /^[+-]/.test(s) ? s[0]! : "";
    return sign + s.slice(sign.length).padStart(Number(w) - sign.length, "0");
  },
  ljust: (s, w, fill = " ") => s.padEnd(Number(w), String(fill)),
  rjust: (s, w, fill = " ") => s.padStart(Number(w), String(fill)),
  center: (s, w, fill = " ") => {
    const room = Math.max(0, Number(w) - s.length);
    const left = Math.floor(room / 2) + (room % 2 && s.length % 2 ? 1 : 0);
    return String(fill).repeat(left) + s + String(fill).repeat(room - left);
  },
  format: (s, ...a) => {
    const [args, kw] = splitKeywords(a);
    return strFormat(s, args, kw, ownValue);
  },
  format_map: (s, mapping) => strFormat(s, [], isDict(mapping) ? mapping : {}, ownValue),
};

/** Python's `list` methods (and `find`, which nunjucks's own Jinja layer gave lists). */
const LIST: Record<string, Method<unknown[]>> = {
  append: (l, x) => {
    l.push(x);
    return null;
  },
  extend: (l, xs) => {
    l.push(...(Array.isArray(xs) ? xs : isDict(xs) ? Object.keys(xs) : [...String(xs)]));
    return null;
  },
  pop: (l, i) => {
    if (l.length === 0) throw new Error("IndexError: pop from empty list");
    if (i === undefined) return l.pop();
    const n = Number(i) < 0 ? l.length + Number(i) : Number(i);
    if (n >= l.length || n < 0) throw new Error("IndexError: pop index out of range");
    return l.splice(n, 1)[0];
  },
  remove: (l, x) => {
    const i = l.findIndex((v) => pyEq(v, x));
    if (i < 0) throw new Error("ValueError: list.remove(x): x not in list");
    l.splice(i, 1);
    return null;
  },
  count: (l, x) => l.filter((v) => pyEq(v, x)).length,
  index: (l, x) => {
    const i = l.findIndex((v) => pyEq(v, x));
    if (i < 0) throw new Error(`ValueError: ${pyRepr(x)} is not in list`);
    return i;
  },
  find: (l, x) => l.findIndex((v) => pyEq(v, x)),
  insert: (l, i, x) => {
    l.splice(Number(i), 0, x);
    return null;
  },
  sort: (l, ...a) => {
    const [, kw] = splitKeywords(a);
    l.sort(pyOrder);
    if (kw.reverse) l.reverse();
    return null;
  },
  reverse: (l) => {
    l.reverse();
    return null;
  },
  copy: (l) => [...l],
  clear: (l) => {
    l.splice(0);
    return null;
  },
};

type Dict = Record<string, unknown>;
const own = (d: object, k: string) => Object.hasOwn(d, k);

/** Set `d[k]` as an own data property: a key `__proto__` is data, never the prototype. */
export function put(d: Dict, k: string, v: unknown): void {
  Object.defineProperty(d, k, { value: v, writable: true, enumerable: true, configurable: true });
}

function keyError(k: unknown): Error {
  return new Error(`KeyError: ${pyRepr(k)}`);
}

/** Python's `dict` methods, over own properties only. */
const DICT: Record<string, Method<Dict>> = {
  items: (d) => Object.entries(d).map((e) => tuple(e)),
  values: (d) => Object.values(d),
  keys: (d) => Object.keys(d),
  get: (d, k, dflt = null) => own(d, pyKey(k)) && d[pyKey(k)] !== undefined ? d[pyKey(k)] : dflt,
  has_key: (d, k) => own(d, pyKey(k)),
  pop: (d, k, dflt) => {
    const key = pyKey(k);
    if (!own(d, key) || d[key] === undefined) {
      if (dflt === undefined) throw keyError(k);
      return dflt;
    }
    const v = d[key];
    delete d[key];
    return v;
  },
  popitem: (d) => {
    const k = Object.keys(d).at(-1);
    if (k === undefined) throw new Error("KeyError: 'popitem(): dictionary is empty'");
    const v = d[k];
    delete d[k];
    return tuple([k, v]);
  },
  setdefault: (d, k, dflt = null) => {
    const key = pyKey(k);
    if (!own(d, key)) put(d, key, dflt);
    return d[key];
  },
  update: (d, ...a) => {
    const [[other], kw] = splitKeywords(a);
    const pairs = Array.isArray(other)
      ? other.map((p) => Array.isArray(p) ? p : [])
      : other && typeof other === "object"
      ? Object.entries(other)
      : [];
    for (const [k, v] of [...pairs, ...Object.entries(kw)]) put(d, pyKey(k), v);
    return null;
  },
  copy: (d) => {
    const out: Dict = {};
    for (const [k, v] of Object.entries(d)) put(out, k, v);
    return out;
  },
  clear: (d) => {
    for (const k of Object.keys(d)) delete d[k];
    return null;
  },
};
DICT.iteritems = DICT.items!;
DICT.itervalues = DICT.values!;
DICT.iterkeys = DICT.keys!;

/** The Python method `name` of `self`, bound to it, or undefined when it has none. */
export function pyMethod(
  self: unknown,
  name: string,
): ((...args: unknown[]) => unknown) | undefined {
  const table: Record<string, Method<never>> | undefined = typeof self === "string"
    ? STR
    : Array.isArray(self)
    ? LIST
    : isDict(self)
    ? DICT
    : undefined;
  const m = table && Object.hasOwn(table, name) ? table[name] : undefined;
  return m && ((...args: unknown[]) => (m as Method<unknown>)(self, ...args));
}
