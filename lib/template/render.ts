/**
 * Rendering SLS files and file templates with npm:nunjucks, inside the template worker, as Salt
 * renders Jinja: Salt's context (`grains` as Salt names them, `pillar`, `opts`, `salt`, `tpldir`,
 * `tplfile`, `sls`, `slspath`, `sls_path`, `saltenv`…, plus Zester's `facts`, `settings`,
 * `peel_id` and the `*_get` helpers zester-migrate writes), Jinja's syntax and Python's semantics
 * (`jinja_compat.ts`), Salt's tags, filters, tests and functions. As in Salt, the context is the
 * environment's globals, so imported templates see it too. Imports and includes resolve against
 * the state tree, held in memory (`./` and `../` from the importing file). Every lookup goes
 * through `safe_lookup.ts`. Errors name the file and line.
 * @module
 */
import nunjucks from "nunjucks";
import { saltGrains } from "../grains/mod.ts";
import { installFilters } from "./filters.ts";
import { installCompat, prelex } from "./jinja_compat.ts";
import type { TemplateContext } from "./protocol.ts";
import { put, splitKeywords } from "./py_methods.ts";
import { installSafeLookup, secureEnvironment, trust } from "./safe_lookup.ts";
import { type HostCaller, saltFunctions } from "./salt_functions.ts";
import { fromNunjucks, installErrorOrigins } from "./error_origin.ts";
import { DoExtension, resolveName, SALT_TAG_GLOBALS, SaltDataTags } from "./salt_tags.ts";

function dirname(path: string): string {
  return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
}

class TreeLoader extends nunjucks.Loader {
  constructor(private readonly files: ReadonlyMap<string, string>) {
    super();
  }
  getSource(name: string) {
    const path = name.replace(/^salt:\/\//, "");
    const src = this.files.get(path);
    return src === undefined ? null : { src: prelex(src), path };
  }
  isRelative(name: string) {
    return /^\.\.?\//.test(name);
  }
  resolve(from: string, to: string) {
    return resolveName(to, dirname(from));
  }
}

/** Salt's template variables for `file`, rendered as part of SLS `sls`. */
function slsContext(file: string, sls = ""): Record<string, string> {
  const dir = dirname(file);
  return {
    tplpath: file,
    tplfile: file,
    tpldir: dir || ".",
    tpldot: dir.replaceAll("/", "."),
    sls,
    slspath: dir,
    sls_path: dir.replaceAll("/", "_"),
    slsdotpath: dir.replaceAll("/", "."),
    slscolonpath: dir.replaceAll("/", ":"),
    saltenv: "base",
  };
}

/** Salt's `odict(…)`: a mapping from pairs or keywords. */
const odict = trust((...args: unknown[]) => {
  const [[pairs], kw] = splitKeywords(args);
  const d: Record<string, unknown> = {};
  for (const [k, v] of Array.isArray(pairs) ? pairs : []) put(d, String(k), v);
  for (const [k, v] of Object.entries(kw)) put(d, k, v);
  return d;
});

/** Salt's `raise(message)`: fail the render with `message`. */
const raise = trust((message: unknown) => {
  throw new Error(String(message));
});

let installed = false;

/** How many compiled templates a tree's renderer keeps. */
const COMPILED = 256;

/**
 * A renderer over a state tree (file texts by relative path), with one nunjucks environment for
 * all its renders, which compiles each template once. Each render gets globals of its own (its
 * context, built afresh), so nothing a render leaves in them reaches the next: the worker renders
 * one request at a time.
 */
export function makeRenderer(files: ReadonlyMap<string, string>) {
  if (!installed) {
    installed = true;
    installCompat();
    installSafeLookup();
    installErrorOrigins();
  }
  const env = new nunjucks.Environment(new TreeLoader(files), {
    autoescape: false,
    throwOnUndefined: false,
    trimBlocks: false,
    // Keeps the cause of an error, where an imported file's own file and line are.
    dev: true,
  });
  env.addExtension("do", new DoExtension());
  env.addExtension("salt", new SaltDataTags());
  installFilters(env as never);
  secureEnvironment(env);
  const base = { ...env.globals, ...SALT_TAG_GLOBALS, raise, odict };
  // Compiled code depends on the text and file only; each render runs it in a context of its own.
  const compiled = new Map<string, nunjucks.Template>();
  const compile = (text: string, file: string) => {
    const key = `${file}\0${text}`;
    let template = compiled.get(key);
    if (!template) {
      if (compiled.size >= COMPILED) compiled.delete(compiled.keys().next().value!);
      template = new nunjucks.Template(prelex(text), env, file);
      compiled.set(key, template);
    }
    return template;
  };
  /**
   * Render `text` (from `file`), with `call` for host calls. Asynchronous because nunjucks
   * reports errors in included or imported templates through a deferred callback: a synchronous
   * render would return nothing and throw later, outside any handler.
   */
  return (
    text: string,
    file: string,
    ctx: TemplateContext,
    call: HostCaller,
  ): Promise<string> => {
    // The context came by message: this render's own copy, which its templates may change.
    const grains = saltGrains(ctx.facts);
    const opts = Object.freeze({
      id: ctx.peelId,
      saltenv: "base",
      file_client: "remote",
      __cli: "salt-minion",
      renderer: "jinja|yaml",
      state_top: "top.sls",
      config_dir: "/etc/zester",
      cachedir: "/var/cache/zester",
      ...ctx.opts,
      grains,
      pillar: ctx.settings,
    });
    const salt = saltFunctions({
      grains,
      facts: ctx.facts,
      pillar: ctx.settings,
      opts,
      files,
      call,
    });
    env.globals = {
      ...base,
      // The functions zester-migrate turns salt['…'] calls into.
      facts_get: salt["facts.get"],
      grains_get: salt["grains.get"],
      pillar_get: salt["pillar.get"],
      settings_get: salt["settings.get"],
      // Zester's name for Salt's mine.get: basket(target, function, tgt_type='glob').
      basket: salt["mine.get"],
      facts: ctx.facts,
      grains,
      settings: ctx.settings,
      pillar: ctx.settings,
      peel_id: ctx.peelId,
      opts,
      salt,
      ...slsContext(file, ctx.sls),
      ...ctx.vars,
    };
    const source = (f: string) => f === file ? text : files.get(f);
    return new Promise((resolve, reject) => {
      let settled = false;
      try {
        compile(text, file).render({}, (err: Error | null, res?: string) => {
          if (settled) return;
          settled = true;
          if (err) reject(fromNunjucks(err, file, source));
          else resolve(res ?? "");
        });
      } catch (e) {
        if (!settled) {
          settled = true;
          reject(fromNunjucks(e as Error, file, source));
        }
      }
    });
  };
}
