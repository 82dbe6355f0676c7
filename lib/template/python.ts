/**
 * Python's semantics for the values templates handle, as Jinja (and so Salt) has them: printing
 * (`str` and `repr` of lists, dicts, tuples, `True`, `None`), truthiness (an empty list is false),
 * equality and ordering of lists and dicts, `+` and `*` on lists and strings, `%` formatting and
 * `str.format`, and `in`. Values are JavaScript's: a list is an array, a dict a plain object, a
 * tuple an array marked by {@linkcode tuple}.
 * @module
 */

const TUPLES = new WeakSet<unknown[]>();

/** Mark `items` as a Python tuple (printed `(1, 2)`; the argument list of `%`). */
export function tuple<T extends unknown[]>(items: T): T {
  TUPLES.add(items);
  return items;
}

/** True when `v` is a tuple made by {@linkcode tuple}. */
function isTuple(v: unknown): v is unknown[] {
  return Array.isArray(v) && TUPLES.has(v);
}

/** A plain mapping: what YAML, JSON and dict literals make. */
export function isDict(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Python's error for an operation on values of the wrong types. */
export class PyTypeError extends TypeError {
  /** Build the error. */
  constructor(message: string) {
    super(message);
    this.name = "TypeError";
  }
}

/** Python's name of the type of `v`, for error messages. */
export function typeName(v: unknown): string {
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "string") return "str";
  if (isTuple(v)) return "tuple";
  if (Array.isArray(v)) return "list";
  if (typeof v === "function") return "function";
  return "dict";
}

/** Python's truth value: empty strings, lists and dicts, 0, None and False are false. */
export function pyBool(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  if (typeof v === "number") return v !== 0;
  if (v instanceof Uint8Array) return v.length > 0;
  if (v && typeof v === "object" && "val" in v && typeof v.val === "string") return v.val !== "";
  return !!v;
}

function floatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  const s = abs < 1e-4 || abs >= 1e16 ? n.toExponential() : String(n);
  // Python writes exponents with at least two digits: 1e-05, 1e+16.
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function strRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    if (ch === q) out += `\\${q}`;
    else if (ESCAPES[ch]) out += ESCAPES[ch];
    else if (ch !== " " && /[\p{C}\p{Z}]/u.test(ch)) {
      const cp = ch.codePointAt(0)!;
      out += cp <= 0xff
        ? `\\x${cp.toString(16).padStart(2, "0")}`
        : cp <= 0xffff
        ? `\\u${cp.toString(16).padStart(4, "0")}`
        : `\\U${cp.toString(16).padStart(8, "0")}`;
    } else out += ch;
  }
  return out + q;
}

/** Python's `repr(v)`: strings quoted, lists, tuples and dicts with their elements' `repr`. */
export function pyRepr(v: unknown): string {
  if (typeof v === "string") return strRepr(v);
  if (isTuple(v)) return v.length === 1 ? `(${pyRepr(v[0])},)` : `(${v.map(pyRepr).join(", ")})`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (isDict(v)) {
    return `{${Object.entries(v).map(([k, x]) => `${strRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  }
  return pyStr(v);
}

/** Python's `str(v)`, which is what Jinja prints: `True`, `None`, `[1, 2]`, `{'a': 1}`. */
export function pyStr(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined) return "";
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return floatRepr(v);
  if (Array.isArray(v) || isDict(v)) return pyRepr(v);
  if (v instanceof Uint8Array) return `b'${[...v].map((b) => String.fromCharCode(b)).join("")}'`;
  if (v instanceof Date) return v.toISOString().replace("T", " ").replace(/\.000Z$|Z$/, "");
  if (typeof v === "function") return "<function>";
  return String(v);
}

/**
 * A dict key as Python would print it, the form dicts here store keys in: `True`, `None`, `1`
 * (a dict literal `{True: 'running'}` and `d.get(True)` meet on `"True"`).
 */
export const pyKey: (k: unknown) => string = pyStr;

/** Python's `==`: lists and dicts compare by content; `1 == True`. */
export function pyEq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return (a ?? null) === (b ?? null);
  const num = (x: unknown) => typeof x === "boolean" ? Number(x) : x;
  if (typeof num(a) === "number" && typeof num(b) === "number") return num(a) === num(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  }
  if (isDict(a) && isDict(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length &&
      ka.every((k) => Object.hasOwn(b, k) && pyEq(a[k], b[k]));
  }
  const sa = a as { val?: unknown }, sb = b as { val?: unknown };
  if (typeof sa?.val === "string" || typeof sb?.val === "string") {
    return String(sa?.val ?? a) === String(sb?.val ?? b);
  }
  return false;
}

/** Python's ordering (`<` is -1, `==` 0, `>` 1); lists compare element by element. */
export function pyOrder(a: unknown, b: unknown): number {
  const num = (x: unknown) => typeof x === "boolean" ? Number(x) : x;
  const x = num(a), y = num(b);
  if (typeof x === "number" && typeof y === "number") return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === "string" && typeof y === "string") return x < y ? -1 : x > y ? 1 : 0;
  if (Array.isArray(x) && Array.isArray(y)) {
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (!pyEq(x[i], y[i])) return pyOrder(x[i], y[i]);
    }
    return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
  }
  throw new PyTypeError(
    `'<' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`,
  );
}

/** Python's comparison operators, chained as Python chains them (`a < b < c`). */
export function pyCompare(operands: unknown[], ops: string[]): boolean {
  for (let i = 0; i < ops.length; i++) {
    const a = operands[i], b = operands[i + 1];
    const op = ops[i]!;
    const ok = op === "==" || op === "==="
      ? pyEq(a, b)
      : op === "!=" || op === "!=="
      ? !pyEq(a, b)
      : op === "<"
      ? pyOrder(a, b) < 0
      : op === ">"
      ? pyOrder(a, b) > 0
      : op === "<="
      ? pyOrder(a, b) <= 0
      : pyOrder(a, b) >= 0;
    if (!ok) return false;
  }
  return true;
}

function unsupported(op: string, a: unknown, b: unknown): never {
  throw new PyTypeError(
    `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`,
  );
}

const isNum = (v: unknown): v is number | boolean =>
  typeof v === "number" || typeof v === "boolean";
/** Unwrap nunjucks's SafeString (marked output of filters such as `yaml`) to its string. */
const text = (v: unknown): unknown =>
  v && typeof v === "object" && "val" in v && typeof v.val === "string" ? v.val : v;

/** Python's `a + b`: numbers add, strings and lists concatenate. */
export function pyAdd(a: unknown, b: unknown): unknown {
  a = text(a);
  b = text(b);
  if (isNum(a) && isNum(b)) return Number(a) + Number(b);
  if (typeof a === "string" && typeof b === "string") return a + b;
  if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) {
    return isTuple(a) ? tuple([...a, ...b]) : [...a, ...b];
  }
  if (typeof a === "string" || typeof b === "string") {
    throw new PyTypeError(
      `can only concatenate str (not "${typeName(typeof a === "string" ? b : a)}") to str`,
    );
  }
  return unsupported("+", a, b);
}

/** Python's `a * b`: numbers multiply; a string or list times an int repeats. */
export function pyMul(a: unknown, b: unknown): unknown {
  a = text(a);
  b = text(b);
  if (isNum(a) && isNum(b)) return Number(a) * Number(b);
  const [seq, n] = isNum(a) ? [b, Number(a)] : [a, Number(b)];
  if (!isNum(a) && !isNum(b) || !Number.isInteger(n)) unsupported("*", a, b);
  if (typeof seq === "string") return seq.repeat(Math.max(0, n));
  if (Array.isArray(seq)) {
    const out = Array.from({ length: Math.max(0, n) }, () => seq).flat();
    return isTuple(seq) ? tuple(out) : out;
  }
  return unsupported("*", a, b);
}

/** Python's `a % b`: string formatting (`'%s-%s' % ('a', 'b')`), or modulo with b's sign. */
export function pyMod(a: unknown, b: unknown): unknown {
  a = text(a);
  if (typeof a === "string") return percentFormat(a, b);
  if (isNum(a) && isNum(b)) {
    if (Number(b) === 0) throw new Error("ZeroDivisionError: integer division or modulo by zero");
    return ((Number(a) % Number(b)) + Number(b)) % Number(b);
  }
  return unsupported("%", a, b);
}

/** Python's `a // b`. */
export function pyFloorDiv(a: unknown, b: unknown): number {
  if (!isNum(a) || !isNum(b)) unsupported("//", a, b);
  if (Number(b) === 0) throw new Error("ZeroDivisionError: integer division or modulo by zero");
  return Math.floor(Number(a) / Number(b));
}

/** Python's `a / b`. */
export function pyDiv(a: unknown, b: unknown): number {
  if (!isNum(a) || !isNum(b)) unsupported("/", a, b);
  if (Number(b) === 0) throw new Error("ZeroDivisionError: division by zero");
  return Number(a) / Number(b);
}

/** Python's `a - b`. */
export function pySub(a: unknown, b: unknown): number {
  if (!isNum(a) || !isNum(b)) unsupported("-", a, b);
  return Number(a) - Number(b);
}

/** Python's `key in container`: an element of a list, a substring, a key of a dict. */
export function pyIn(key: unknown, container: unknown): boolean {
  container = text(container);
  if (typeof container === "string") return container.includes(pyStr(text(key)));
  if (Array.isArray(container)) return container.some((x) => pyEq(x, key));
  if (isDict(container)) return Object.hasOwn(container, pyKey(key));
  if (container === null || container === undefined) {
    throw new PyTypeError("argument of type 'NoneType' is not iterable");
  }
  throw new PyTypeError(`argument of type '${typeName(container)}' is not iterable`);
}

/** Python's `int(v)`, for formatting. */
function toInt(v: unknown, spec: string): number {
  if (isNum(v)) return Math.trunc(Number(v));
  throw new PyTypeError(`%${spec} format: a number is required, not ${typeName(v)}`);
}

function pad(s: string, width: number, left: boolean, fill = " "): string {
  if (s.length >= width) return s;
  return left ? s + fill.repeat(width - s.length) : fill.repeat(width - s.length) + s;
}

function exponent(n: number, prec: number): string {
  return n.toExponential(prec).replace(/e([+-])(\d)$/, "e$10$2");
}

function generalFormat(n: number, prec: number, alt: boolean): string {
  const p = prec === 0 ? 1 : prec;
  if (n === 0) return alt ? (0).toFixed(p - 1) : "0";
  const exp = Math.floor(Math.log10(Math.abs(n)));
  let s = exp < -4 || exp >= p ? exponent(n, p - 1) : n.toFixed(Math.max(0, p - 1 - exp));
  if (!alt) s = s.replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
  return s;
}

/** Format one number by a conversion type (`d`, `x`, `f`, `e`, `g`…), without sign padding. */
function formatNumber(v: unknown, type: string, prec: number | undefined, alt: boolean): string {
  switch (type) {
    case "d":
    case "i":
    case "u":
    case "n":
      return String(Math.abs(toInt(v, type)));
    case "x":
    case "X": {
      const s = (alt ? "0x" : "") + Math.abs(toInt(v, type)).toString(16);
      return type === "X" ? s.toUpperCase() : s;
    }
    case "o":
      return (alt ? "0o" : "") + Math.abs(toInt(v, type)).toString(8);
    case "b":
      return (alt ? "0b" : "") + Math.abs(toInt(v, type)).toString(2);
    case "e":
    case "E": {
      const s = exponent(Math.abs(Number(v)), prec ?? 6);
      return type === "E" ? s.toUpperCase() : s;
    }
    case "f":
    case "F":
      return Math.abs(Number(v)).toFixed(prec ?? 6);
    case "g":
    case "G": {
      const s = generalFormat(Math.abs(Number(v)), prec ?? 6, alt);
      return type === "G" ? s.toUpperCase() : s;
    }
    case "%":
      return `${(Math.abs(Number(v)) * 100).toFixed(prec ?? 6)}%`;
  }
  throw new Error(`ValueError: Unknown format code '${type}'`);
}

const PERCENT = /%(?:\(([^)]*)\))?([-+ 0#]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])/g;

/** Python's `format % args`. */
export function percentFormat(format: string, args: unknown): string {
  const list = isTuple(args) ? [...args] : [args];
  const mapping = isDict(args) ? args : undefined;
  let i = 0;
  const next = () => {
    if (i >= list.length) throw new PyTypeError("not enough arguments for format string");
    return list[i++];
  };
  const out = format.replace(
    PERCENT,
    (_m, key: string | undefined, flags: string, w?: string, p?: string, type?: string) => {
      if (type === "%") return "%";
      const width = w === "*" ? toInt(next(), "*") : w ? Number(w) : 0;
      const prec = p === "*" ? toInt(next(), "*") : p !== undefined ? Number(p) : undefined;
      let v: unknown;
      if (key !== undefined) {
        if (!mapping) throw new PyTypeError("format requires a mapping");
        if (!Object.hasOwn(mapping, key)) throw new Error(`KeyError: ${pyRepr(key)}`);
        v = mapping[key];
      } else v = next();
      let s: string;
      const left = flags.includes("-");
      if (type === "s" || type === "r" || type === "a") {
        s = type === "s" ? pyStr(v) : pyRepr(v);
        if (prec !== undefined) s = s.slice(0, prec);
        return pad(s, width, left);
      }
      if (type === "c") {
        return pad(typeof v === "number" ? String.fromCodePoint(v) : String(v), width, left);
      }
      const n = Number(isNum(v) ? v : NaN);
      if (Number.isNaN(n) && !isNum(v)) {
        throw new PyTypeError(`%${type} format: a number is required, not ${typeName(v)}`);
      }
      const sign = n < 0 || Object.is(n, -0)
        ? "-"
        : flags.includes("+")
        ? "+"
        : flags.includes(" ")
        ? " "
        : "";
      s = formatNumber(v, type!, prec, flags.includes("#"));
      if (flags.includes("0") && !left) return sign + pad(s, width - sign.length, false, "0");
      return pad(sign + s, width, left);
    },
  );
  if (!mapping && i < list.length) {
    throw new PyTypeError("not all arguments converted during string formatting");
  }
  return out;
}

const SPEC = /^(?:(.)?([<>=^]))?([-+ ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/;

/** Python's `format(value, spec)`: the format-spec mini-language of `str.format`. */
function formatSpec(v: unknown, spec: string): string {
  const m = SPEC.exec(spec);
  if (!m) throw new Error(`ValueError: Invalid format specifier '${spec}'`);
  const [, fill0, align0, signFlag, alt, zero, w, group, p, type] = m;
  const width = w ? Number(w) : 0;
  const prec = p !== undefined ? Number(p) : undefined;
  const numeric = isNum(v) && type !== "s";
  let fill = fill0 ?? (zero && !align0 ? "0" : " ");
  let align = align0 ?? (zero ? "=" : numeric ? ">" : "<");
  let body: string, sign = "";
  if (!numeric || type === "s") {
    if (type && type !== "s") throw new Error(`ValueError: Unknown format code '${type}'`);
    body = pyStr(v);
    if (prec !== undefined) body = body.slice(0, prec);
    if (align === "=") align = "<";
  } else {
    const n = Number(v);
    sign = n < 0 ? "-" : signFlag === "+" ? "+" : signFlag === " " ? " " : "";
    const t = type ?? (Number.isInteger(n) && prec === undefined ? "d" : "g");
    body = t === "c" ? String.fromCodePoint(n) : formatNumber(n, t, prec, !!alt);
    if (!type && !Number.isInteger(n) && prec === undefined) body = floatRepr(Math.abs(n));
    if (group) {
      const [int, frac] = body.split(".");
      body = int!.replace(/\B(?=(\d{3})+(?!\d))/g, group) + (frac !== undefined ? `.${frac}` : "");
    }
  }
  const room = width - sign.length - body.length;
  if (room <= 0) return sign + body;
  fill = fill.slice(0, 1);
  switch (align) {
    case "<":
      return sign + body + fill.repeat(room);
    case "^":
      return fill.repeat(Math.floor(room / 2)) + sign + body + fill.repeat(Math.ceil(room / 2));
    case "=":
      return sign + fill.repeat(room) + body;
    default:
      return fill.repeat(room) + sign + body;
  }
}

/**
 * Python's `format.format(*args, **kwargs)`: `{}`, `{0}`, `{name}`, `{0[key]}`, `{0.attr}`,
 * conversions `!r`/`!s` and format specs, with `{{` and `}}` for braces. `lookup` reads an
 * attribute or item (the safe lookup), so that formatting reaches only what a template could.
 */
export function strFormat(
  format: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  lookup: (obj: unknown, key: string) => unknown,
): string {
  let auto = 0;
  return format.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, field: string | undefined) => {
    if (m === "{{") return "{";
    if (m === "}}") return "}";
    const [, ref = "", conv, spec = ""] = /^([^!:]*)(?:!([rsa]))?(?::(.*))?$/.exec(field!) ?? [];
    const [, head = "", rest = ""] = /^([^.[]*)(.*)$/.exec(ref) ?? [];
    let v: unknown;
    if (head === "") v = args[auto++];
    else if (/^\d+$/.test(head)) v = args[Number(head)];
    else if (Object.hasOwn(kwargs, head)) v = kwargs[head];
    else throw new Error(`KeyError: ${pyRepr(head)}`);
    for (const part of rest.matchAll(/\.([^.[]+)|\[([^\]]*)\]/g)) {
      v = lookup(v, part[1] ?? part[2]!);
    }
    if (conv === "r" || conv === "a") v = pyRepr(v);
    else if (conv === "s") v = pyStr(v);
    return formatSpec(v, spec);
  });
}

/**
 * A Python regular expression as a JavaScript one: named groups `(?P<n>…)` and `(?P=n)`, `\A`,
 * `\Z`, and leading inline flags (`(?i)`, `(?m)`, `(?s)`) become JavaScript's; `flags` are added.
 */
export function pyRegExp(pattern: string, flags = ""): RegExp {
  let p = String(pattern);
  let f = flags;
  p = p.replace(/^\(\?([aiLmsux]+)\)/, (_m, inline: string) => {
    for (const c of inline) if ("ims".includes(c) && !f.includes(c)) f += c;
    return "";
  });
  p = p.replace(/\(\?P<(\w+)>/g, "(?<$1>").replace(/\(\?P=(\w+)\)/g, "\\k<$1>")
    .replace(/\\A/g, "^").replace(/\\Z/g, "$(?![\\s\\S])");
  try {
    return new RegExp(p, f.includes("u") ? f : f + "u");
  } catch {
    // Python allows escapes (such as `\-` outside a class) that a unicode RegExp refuses.
    return new RegExp(p, f.replace("u", ""));
  }
}

/** A Python replacement string (`\1`, `\g<1>`, `\g<name>`) as a JavaScript one. */
export function pyReplacement(repl: string): string {
  return String(repl).replaceAll("$", "$$$$").replace(
    /\\(?:(\d{1,2})|g<(\w+)>|(.))/g,
    (_m, num?: string, group?: string, ch?: string) => {
      if (num !== undefined) return `$${num}`;
      if (group !== undefined) return /^\d+$/.test(group) ? `$${group}` : `$<${group}>`;
      return ({ n: "\n", t: "\t", r: "\r", "\\": "\\" } as Record<string, string>)[ch!] ??
        `\\${ch}`;
    },
  );
}
