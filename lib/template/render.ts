/**
 * Rendering SLS templates with npm:nunjucks, with the context Salt formulas expect: `facts` and
 * `grains`, `settings` and `pillar`, `peel_id`, and `salt['grains.get']` / `salt['pillar.get']`
 * with `:`-separated keys; filters `yaml_encode`, `yaml`, `to_json`, `json`. Imports and includes
 * resolve against the state tree. Errors name the file and line.
 * @module
 */
import nunjucks from "nunjucks";
import { stringify } from "yaml";

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

let compat = false;

class TreeLoader extends nunjucks.Loader {
  constructor(private readonly read: (path: string) => string | undefined) {
    super();
  }
  getSource(name: string) {
    const src = this.read(name);
    return src === undefined ? null : { src, path: name, noCache: true };
  }
}

/** A renderer over a state tree; `read` returns a file's text by relative path. */
export function makeRenderer(read: (path: string) => string | undefined) {
  if (!compat) {
    // Python-style dict/list methods and True/False/None, as Salt formulas use them.
    nunjucks.installJinjaCompat();
    compat = true;
  }
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
  return (text: string, file: string, ctx: TemplateContext): string => {
    const salt = {
      "grains.get": (k: string, d?: unknown) => lookupKey(ctx.facts, k, d),
      "facts.get": (k: string, d?: unknown) => lookupKey(ctx.facts, k, d),
      "pillar.get": (k: string, d?: unknown) => lookupKey(ctx.settings, k, d),
      "settings.get": (k: string, d?: unknown) => lookupKey(ctx.settings, k, d),
    };
    try {
      return env.renderString(text, {
        facts: ctx.facts,
        grains: ctx.facts,
        settings: ctx.settings,
        pillar: ctx.settings,
        peel_id: ctx.peelId,
        salt,
      }, { path: file });
    } catch (e) {
      const msg = (e as Error).message;
      // nunjucks says "(path) [Line n, Column m]\n  reason"; the path is the imported file when
      // the error is in one.
      const m = /^\(([^)]*)\)\s*(?:\[Line (\d+), Column \d+\])?\s*([\s\S]*)$/.exec(msg);
      const where = m && m[1] !== "unknown path" ? m[1]! : file;
      throw new TemplateError(
        (m ? m[3]! : msg).trim().split("\n")[0]!.replace(/^Error: /, ""),
        where,
        m?.[2] ? Number(m[2]) : undefined,
        { cause: e },
      );
    }
  };
}
