/**
 * Rendering SLS templates with npm:nunjucks, with the context Salt formulas expect: `facts` and
 * `grains`, `settings` and `pillar`, `peel_id`, `salt['grains.get' | 'grains.item' | 'grains.items'
 * | 'grains.filter_by' | 'pillar.get' | 'pillar.items']` with `:`-separated keys (and the
 * `pillar_get`-style functions zester-migrate writes); filters `yaml_encode`, `yaml`, `to_json`, `json`. Imports and includes
 * resolve against the state tree. Errors name the file and line.
 * @module
 */
import nunjucks from "nunjucks";
import { stringify } from "yaml";
import { installCompat, prelex } from "./jinja_compat.ts";

/** What templates see. */
export interface TemplateContext {
  peelId: string;
  facts: Record<string, unknown>;
  settings: Record<string, unknown>;
}

/** A template that cannot render; names the file and line. */
export class TemplateError extends SyntaxError {
  /** The template file. */
  readonly file: string;
  /** 1-based line, where nunjucks reported one. */
  readonly line?: number;
  /** Build the error. */
  constructor(message: string, file: string, line?: number, options?: ErrorOptions) {
    super(`Cannot render "${file}${line ? `:${line}` : ""}": ${message}`, options);
    this.name = "TemplateError";
    this.file = file;
    this.line = line;
  }
}

/** Look up `key` (`a:b:c`) in `data`, or `fallback`. */
export function lookupKey(data: unknown, key: string, fallback: unknown = ""): unknown {
  let cur = data;
  for (const k of key.split(":")) {
    if (cur && typeof cur === "object" && Object.hasOwn(cur, k)) {
      cur = (cur as Record<string, unknown>)[k];
    } else return fallback;
  }
  return cur;
}

/** The parts of nunjucks's parser API a tag extension uses. */
interface TagParser {
  nextToken(): { value: string };
  parseSignature(name: null, tolerant: boolean): unknown;
  advanceAfterBlockEnd(name: string): void;
}
interface TagNodes {
  CallExtension: new (ext: unknown, method: string, args: unknown) => unknown;
}

/** Jinja's `{% do expr %}`: evaluate for its side effect (e.g. `dict.update`), print nothing. */
class DoExtension {
  tags = ["do"];
  parse(parser: TagParser, nodes: TagNodes) {
    const tok = parser.nextToken();
    const args = parser.parseSignature(null, true);
    parser.advanceAfterBlockEnd(tok.value);
    return new nodes.CallExtension(this, "run", args);
  }
  run(): string {
    return "";
  }
}

/**
 * Accept nunjucks keyword arguments (`f(a, default=1)` arrives as a trailing object marked
 * `__keywords`) by position names, as Python would.
 */
function kw<T extends unknown[]>(fn: (...args: T) => unknown, names: string[]) {
  return (...args: unknown[]) => {
    const last = args[args.length - 1] as Record<string, unknown> | undefined;
    if (last && typeof last === "object" && last.__keywords) {
      args.pop();
      for (const [k, v] of Object.entries(last)) {
        const i = names.indexOf(k);
        if (i >= 0) args[i] = v;
      }
    }
    return fn(...(args as T));
  };
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge `b` into a copy of `a`, as Salt's `dictupdate.update` does. */
export function deepMerge(a: unknown, b: unknown): unknown {
  if (!isMap(a) || !isMap(b)) return b === undefined ? a : b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

/** Grain names of Salt formulas, as paths in Zester's facts. */
const GRAIN_ALIASES: Record<string, string> = {
  os_family: "os:family",
  os: "os:name",
  osrelease: "os:platform_version",
  oscodename: "os:codename",
  kernel: "kernel:name",
};

/**
 * Salt's `grains.filter_by`: the entry of `lookup` named by a grain's value (`os_family` by
 * default; matched case-insensitively), else `default`'s, on top of `base`, with `merge` merged in.
 */
export function filterBy(
  facts: Record<string, unknown>,
  lookup: unknown,
  grain: unknown = "os_family",
  merge?: unknown,
  dflt: unknown = "default",
  base?: unknown,
): unknown {
  if (!isMap(lookup)) return undefined;
  const name = String(grain);
  const missing = Symbol("missing");
  let value = lookupKey(facts, name, missing);
  if (value === missing && GRAIN_ALIASES[name]) {
    value = lookupKey(facts, GRAIN_ALIASES[name]!, missing);
  }
  const wanted = value === missing ? undefined : String(value).toLowerCase();
  const key = Object.keys(lookup).find((k) => k.toLowerCase() === wanted);
  let found = key !== undefined ? lookup[key] : lookup[String(dflt)];
  if (base !== undefined && isMap(lookup[String(base)])) {
    found = deepMerge(lookup[String(base)], found);
  }
  return merge === undefined || merge === null ? found : deepMerge(found, merge);
}

class TreeLoader extends nunjucks.Loader {
  constructor(private readonly read: (path: string) => string | undefined) {
    super();
  }
  getSource(name: string) {
    const src = this.read(name);
    return src === undefined ? null : { src: prelex(src), path: name, noCache: true };
  }
}

/** A renderer over a state tree; `read` returns a file's text by relative path. */
export function makeRenderer(read: (path: string) => string | undefined) {
  installCompat();
  const env = new nunjucks.Environment(new TreeLoader(read), {
    autoescape: false,
    throwOnUndefined: false,
    trimBlocks: false,
  });
  env.addExtension("do", new DoExtension());
  env.addFilter("yaml_encode", (v: unknown) => JSON.stringify(v));
  env.addFilter("yaml", (v: unknown) => stringify(v, { flow: true }).trim());
  env.addFilter("json", (v: unknown) => JSON.stringify(v));
  env.addFilter("to_json", (v: unknown) => JSON.stringify(v));
  /**
   * Render `text` (from `file`). Asynchronous because nunjucks reports errors in included or
   * imported templates through a deferred callback: a synchronous render would return nothing
   * and throw later, outside any handler.
   */
  return (text: string, file: string, ctx: TemplateContext): Promise<string> => {
    const salt = {
      "grains.get": kw((k: string, d?: unknown) => lookupKey(ctx.facts, k, d), ["key", "default"]),
      "facts.get": kw((k: string, d?: unknown) => lookupKey(ctx.facts, k, d), ["key", "default"]),
      "pillar.get": kw((k: string, d?: unknown) => lookupKey(ctx.settings, k, d), [
        "key",
        "default",
      ]),
      "settings.get": kw((k: string, d?: unknown) => lookupKey(ctx.settings, k, d), [
        "key",
        "default",
      ]),
      "grains.item": kw((k: string) => ({ [k]: lookupKey(ctx.facts, k, "") }), ["key"]),
      "grains.items": () => ctx.facts,
      "pillar.items": () => ctx.settings,
      "settings.items": () => ctx.settings,
      "grains.filter_by": kw(
        (lookup: unknown, grain?: unknown, merge?: unknown, dflt?: unknown, base?: unknown) =>
          filterBy(ctx.facts, lookup, grain, merge, dflt, base),
        ["lookup_dict", "grain", "merge", "default", "base"],
      ),
    };
    const vars = {
      // The functions zester-migrate turns salt['…'] calls into.
      facts_get: salt["facts.get"],
      grains_get: salt["grains.get"],
      pillar_get: salt["pillar.get"],
      settings_get: salt["settings.get"],
      // Basket data (Salt's mine) arrives with the basket milestone; until then, as the
      // product documents for standalone rendering, every lookup is empty.
      basket: () => [],
      facts: ctx.facts,
      grains: ctx.facts,
      settings: ctx.settings,
      pillar: ctx.settings,
      peel_id: ctx.peelId,
      salt,
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      try {
        env.renderString(prelex(text), vars, { path: file }, (err: Error | null, res?: string) => {
          if (settled) return;
          settled = true;
          if (err) reject(templateError(err, file));
          else resolve(res ?? "");
        });
      } catch (e) {
        if (!settled) {
          settled = true;
          reject(templateError(e as Error, file));
        }
      }
    });
  };
}

function templateError(e: Error, file: string): TemplateError {
  const msg = e.message;
  // nunjucks says "(path) [Line n, Column m]\n  reason", nesting one such line per template;
  // the innermost names the file at fault (an included or imported one, when that is it).
  const parts = [...msg.matchAll(/\(([^)]*)\)\s*(?:\[Line (\d+), Column \d+\])?/g)];
  const last = parts.findLast((p) => p[1] !== "unknown path");
  const where = last?.[1] ?? file;
  const line = last?.[2]
    ? Number(last[2])
    : parts.at(-1)?.[2]
    ? Number(parts.at(-1)![2])
    : undefined;
  const reason =
    msg.split("\n").map((l) => l.trim()).filter((l) =>
      l && !/^(Template render error: )?\([^)]*\)\s*(\[Line \d+, Column \d+\])?$/.test(l)
    ).at(-1) ?? msg;
  return new TemplateError(reason.replace(/^Error: /, ""), where, line, { cause: e });
}
