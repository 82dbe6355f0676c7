/**
 * nunjucks made to read and run the Jinja that Salt formulas use: Python's operators and printing
 * (`python.ts`), tuples, dict literals with computed keys, slices (`x[1:]`), `True`, `False` and
 * `None`, `loop.cycle`/`previtem`/`nextitem`, `for … if …`, a dict iterated by its keys,
 * `namespace()` with `{% set ns.x = … %}`, `**kwargs` in calls, nested dict literals ending in
 * `}}` inside a tag, and tests with an argument but no parentheses (`x is divisibleby 3`). The
 * last three are rewritten before nunjucks lexes the template, without changing line numbers.
 * @module
 */
import { position } from "./error_origin.ts";
import { nunjucksInternals } from "./nunjucks_internals.ts";
import {
  isDict,
  pyAdd,
  pyBool,
  pyCompare,
  pyDiv,
  pyFloorDiv,
  pyIn,
  pyKey,
  pyMod,
  pyMul,
  pyStr,
  pySub,
  tuple,
} from "./python.ts";
import { put, splitKeywords } from "./py_methods.ts";
import { trust } from "./trusted.ts";

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

const TESTS = "divisibleby|sameas|equalto|eq|ne|lt|gt|le|ge|greaterthan|lessthan|match|in|search";
const BARE_TEST = new RegExp(
  `\\bis(\\s+not)?\\s+(${TESTS})\\s+(?!\\()('[^']*'|"[^"]*"|[^\\s%}()]+)`,
  "g",
);

/** Python allows a trailing comma in dict, list and call literals; nunjucks does not. */
const TRAILING_COMMA = /,(\s*)([}\])])/g;
/** `f(*args, **kwargs)`: keyword arguments that `expandKeywords` spreads into the call. */
const SPLAT = /([(,]\s*)(\*\*?)(?=\s*[A-Za-z_({[])/g;
/** The keywords that carry `*` and `**` arguments. */
const SPLAT_KEYS: Record<string, string> = { "*": "__args__", "**": "__kwargs__" };

function fix(code: string): string {
  return code.replace(BARE_TEST, "is$1 $2($3)").replace(TRAILING_COMMA, "$1$2").replace(
    SPLAT,
    (_m, before: string, stars: string) => `${before}${SPLAT_KEYS[stars]}=`,
  );
}

/**
 * The code of the tag or output that starts at `start` (after `{%` or `{{`) and where it ends,
 * found as Jinja finds it: outside strings and brackets. Inside, `}}` (which would end the tag
 * for nunjucks's lexer, as in `{'a': {'b': 1}}`) becomes `} }`.
 */
function scanCode(text: string, start: number, output: boolean): { code: string; end: number } {
  let code = "";
  let depth = 0;
  let quote = "";
  let j = start;
  for (; j < text.length; j++) {
    const c = text[j]!;
    if (quote) {
      if (c === "\\") code += text[j++] ?? "";
      else if (c === quote) quote = "";
      code += text[j] ?? "";
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]") depth = Math.max(0, depth - 1);
    else if (c === "}") {
      if (depth === 0 && output && text[j + 1] === "}") break;
      depth = Math.max(0, depth - 1);
      if (text[j + 1] === "}") {
        code += "} ";
        continue;
      }
    } else if (c === "%" && !output && text[j + 1] === "}") break;
    code += c;
  }
  return { code, end: j };
}

/** Rewrite what nunjucks cannot lex, keeping every newline where it was. */
export function prelex(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("{", i);
    if (open < 0 || open + 1 >= text.length) break;
    const kind = text[open + 1];
    out += plain(text.slice(i, open));
    const raw = kind === "%" ? /^\{%-?\s*raw\s*-?%\}/.exec(text.slice(open)) : null;
    if (kind === "#" || raw) {
      const closing = raw ? /\{%-?\s*endraw\s*-?%\}/g : /#\}/g;
      closing.lastIndex = open + 2;
      const m = closing.exec(text);
      const end = m ? m.index + m[0].length : text.length;
      out += text.slice(open, end);
      i = end;
    } else if (kind === "{" || kind === "%") {
      const { code, end } = scanCode(text, open + 2, kind === "{");
      out += `{${kind}${fix(code)}${text.slice(end, end + 2)}`;
      i = end + 2;
    } else {
      out += "{";
      i = open + 1;
    }
  }
  return out + plain(text.slice(i));
}

/** Text outside tags, where a stray `#}` is text to Jinja but an error to nunjucks's lexer. */
function plain(text: string): string {
  return text.replaceAll("#}", `{{ "#}" }}`);
}

/** Spread `*list` and `**mapping` arguments (see {@linkcode prelex}) into the call's arguments. */
export function expandKeywords(args: unknown[]): unknown[] {
  const [positional, kw] = splitKeywords(args);
  if (!Object.hasOwn(kw, "__args__") && !Object.hasOwn(kw, "__kwargs__")) return args;
  const { __args__: list, __kwargs__: spread, ...rest } = kw;
  if (list !== undefined && !Array.isArray(list)) {
    throw new TypeError("argument after * must be a list");
  }
  if (spread !== undefined && !isDict(spread)) {
    throw new TypeError("argument after ** must be a mapping");
  }
  const out: Record<string, unknown> = { __keywords: true };
  for (const [k, v] of [...Object.entries(rest), ...Object.entries(spread ?? {})]) put(out, k, v);
  return [...positional, ...(list ?? []), ...(Object.keys(out).length > 1 ? [out] : [])];
}

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
  "0": "\0",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "\n": "",
};

/**
 * A Python string literal's escape at `src[i]` (after the backslash): its text and length.
 * Unknown escapes keep their backslash, as Python keeps them (`'\s+'` is a regex's `\s+`).
 */
function escapeAt(src: string, i: number): [string, number] {
  const c = src[i] ?? "";
  if (Object.hasOwn(ESCAPES, c)) return [ESCAPES[c]!, 1];
  const hex = { x: 2, u: 4, U: 8 }[c as "x" | "u" | "U"];
  const digits = hex ? src.slice(i + 1, i + 1 + hex) : "";
  if (hex && /^[0-9a-fA-F]+$/.test(digits) && digits.length === hex) {
    return [String.fromCodePoint(parseInt(digits, 16)), 1 + hex];
  }
  return [`\\${c}`, 1];
}

/** What compiled `obj.key` passes `memberLookup` as its third argument (`obj[key]` passes none). */
export const ATTRIBUTE = "attribute";

/** Jinja's constants, for names no template variable shadows. */
export const JINJA_CONSTANTS: Readonly<Record<string, unknown>> = {
  True: true,
  False: false,
  None: null,
};

const NAMESPACES = new WeakSet<object>();

/** Jinja's `namespace(…)`: a mapping whose attributes `{% set ns.x = … %}` may assign. */
export const namespace = trust((...args: unknown[]) => {
  const [positional, kw] = splitKeywords(args);
  const ns: Record<string, unknown> = Object.create(null);
  for (const init of positional) {
    if (isDict(init)) { for (const [k, v] of Object.entries(init)) put(ns, k, v); }
  }
  for (const [k, v] of Object.entries(kw)) put(ns, k, v);
  NAMESPACES.add(ns);
  return ns;
});

/** True when `v` was made by {@linkcode namespace}. */
export function isNamespace(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && NAMESPACES.has(v);
}

/** Runtime helpers that compiled templates call, by name on nunjucks's runtime. */
const HELPERS: Record<string, (...args: never[]) => unknown> = {
  pyBool,
  pyAdd,
  pySub,
  pyMul,
  pyDiv,
  pyFloorDiv,
  pyMod,
  pyCompare,
  pyTuple: (items: unknown[]) => tuple(items),
  pyConcat: (a: unknown, b: unknown) => pyStr(a) + pyStr(b),
  pyDict: (pairs: [unknown, unknown][]) => {
    const d: Record<string, unknown> = {};
    for (const [k, v] of pairs) put(d, pyKey(k), v);
    return d;
  },
  /** A bare name as a dict key: its value, or the name itself when it has none (nunjucks's). */
  pyNameKey: (value: unknown, name: string) => value === undefined ? name : value,
  /** A single loop variable over a dict iterates its keys, as Python does. */
  pyIter: (v: unknown) => isDict(v) ? Object.keys(v) : v,
  pyLoopCycle: (i: number) => trust((...items: unknown[]) => items[i % items.length]),
  pyLoopFilter: (
    arr: unknown,
    frame: { push(): { set(n: string, v: unknown): void } },
    names: string[],
    cond: (frame: unknown) => unknown,
  ) => {
    const items = isDict(arr)
      ? names.length === 1 ? Object.keys(arr) : Object.entries(arr)
      : Array.isArray(arr)
      ? arr
      : typeof arr === "string"
      ? [...arr]
      : [];
    return items.filter((item) => {
      const f = frame.push();
      if (names.length === 1) f.set(names[0]!, item);
      else names.forEach((n, i) => f.set(n, (item as unknown[])[i]));
      return pyBool(cond(f));
    });
  },
};

/**
 * Teach nunjucks's parser and compiler Jinja's syntax and Python's semantics: slices, tuples,
 * dict literals with any key expression, Python's operators, comparisons and truth values,
 * Jinja's loop extras, `for … if …`, attribute assignment on namespaces, and printing as Python
 * does. The slice parsing follows nunjucks's own Jinja compatibility layer, which cannot be used
 * as is: it reads an environment variable, and a template worker has no permissions.
 */
export function installCompat(): void {
  const { runtime, nodes, lexer, lib, Compiler, Parser } = nunjucksInternals();
  Object.assign(runtime, HELPERS);
  runtime.inOperator = pyIn;
  const node = (name: string, fields: string[]) => nodes.Node.extend(name, { fields });
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
  const Wrapped = node("Wrapped", ["helper", "target"]);
  const LoopFilter = node("LoopFilter", ["arr", "cond", "names"]);
  /** Record the node's position first, so that a runtime error there names its line. */
  const at = (c: CompilerThis, node: NodeLike, emit: () => void) => {
    c._emit(`(${position(c.templateName, node)}`);
    emit();
    c._emit(")");
  };
  const wrap = (helper: string, target: NodeLike) =>
    new Wrapped(target.lineno, target.colno, helper, target);
  const proto = Compiler.prototype as unknown as Record<string, CompileFn>;

  const assertType = proto.assertType!;
  proto.assertType = function (node, ...rest) {
    if (![Slice, Wrapped, LoopFilter].some((T) => node instanceof T)) {
      assertType.call(this, node, ...rest);
    }
  };
  proto.compileSlice = function (node, frame) {
    this._emit("(");
    this._compileExpression(node.start, frame);
    this._emit("),(");
    this._compileExpression(node.stop, frame);
    this._emit("),(");
    this._compileExpression(node.step, frame);
    this._emit(")");
  };
  proto.compileWrapped = function (node, frame) {
    at(this, node, () => {
      this._emit(`runtime.${node.helper}(`);
      this.compile(node.target, frame);
      this._emit(")");
    });
  };
  const binary = (helper: string): CompileFn =>
    function (node, frame) {
      at(this, node, () => {
        this._emit(`runtime.${helper}(`);
        this.compile(node.left, frame);
        this._emit(",");
        this.compile(node.right, frame);
        this._emit(")");
      });
    };
  proto.compileAdd = binary("pyAdd");
  proto.compileSub = binary("pySub");
  proto.compileMul = binary("pyMul");
  proto.compileDiv = binary("pyDiv");
  proto.compileFloorDiv = binary("pyFloorDiv");
  proto.compileMod = binary("pyMod");
  proto.compileConcat = binary("pyConcat");
  proto.compileCompare = function (node, frame) {
    at(this, node, () => {
      this._emit("runtime.pyCompare([");
      this.compile(node.expr, frame);
      for (const op of node.ops as NodeLike[]) {
        this._emit(",");
        this.compile(op.expr, frame);
      }
      this._emit(`],${JSON.stringify((node.ops as NodeLike[]).map((op) => op.type))})`);
    });
  };
  for (const method of ["compileFilter", "compileIs", "compileIn"]) {
    const compile = proto[method]!;
    proto[method] = function (node, ...rest) {
      at(this, node, () => compile.call(this, node, ...rest));
    };
  }
  // Python's `and`/`or` return an operand, chosen by its truth value.
  const logic = (keepLeftWhen: boolean): CompileFn =>
    function (node, frame) {
      this._emit("(function(pyL){return runtime.pyBool(pyL)===" + keepLeftWhen + "?pyL:(");
      this.compile(node.right, frame);
      this._emit(");})(");
      this.compile(node.left, frame);
      this._emit(")");
    };
  proto.compileOr = logic(true);
  proto.compileAnd = logic(false);
  proto.compileNot = function (node, frame) {
    this._emit("!runtime.pyBool(");
    this.compile(node.target, frame);
    this._emit(")");
  };
  for (const method of ["compileIf", "compileInlineIf"]) {
    const compile = proto[method]!;
    proto[method] = function (node, ...rest) {
      if (!(node.cond instanceof Wrapped)) node.cond = wrap("pyBool", node.cond);
      return compile.call(this, node, ...rest);
    };
  }
  const compileGroup = proto.compileGroup!;
  proto.compileGroup = function (node, frame) {
    if (node.children.length === 1) return compileGroup.call(this, node, frame);
    this._emit("runtime.pyTuple(");
    this._compileAggregate(node, frame, "[", "]");
    this._emit(")");
  };
  proto.compileDict = function (node, frame) {
    this._emit("runtime.pyDict([");
    (node.children as NodeLike[]).forEach((pair, i) => {
      if (i) this._emit(",");
      this._emit("[");
      if (pair.key instanceof nodes.Symbol && node instanceof nodes.KeywordArgs) {
        this._emit(JSON.stringify(pair.key.value));
      } else if (pair.key instanceof nodes.Symbol) {
        this._emit("runtime.pyNameKey(");
        this.compile(pair.key, frame);
        this._emit(`,${JSON.stringify(pair.key.value)})`);
      } else this.compile(pair.key, frame);
      this._emit(",");
      this.compile(pair.value, frame);
      this._emit("]");
    });
    this._emit("])");
  };
  const compileFor = proto.compileFor!;
  proto.compileFor = function (node, frame) {
    const names = node.name instanceof nodes.Array
      ? (node.name.children as NodeLike[]).map((c) => c.value as string)
      : [node.name.value as string];
    if (node.arr instanceof nodes.InlineIf && node.arr.else_ === null) {
      node.arr = new LoopFilter(
        node.arr.lineno,
        node.arr.colno,
        node.arr.body,
        node.arr.cond,
        names,
      );
    } else if (names.length === 1 && !(node.arr instanceof Wrapped)) {
      node.arr = wrap("pyIter", node.arr);
    }
    return compileFor.call(this, node, frame);
  };
  proto.compileLoopFilter = function (node, frame) {
    this._emit("runtime.pyLoopFilter(");
    this.compile(node.arr, frame);
    this._emit(`,frame,${JSON.stringify(node.names)},function(frame){return `);
    // A fresh compile frame: the loop variables are read from the runtime frame given here.
    this._compileExpression(node.cond, new (frame.constructor as new () => unknown)());
    this._emit(";})");
  };
  const emitLoop = proto._emitLoopBindings!;
  proto._emitLoopBindings = function (node, arr, i, len) {
    emitLoop.call(this, node, arr, i, len);
    this._emitLine(`frame.set("loop.cycle", runtime.pyLoopCycle(${i}));`);
    this._emitLine(`frame.set("loop.depth", 1);frame.set("loop.depth0", 0);`);
    this._emitLine(
      `if(runtime.isArray(${arr})||typeof ${arr}==="string"){frame.set("loop.previtem", ${i} > 0 ? ${arr}[${i} - 1] : ` +
        `undefined);frame.set("loop.nextitem", ${arr}[${i} + 1]);}`,
    );
  };
  const compileSet = proto.compileSet!;
  proto.compileSet = function (node, frame) {
    const [target] = node.targets as NodeLike[];
    if (node.targets.length !== 1 || !(target instanceof nodes.LookupVal) || !node.value) {
      return compileSet.call(this, node, frame);
    }
    this._emit("runtime.pySetAttr(");
    this.compile(target.target, frame);
    this._emit(",");
    this.compile(target.val, frame);
    this._emit(",");
    this._compileExpression(node.value, frame);
    this._emitLine(");");
  };

  // `obj.key` compiles apart from `obj[key]`: Jinja reads an attribute method-first.
  const compileLookupVal = proto.compileLookupVal!;
  proto.compileLookupVal = function (node, frame) {
    if (!node.attribute) return compileLookupVal.call(this, node, frame);
    at(this, node, () => {
      this._emit("runtime.memberLookup((");
      this._compileExpression(node.target, frame);
      this._emit("),");
      this._compileExpression(node.val, frame);
      this._emit(`,${JSON.stringify(ATTRIBUTE)})`);
    });
  };

  const parser = Parser.prototype as unknown as Record<string, (this: ParserThis) => unknown>;
  /** nunjucks's postfix parser, marking `a.b` lookups and allowing `a.0`, as Jinja does. */
  (parser as Record<string, unknown>).parsePostfix = function (this: ParserThis, node: NodeLike) {
    let tok = this.peekToken() as NodeLike;
    while (tok) {
      if (tok.type === lexer.TOKEN_LEFT_PAREN) {
        node = new nodes.FunCall(tok.lineno, tok.colno, node, this.parseSignature());
      } else if (tok.type === lexer.TOKEN_LEFT_BRACKET) {
        const lookup = this.parseAggregate() as NodeLike;
        if (lookup.children.length > 1) this.fail("invalid index");
        node = new nodes.LookupVal(tok.lineno, tok.colno, node, lookup.children[0]);
      } else if (tok.type === lexer.TOKEN_OPERATOR && tok.value === ".") {
        this.nextToken();
        const val = this.nextToken() as NodeLike;
        if (val.type !== lexer.TOKEN_SYMBOL && val.type !== lexer.TOKEN_INT) {
          this.fail(`expected name as lookup value, got ${val.value}`, val.lineno, val.colno);
        }
        const key = val.type === lexer.TOKEN_INT ? Number(val.value) : val.value;
        node = new nodes.LookupVal(
          tok.lineno,
          tok.colno,
          node,
          new nodes.Literal(val.lineno, val.colno, key),
        );
        node.attribute = true;
      } else break;
      tok = this.peekToken();
    }
    return node;
  };
  parser.parseAggregate = function (this: ParserThis) {
    const before = {
      index: this.tokens.index,
      lineno: this.tokens.lineno,
      colno: this.tokens.colno,
    };
    try {
      return parseAggregate.call(this);
    } catch (e) {
      const after = {
        index: this.tokens.index,
        lineno: this.tokens.lineno,
        colno: this.tokens.colno,
      };
      const rethrow = () => {
        lib._assign(this.tokens, after);
        return e;
      };
      // Back to the opening bracket.
      lib._assign(this.tokens, { ...before, index: before.index - 1, colno: before.colno - 1 });
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
  /** nunjucks's aggregate parser, but a dict key may be any expression (`{x | f: 1}`). */
  function parseAggregate(this: ParserThis): unknown {
    const tok = this.nextToken() as { type: string; lineno: number; colno: number };
    const Kind = tok.type === lexer.TOKEN_LEFT_PAREN
      ? nodes.Group
      : tok.type === lexer.TOKEN_LEFT_BRACKET
      ? nodes.Array
      : tok.type === lexer.TOKEN_LEFT_CURLY
      ? nodes.Dict
      : undefined;
    if (!Kind) return null;
    const agg = new Kind(tok.lineno, tok.colno);
    const closing = [lexer.TOKEN_RIGHT_PAREN, lexer.TOKEN_RIGHT_BRACKET, lexer.TOKEN_RIGHT_CURLY];
    while (true) {
      if (closing.includes(this.peekToken().type)) {
        this.nextToken();
        break;
      }
      if (agg.children.length > 0 && !this.skip(lexer.TOKEN_COMMA)) {
        this.fail("parseAggregate: expected comma after expression", tok.lineno, tok.colno);
      }
      if (agg instanceof nodes.Dict) {
        const key = this.parseExpression() as NodeLike;
        if (!this.skip(lexer.TOKEN_COLON)) {
          this.fail("parseAggregate: expected colon after dict key", tok.lineno, tok.colno);
        }
        agg.addChild(new nodes.Pair(key.lineno, key.colno, key, this.parseExpression()));
      } else agg.addChild(this.parseExpression());
    }
    return agg;
  }

  // String literals with Python's escapes.
  const tokenizer = Object.getPrototypeOf(lexer.lex("")) as Record<string, unknown>;
  tokenizer._parseString = function (this: TokenizerThis, delimiter: string) {
    this.forward();
    let str = "";
    while (!this.isFinished() && this.current() !== delimiter) {
      if (this.current() === "\\") {
        this.forward();
        const [text, length] = escapeAt(this.str, this.index);
        str += text;
        for (let k = 0; k < length; k++) this.forward();
      } else {
        str += this.current();
        this.forward();
      }
    }
    this.forward();
    return str;
  };

  const suppress = runtime.suppressValue;
  runtime.suppressValue = (val: unknown, autoescape: unknown) =>
    suppress(
      typeof val === "string" || val instanceof runtime.SafeString ? val : pyStr(val),
      autoescape,
    );
}

// deno-lint-ignore no-explicit-any
type NodeLike = any;

interface CompilerThis {
  templateName?: string;
  _emit(code: string): void;
  _emitLine(code: string): void;
  _compileExpression(node: unknown, frame: unknown): void;
  _compileAggregate(node: unknown, frame: unknown, open: string, close: string): void;
  compile(node: unknown, frame: unknown): void;
}

type CompileFn = (this: CompilerThis, node: NodeLike, ...rest: NodeLike[]) => unknown;

interface TokenizerThis {
  str: string;
  index: number;
  forward(): void;
  current(): string;
  isFinished(): boolean;
}

interface ParserThis {
  tokens: { index: number; lineno: number; colno: number };
  peeked: unknown;
  peekToken(): { type: string; lineno: number; colno: number };
  nextToken(): unknown;
  skip(type: string): boolean;
  fail(msg: string, lineno?: number, colno?: number): never;
  parseExpression(): unknown;
  parseSignature(): unknown;
  parseAggregate(): unknown;
}
