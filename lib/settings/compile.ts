/**
 * Compiling one peel's settings from a settings tree, as Salt compiles a minion's pillar: the top
 * file (`top.zy` or `top.sls`, rendered with Jinja) assigns refs per environment through the
 * targeting engine; each file is rendered (Jinja, then YAML 1.1) with the peel's facts, its id and
 * the settings compiled so far (`pillar`), its `include`s (relative `.x`, globs, `defaults` and
 * `key`) merged under it, and the results deep-merged in top-file order with Salt's `smart`
 * strategy (maps recurse; lists are replaced unless `mergeLists`). Inline settings go over all.
 * Errors name the file and line.
 * @module
 */
import { isPlainObject } from "../schema/mod.ts";
import { resolveInclude, slsPaths, slsRef, StateError, topRefsFor } from "../state/mod.ts";
import { compileGlob } from "../target/mod.ts";
import {
  deepCopy,
  saltMerge,
  type TemplateContext,
  TemplateError,
  type TemplateHost,
  TemplateRenderer,
} from "../template/mod.ts";
import { parseYaml, type YamlDocument, YamlError } from "../yaml/mod.ts";
import { SettingsError } from "./error.ts";

type Dict = Record<string, unknown>;

/** The names a settings tree's top file may have, in the order they are looked for. */
export const TOP_FILES = ["top.zy", "top.sls"] as const;

/** What {@linkcode compileSettings} needs. */
export interface SettingsOptions {
  /** The settings tree: file texts by forward-slash relative path. */
  files: ReadonlyMap<string, string>;
  peelId: string;
  facts: Dict;
  /** Salt's `opts` as templates read them. */
  opts?: Dict;
  /** Inline settings (`pillar=` on a state run): seen while rendering, and merged over all. */
  inline?: Dict;
  /** Merge lists instead of replacing them (Salt's `pillar_merge_lists`). */
  mergeLists?: boolean;
  /** Runs templates' commands and host-file reads; without it, those fail. */
  host?: TemplateHost;
  /** Compile this one file of the tree as the settings, without a top file. */
  only?: string;
}

/**
 * Compile the settings `opts.files` give peel `opts.peelId` (or those of file `opts.only`). An
 * empty tree gives none; a tree without a top file is an error. Throws {@linkcode SettingsError}.
 */
export async function compileSettings(opts: SettingsOptions): Promise<Dict> {
  const { files, inline = {} } = opts;
  const merge = (a: unknown, b: unknown) => saltMerge(a, b, "smart", opts.mergeLists) as Dict;
  const top = TOP_FILES.find((f) => files.has(f));
  if (!top && !opts.only && files.size === 0) return deepCopy(inline);
  using renderer = new TemplateRenderer(() => files, { host: opts.host });
  const base: TemplateContext = {
    peelId: opts.peelId,
    facts: opts.facts,
    settings: inline,
    opts: { id: opts.peelId, pillar_merge_lists: opts.mergeLists === true, ...opts.opts },
  };
  const available = [...new Set([...files.keys()].map(slsRef))]
    .filter((r): r is string => r !== undefined && r !== "top").sort();
  const expand = (ref: string) =>
    /[*?[]/.test(ref) ? available.filter(compileGlob(ref)) : available.includes(ref) ? [ref] : [];

  const render = async (file: string, context: TemplateContext): Promise<YamlDocument> => {
    let text: string;
    try {
      text = await renderer.render(files.get(file)!, file, context);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      throw new SettingsError(e.reason, e.file, e.line, { cause: e });
    }
    try {
      return parseYaml(text);
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      throw new SettingsError(`Cannot parse YAML: ${e.reason}`, file, e.line, { cause: e });
    }
  };

  /** Rendered files by ref, for includes: each renders once (an include cycle gets `{}`). */
  const rendered = new Map<string, Dict>();
  const renderRef = (ref: string, sofar: Dict, vars: Dict) =>
    renderFile(slsPaths(ref).find((p) => files.has(p))!, ref, sofar, vars);
  const renderFile = async (file: string, ref: string, sofar: Dict, vars: Dict): Promise<Dict> => {
    rendered.set(ref, {});
    const doc = await render(file, { ...base, settings: sofar, sls: ref, vars });
    const value = doc.value ?? {};
    if (!isPlainObject(value)) {
      throw new SettingsError(`expected a mapping, got ${JSON.stringify(value)}`, file, 1);
    }
    let out: Dict = value;
    if (Object.hasOwn(value, "include")) {
      const { include, ...own } = value;
      const line = doc.lines.get("include");
      const parts: Dict[] = [];
      for (const item of Array.isArray(include) ? include : [include]) {
        let name = item;
        let defaults: unknown = {};
        let key: unknown;
        if (isPlainObject(item) && Object.keys(item).length === 1) {
          const [k, v] = Object.entries(item)[0]!;
          name = k;
          if (isPlainObject(v)) ({ defaults = {}, key } = v);
        }
        if (typeof name !== "string" || !isPlainObject(defaults)) {
          throw new SettingsError(
            `include: expected refs such as "- common" or "- users: {defaults: {…}, key: …}", got ${
              JSON.stringify(item)
            }`,
            file,
            line,
          );
        }
        const matched = expand(resolveInclude(name, { ref, file }));
        if (matched.length === 0) {
          throw new SettingsError(`include: no settings "${name}" in the tree`, file, line);
        }
        for (const m of matched) {
          let data = rendered.get(m) ?? await renderRef(m, sofar, defaults);
          rendered.set(m, data);
          if (typeof key === "string") {
            for (const k of key.split(":").reverse()) data = { [k]: data };
          }
          parts.push(data);
        }
      }
      out = [...parts, own].reduce((a, b) => merge(a, b), {});
    }
    rendered.set(ref, out);
    return out;
  };

  if (opts.only) {
    const ref = slsRef(opts.only) ?? opts.only.replace(/\.[^./]*$/, "");
    return merge(await renderFile(opts.only, ref, deepCopy(inline), {}), inline);
  }
  if (!top) throw new SettingsError(`no ${TOP_FILES.join(" or ")} in the settings tree`);
  const topDoc = await render(top, base);
  const peel = { id: opts.peelId, facts: opts.facts, settings: inline };
  let settings = deepCopy(inline);
  const done = new Set<string>();
  let refs;
  try {
    refs = topRefsFor(topDoc.value, peel, { file: top, lines: topDoc.lines });
  } catch (e) {
    if (!(e instanceof StateError)) throw e;
    throw new SettingsError(e.message.replace(/ \([^)]*\)$/, ""), top, e.line, { cause: e });
  }
  for (const { ref, ignoreMissing } of refs) {
    const matched = expand(ref);
    if (matched.length === 0 && !ignoreMissing) {
      throw new SettingsError(`the top file assigns "${ref}", which is not in the tree`, top);
    }
    for (const m of matched) {
      if (done.has(m)) continue;
      done.add(m);
      settings = merge(settings, await renderRef(m, settings, {}));
    }
  }
  return merge(settings, inline);
}
