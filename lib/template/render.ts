/**
 * Rendering SLS templates with npm:nunjucks, inside the template worker: the context Salt formulas
 * expect (`facts` and `grains`, `settings` and `pillar`, `peel_id`, `salt['grains.get' |
 * 'grains.item' | 'grains.items' | 'grains.filter_by' | 'pillar.get' | 'pillar.items']` with
 * `:`-separated keys, and the `pillar_get`-style functions zester-migrate writes); filters
 * `yaml_encode`, `yaml`, `to_json`, `json` and `attr`. Imports and includes resolve against the
 * state tree, held in memory. Every lookup goes through `safe_lookup.ts`. Errors name the file and
 * line.
 * @module
 */
import nunjucks from "nunjucks";
import { stringify } from "yaml";
import { installCompat, prelex } from "./jinja_compat.ts";
import type { TemplateContext } from "./protocol.ts";
import { installSafeLookup, secureEnvironment, trust } from "./safe_lookup.ts";
import { filterBy, lookupKey } from "./salt.ts";
import { TemplateError } from "./template_error.ts";

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

class TreeLoader extends nunjucks.Loader {
  constructor(private readonly files: ReadonlyMap<string, string>) {
    super();
  }
  getSource(name: string) {
    const src = this.files.get(name);
    return src === undefined ? null : { src: prelex(src), path: name, noCache: true };
  }
}

let installed = false;

/** A renderer over a state tree: file texts by relative path. */
export function makeRenderer(files: ReadonlyMap<string, string>) {
  if (!installed) {
    installed = true;
    installCompat();
    installSafeLookup();
  }
  const env = new nunjucks.Environment(new TreeLoader(files), {
    autoescape: false,
    throwOnUndefined: false,
    trimBlocks: false,
  });
  env.addExtension("do", new DoExtension());
  env.addFilter("yaml_encode", (v: unknown) => JSON.stringify(v));
  env.addFilter("yaml", (v: unknown) => stringify(v, { flow: true }).trim());
  env.addFilter("json", (v: unknown) => JSON.stringify(v));
  env.addFilter("to_json", (v: unknown) => JSON.stringify(v));
  secureEnvironment(env);
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
    for (const fn of Object.values(salt)) trust(fn);
    const vars = {
      // The functions zester-migrate turns salt['…'] calls into.
      facts_get: salt["facts.get"],
      grains_get: salt["grains.get"],
      pillar_get: salt["pillar.get"],
      settings_get: salt["settings.get"],
      // Basket data (Salt's mine) arrives with the basket milestone; until then, as the
      // product documents for standalone rendering, every lookup is empty.
      basket: trust(() => []),
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
