/**
 * Templates reach no JavaScript. A template reads only own properties of its values (never a
 * prototype's), the Python methods of `jinja_compat.ts`, and variables; the only functions it can
 * hold or call are those registered here with {@linkcode trust}: Zester's helpers, macros, those
 * methods and nunjucks's globals. Names that lead to `Function` or redefine objects
 * (`constructor`, `__proto__`…) are refused outright, with the file and line. Every route by which
 * nunjucks reads a value for a template goes through here: compiled `a.b` and `a[b]` and slices,
 * variable names, calls, filters and tests by name, and the filters that take an attribute name.
 * @module
 */
import {
  ATTRIBUTE,
  expandKeywords,
  isNamespace,
  JINJA_CONSTANTS,
  namespace,
  sliceOf,
} from "./jinja_compat.ts";
import { position } from "./error_origin.ts";
import { type Context, type Frame, nunjucksInternals } from "./nunjucks_internals.ts";
import { put, pyMethod } from "./py_methods.ts";
import { pyBool, pyKey } from "./python.ts";
import { isTrusted, trust } from "./trusted.ts";

export { trust };

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

/** Names refused on any value and as variables: each leads to `Function` or rewires objects. */
const REFUSED = new Set([
  "constructor",
  "prototype",
  "__proto__",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
]);

function checkName(name: string): void {
  if (REFUSED.has(name)) throw new Error(`Cannot use "${name}": it is not available to templates`);
}

function checked(what: string, v: unknown): unknown {
  if (typeof v === "function" && !isTrusted(v)) {
    throw new Error(`Cannot use ${what}: it is a function templates may not use`);
  }
  return v;
}

const { runtime, lib, Compiler } = nunjucksInternals();

/** A string (unwrapped from nunjucks's SafeString), or `v` itself. */
function unwrap(v: unknown): unknown {
  return v instanceof runtime.SafeString ? v.val : v;
}

const MISSING = new WeakMap<object, (key: string) => unknown>();

/**
 * Have a read of a key `table` lacks answered by `missing` (which may throw, naming the key),
 * instead of undefined: `salt['no.such']` says which function is not there.
 */
export function onMissingKey(table: object, missing: (key: string) => unknown): void {
  MISSING.set(table, missing);
}

/** The own property `key` of `obj` (read once, as a string), checked. */
function item(obj: unknown, key: unknown): unknown {
  if (obj === null || obj === undefined) return undefined;
  const name = pyKey(key);
  checkName(name);
  if (typeof obj === "function") throw new Error(`Cannot read "${name}" of a function`);
  const self = unwrap(obj);
  // Python's negative indexes count from the end of a list or string.
  if (/^-\d+$/.test(name) && (Array.isArray(self) || typeof self === "string")) {
    return item(self, self.length + Number(name));
  }
  if (!Object.hasOwn(self as object, name)) {
    const missing = typeof self === "object" ? MISSING.get(self as object) : undefined;
    return missing ? checked(`"${name}"`, missing(name)) : undefined;
  }
  const v = checked(`"${name}"`, (self as Record<string, unknown>)[name]);
  // A method, such as a cycler's `next`, runs on its object, as nunjucks runs it.
  return typeof v === "function" ? trust((...args: unknown[]) => v.apply(self, args)) : v;
}

/**
 * `obj[key]` in a template (and, with `attribute`, `obj.key`), as Jinja reads them: a subscript
 * takes `obj`'s own property first and falls back to its Python method; an attribute takes the
 * method first (`d.items` is the method even when `d` has a key `items`).
 */
export function memberLookup(obj: unknown, key: unknown, attribute = false): unknown {
  const name = typeof key === "number" ? key : pyKey(key);
  if (typeof name === "string") {
    checkName(name);
    const self = unwrap(obj);
    const isOwn = !attribute && self !== null && self !== undefined &&
      typeof self !== "function" && Object.hasOwn(self as object, name);
    const method = isOwn ? undefined : pyMethod(self, name);
    if (method) return trust(method);
  }
  return item(obj, name);
}

/** Jinja's attribute path (`a.b.0`), read through own properties. */
export function attrPath(obj: unknown, path: unknown): unknown {
  const parts = typeof path === "number" ? [path] : String(path).split(".");
  return parts.reduce(item, obj);
}

let installed = false;

/**
 * Replace nunjucks's lookups with the safe ones (once per isolate): member and variable lookups,
 * slices, calls, macros; and make runtime errors name their place (nunjucks records lines only
 * at calls; here every lookup records its position, see `error_origin.ts`).
 */
export function installSafeLookup(): void {
  if (installed) return;
  installed = true;
  runtime.memberLookup = (obj: unknown, ...rest: unknown[]) =>
    rest.length === 3
      ? sliceOf(unwrap(obj), rest[0], rest[1], rest[2], memberLookup)
      : memberLookup(obj, rest[0], rest[1] === ATTRIBUTE);
  runtime.contextOrFrameLookup = (context: Context, frame: Frame, name: string) => {
    checkName(name);
    let v = frame.lookup(name);
    if (v === undefined) {
      const from = [context.ctx, context.env.globals, JINJA_CONSTANTS].find((o) =>
        Object.hasOwn(o, name)
      );
      v = from?.[name];
    }
    return checked(`"${name}"`, v);
  };
  const callWrap = runtime.callWrap;
  runtime.callWrap = (fn: unknown, name: string, context: unknown, args: unknown[]) => {
    checked(`\`${name}\``, fn);
    return checked(
      `the result of \`${name}\``,
      callWrap(fn, name, context, expandKeywords(args)),
    );
  };
  (runtime as unknown as Record<string, Fn>).pySetAttr = (obj, key, value) => {
    const name = String(key);
    checkName(name);
    if (!isNamespace(obj)) throw new TypeError("cannot assign attribute on non-namespace object");
    put(obj, name, value);
  };
  const makeMacro = runtime.makeMacro;
  runtime.makeMacro = (...args: unknown[]) => trust(makeMacro(...args));
  for (const method of ["compileLookupVal", "compileSymbol"]) {
    const compile = Compiler.prototype[method]!;
    Compiler.prototype[method] = function (
      this: { _emit(code: string): void; templateName?: string },
      node: { lineno: number; colno: number },
      frame: unknown,
    ) {
      this._emit(`(${position(this.templateName, node)}`);
      compile.call(this, node, frame);
      this._emit(")");
    };
  }
}

/** The parts of a nunjucks environment made safe here. */
interface Env {
  filters: Record<string, Fn>;
  tests: Record<string, Fn>;
  globals: Record<string, unknown>;
  loaders: { cache: unknown }[];
  getFilter(name: string): Fn;
  getTest(name: string): Fn;
  addFilter(name: string, fn: Fn): void;
}

/**
 * Make `env` safe: filters and tests by own name only, loader caches without a prototype (so that
 * `{% include "constructor" %}` finds no template), the attribute filters (`attr`, `join`, `sum`,
 * `selectattr`, `rejectattr`, `groupby`, `sort`) reading through {@linkcode attrPath}, and
 * nunjucks's globals trusted. Call it after every filter is added.
 */
export function secureEnvironment(environment: unknown): void {
  const env = environment as Env;
  for (const loader of env.loaders) loader.cache = Object.create(null);
  const own = (table: Record<string, Fn>, kind: string) => (name: string) => {
    checkName(name);
    const fn = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!fn) throw new Error(`${kind} not found: ${name}`);
    return function (this: unknown, ...args: unknown[]) {
      return checked(`the result of ${kind} "${name}"`, fn.apply(this, args));
    };
  };
  const join = env.filters.join!, sum = env.filters.sum!, sort = env.filters.sort!;
  const pluck = (arr: unknown, attribute: unknown) =>
    attribute ? lib.toArray(arr).map((v: unknown) => attrPath(v, attribute)) : arr;
  env.addFilter("attr", (obj: unknown, name: unknown) => memberLookup(obj, name, true));
  env.addFilter(
    "join",
    (arr: unknown, sep: unknown, attribute: unknown) => join(pluck(arr, attribute), sep),
  );
  env.addFilter(
    "sum",
    (arr: unknown, attribute: unknown, start: unknown) =>
      sum(pluck(arr, attribute), undefined, start),
  );
  // `selectattr("a")` keeps items whose attribute is true; `selectattr("a", "eq", 1)` runs a test.
  const byAttr = (keep: boolean) =>
    function (this: Context, arr: unknown, attribute: unknown, test?: unknown, ...args: unknown[]) {
      const fn = test === undefined ? undefined : env.getTest(String(test));
      return lib.toArray(arr).filter((v: unknown) => {
        const a = attrPath(v, attribute);
        return (fn ? fn.call(this, a, ...args) === true : pyBool(a)) === keep;
      });
    };
  env.addFilter("selectattr", byAttr(true));
  env.addFilter("rejectattr", byAttr(false));
  env.addFilter("groupby", function (this: Context, arr: unknown, attribute: unknown) {
    return lib.groupBy(
      arr,
      (v: unknown) => attrPath(v, attribute),
      this.env.opts.throwOnUndefined,
    );
  });
  env.addFilter(
    "sort",
    runtime.makeMacro(
      ["value", "reverse", "case_sensitive", "attribute"],
      [],
      function (this: unknown, arr: unknown, reverse: unknown, caseSens: unknown, attr: unknown) {
        if (!attr) return sort.call(this, arr, reverse, caseSens);
        // nunjucks's sort reads the attribute itself, from any own property: sort [value, item]
        // pairs by their first element instead.
        const pairs = lib.toArray(arr).map((v: unknown) => [attrPath(v, attr), v]);
        return sort.call(this, pairs, reverse, caseSens, "0").map((p: unknown[]) => p[1]);
      },
    ),
  );
  env.getFilter = own(env.filters, "filter");
  env.getTest = own(env.tests, "test");
  const { range, cycler, joiner } = env.globals as Record<string, Fn>;
  env.globals.range = trust(range!);
  env.globals.cycler = trust((...items: unknown[]) => {
    const c = cycler!(...items);
    trust(c.next);
    trust(c.reset);
    return c;
  });
  env.globals.joiner = trust((sep?: unknown) => trust(joiner!(sep)));
  env.globals.namespace = namespace;
}
