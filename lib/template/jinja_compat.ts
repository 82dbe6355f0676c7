/**
 * The Jinja that Salt formulas use and nunjucks lacks, made to work: Python string, list and dict
 * methods (`'Abc'.lower()`, `.split()`, `.format()`, `l.append(x)`, `d.items()`, `d.update(…)`…),
 * slices (`x[1:]`), `True`, `False` and `None` as names and printed as Jinja prints them, nested
 * dict literals ending in `}}` inside a tag, and tests with an argument but no parentheses
 * (`x is divisibleby 3`). The last two are rewritten before nunjucks lexes the template, without
 * changing line numbers. The methods read and write own properties only, so that no method reaches
 * a prototype; `safe_lookup.ts` decides who may call them.
 * @module
 */
import { nunjucksInternals } from "./nunjucks_internals.ts";

type Method<T> = (self: T, ...args: unknown[]) => unknown;

/** Python's `str` methods, by name. */
const STR: Record<string, Method<string>> = {
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

/** Python's `list` methods, with the results nunjucks's Jinja compatibility gave them. */
const LIST: Record<string, Method<unknown[]>> = {
  append: (l, x) => l.push(x),
  pop: (l, i) => {
    if (i === undefined) return l.pop();
    if (Number(i) >= l.length || Number(i) < 0) throw new Error("KeyError");
    return l.splice(Number(i), 1);
  },
  remove: (l, x) => {
    const i = l.indexOf(x);
    if (i < 0) throw new Error("ValueError");
    return l.splice(i, 1);
  },
  count: (l, x) => l.filter((v) => v === x).length,
  index: (l, x) => {
    const i = l.indexOf(x);
    if (i < 0) throw new Error("ValueError");
    return i;
  },
  find: (l, x) => l.indexOf(x),
  insert: (l, i, x) => l.splice(Number(i), 0, x),
  sort: (l) => l.sort(),
  reverse: (l) => l.reverse(),
};

type Dict = Record<string, unknown>;
const own = (d: object, k: string) => Object.hasOwn(d, k);

/** Set `d[k]` as an own data property: a key `__proto__` is data, never the prototype. */
function put(d: Dict, k: string, v: unknown): void {
  Object.defineProperty(d, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/** Python's `dict` methods, over own properties only. */
const DICT: Record<string, Method<Dict>> = {
  items: (d) => Object.entries(d),
  values: (d) => Object.values(d),
  keys: (d) => Object.keys(d),
  get: (d, k, dflt) => own(d, String(k)) && d[String(k)] !== undefined ? d[String(k)] : dflt,
  has_key: (d, k) => own(d, String(k)),
  pop: (d, k, dflt) => {
    const key = String(k);
    if (!own(d, key) || d[key] === undefined) {
      if (dflt === undefined) throw new Error("KeyError");
      return dflt;
    }
    const v = d[key];
    delete d[key];
    return v;
  },
  popitem: (d) => {
    const k = Object.keys(d)[0];
    if (k === undefined) throw new Error("KeyError");
    const v = d[k];
    delete d[k];
    return [k, v];
  },
  setdefault: (d, k, dflt = null) => {
    const key = String(k);
    if (!own(d, key)) put(d, key, dflt);
    return d[key];
  },
  update: (d, other) => {
    if (other && typeof other === "object") {
      for (const [k, v] of Object.entries(other)) if (k !== "__keywords") put(d, k, v);
    }
    return null;
  },
};
DICT.iteritems = DICT.items!;
DICT.itervalues = DICT.values!;
DICT.iterkeys = DICT.keys!;

/** A plain mapping (what YAML, JSON and dict literals make), which has Python's dict methods. */
function isDict(v: unknown): v is Dict {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

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

/** Python's `x[start:stop:step]`, elements read with `item`. */
export function sliceOf(
  obj: unknown,
  start: unknown,
  stop: unknown,
  step: unknown,
  item: (obj: unknown, i: number) => unknown,
): unknown {
  const len = typeof obj === "string" || Array.isArray(obj) ? obj.length : 0;
  const by = step === null || step === undefined ? 1 : Math.trunc(Number(step));
  if (!by) throw new Error("slice step cannot be zero");
  const lo = by > 0 ? 0 : -1, hi = by > 0 ? len : len - 1;
  const at = (v: unknown, dflt: number) => {
    if (v === null || v === undefined) return dflt;
    const n = Math.trunc(Number(v));
    return Math.min(Math.max(n < 0 ? n + len : n, lo), hi);
  };
  const out: unknown[] = [];
  const end = at(stop, by > 0 ? hi : lo);
  for (let i = at(start, by > 0 ? lo : hi); by > 0 ? i < end : i > end; i += by) {
    out.push(item(obj, i));
  }
  return typeof obj === "string" ? out.join("") : out;
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

/** Jinja's constants, for names no template variable shadows. */
export const JINJA_CONSTANTS: Readonly<Record<string, unknown>> = {
  True: true,
  False: false,
  None: null,
};

/**
 * Teach nunjucks's parser and compiler slices (`x[a:b:c]` compiles to a four-argument
 * `memberLookup`, which `safe_lookup.ts` answers), and print `True`, `False` and `None` as Jinja
 * does. The slice parsing follows nunjucks's own Jinja compatibility layer, which cannot be used
 * as is: it reads an environment variable, and a template worker has no permissions.
 */
export function installCompat(): void {
  const { runtime, nodes, lexer, lib, Compiler, Parser } = nunjucksInternals();
  const Slice = nodes.Node.extend("Slice", {
    fields: ["start", "stop", "step"],
    init(
      this: { parent(...a: unknown[]): void },
      lineno: number,
      colno: number,
      start?: unknown,
      stop?: unknown,
      step?: unknown,
    ) {
      this.parent(
        lineno,
        colno,
        start ?? new nodes.Literal(lineno, colno, null),
        stop ?? new nodes.Literal(lineno, colno, null),
        step ?? new nodes.Literal(lineno, colno, 1),
      );
    },
  });
  const assertType = Compiler.prototype.assertType!;
  Compiler.prototype.assertType = function (this: unknown, node: unknown, ...rest: unknown[]) {
    if (!(node instanceof Slice)) assertType.call(this, node, ...rest);
  };
  Compiler.prototype.compileSlice = function (
    this: CompilerThis,
    node: Record<string, unknown>,
    frame: unknown,
  ) {
    this._emit("(");
    this._compileExpression(node.start, frame);
    this._emit("),(");
    this._compileExpression(node.stop, frame);
    this._emit("),(");
    this._compileExpression(node.step, frame);
    this._emit(")");
  };
  const parseAggregate = Parser.prototype.parseAggregate!;
  Parser.prototype.parseAggregate = function (this: ParserThis) {
    const state = () => ({
      index: this.tokens.index,
      lineno: this.tokens.lineno,
      colno: this.tokens.colno,
    });
    const before = state();
    // Back to the opening bracket.
    before.colno--;
    before.index--;
    try {
      return parseAggregate.call(this);
    } catch (e) {
      const after = state();
      const rethrow = () => {
        lib._assign(this.tokens, after);
        return e;
      };
      lib._assign(this.tokens, before);
      this.peeked = false;
      const tok = this.peekToken();
      if (tok.type !== lexer.TOKEN_LEFT_BRACKET) throw rethrow();
      this.nextToken();
      const node = new Slice(tok.lineno, tok.colno) as Record<string, unknown>;
      const fields = ["start", "stop", "step"];
      let isSlice = false;
      for (let i = 0; i <= fields.length; i++) {
        if (this.skip(lexer.TOKEN_RIGHT_BRACKET)) break;
        if (i === fields.length) {
          if (isSlice) this.fail("parseSlice: too many slice components", tok.lineno, tok.colno);
          else break;
        }
        if (this.skip(lexer.TOKEN_COLON)) {
          isSlice = true;
        } else {
          node[fields[i]!] = this.parseExpression();
          isSlice = this.skip(lexer.TOKEN_COLON) || isSlice;
        }
      }
      if (!isSlice) throw rethrow();
      return new nodes.Array(tok.lineno, tok.colno, [node]);
    }
  };
  const suppress = runtime.suppressValue;
  runtime.suppressValue = (val: unknown, autoescape: unknown) =>
    suppress(
      val === true ? "True" : val === false ? "False" : val === null ? "None" : val,
      autoescape,
    );
}

interface CompilerThis {
  _emit(code: string): void;
  _compileExpression(node: unknown, frame: unknown): void;
}

interface ParserThis {
  tokens: { index: number; lineno: number; colno: number };
  peeked: unknown;
  peekToken(): { type: string; lineno: number; colno: number };
  nextToken(): unknown;
  skip(type: string): boolean;
  fail(msg: string, lineno?: number, colno?: number): never;
  parseExpression(): unknown;
}
