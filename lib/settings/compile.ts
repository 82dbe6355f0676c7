/**
 * Compiling one peel's settings from a settings tree, as Salt compiles a minion's pillar: the top
 * file (`top.zy` or `top.sls`, rendered with Jinja) assigns refs per environment through the
 * targeting engine; each file is rendered (Jinja, then YAML 1.1) with the peel's facts, its id and
 * the settings compiled so far (`pillar`), its `include`s (relative `.x`, globs, `defaults` and
 * `key`) merged under it, and the results deep-merged in top-file order with Salt's strategy
 * (`smart` by default: maps recurse, lists are replaced unless `merge_lists`). Inline settings go
 * over all.
 * Errors name the file and line.
 * @module
 */
import { isPlainObject } from "../schema/mod.ts";
import { resolveInclude, slsRef } from "../state/mod.ts";
import {
  deepCopy,
  saltMerge,
  type TemplateContext,
  type TemplateHost,
  TemplateRenderer,
} from "../template/mod.ts";
import type { YamlDocument } from "../yaml/mod.ts";
import type { SettingsConfig } from "./config.ts";
import { SettingsError } from "./error.ts";
import { assignedRefs, renderSettingsDoc, TOP_FILES, treeRefs } from "./top.ts";

type Dict = Record<string, unknown>;

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
  /** How files merge (Salt's `pillar_source_merging_strategy` and `pillar_merge_lists`). */
  merging?: Partial<SettingsConfig>;
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
  const { strategy = "smart", merge_lists: mergeLists = false } = opts.merging ?? {};
  const merge = (a: unknown, b: unknown) => saltMerge(a, b, strategy, mergeLists) as Dict;
  const top = TOP_FILES.find((f) => files.has(f));
  if (!top && !opts.only && files.size === 0) return deepCopy(inline);
  using renderer = new TemplateRenderer(() => files, { host: opts.host });
  const base: TemplateContext = {
    peelId: opts.peelId,
    facts: opts.facts,
    settings: inline,
    opts: {
      id: opts.peelId,
      pillar_merge_lists: mergeLists,
      pillar_source_merging_strategy: strategy,
      ...opts.opts,
    },
  };
  const tree = treeRefs(files);
  const render = (file: string, context: TemplateContext): Promise<YamlDocument> =>
    renderSettingsDoc(renderer, files.get(file)!, file, context);

  /** Rendered files by ref, for includes: each renders once (an include cycle gets `{}`). */
  const rendered = new Map<string, Dict>();
  const renderRef = (ref: string, sofar: Dict, vars: Dict) =>
    renderFile(tree.pathOf(ref), ref, sofar, vars);
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
        const matched = tree.expand(resolveInclude(name, { ref, file }));
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
  for (const ref of assignedRefs(topDoc, top, peel, tree)) {
    settings = merge(settings, await renderRef(ref, settings, {}));
  }
  return merge(settings, inline);
}
