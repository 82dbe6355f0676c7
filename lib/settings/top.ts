/**
 * What a settings tree's top file assigns a peel: the refs of the tree, the top file's targets
 * matched through the targeting engine, and — for the master, which seals each peel the secrets
 * of its files — the files a peel's settings are made of, with the ones they include.
 * @module
 */
import { resolveInclude, slsPaths, slsRef, StateError, topRefsFor } from "../state/mod.ts";
import { compileGlob, type PeelView } from "../target/mod.ts";
import { type TemplateContext, TemplateError, TemplateRenderer } from "../template/mod.ts";
import { parseYaml, type YamlDocument, YamlError } from "../yaml/mod.ts";
import { SettingsError } from "./error.ts";

/** The names a settings tree's top file may have, in the order they are looked for. */
export const TOP_FILES = ["top.zy", "top.sls"] as const;

/** The settings refs of a tree, and how refs and globs map onto its files. */
export interface TreeRefs {
  /** The refs a name or glob stands for, sorted; none when nothing matches. */
  expand(ref: string): string[];
  /** The file of `ref` (one {@linkcode TreeRefs.expand} gave). */
  pathOf(ref: string): string;
}

/** The refs of the `.zy`/`.sls` files of `files`, the top file's aside. */
export function treeRefs(files: ReadonlyMap<string, string>): TreeRefs {
  const available = [...new Set([...files.keys()].map(slsRef))]
    .filter((r): r is string => r !== undefined && r !== "top").sort();
  return {
    expand: (ref) =>
      /[*?[]/.test(ref) ? available.filter(compileGlob(ref)) : available.includes(ref) ? [ref] : [],
    pathOf: (ref) => slsPaths(ref).find((p) => files.has(p))!,
  };
}

/** Render a settings file (Jinja, then YAML) into a document; errors name the file and line. */
export async function renderSettingsDoc(
  renderer: TemplateRenderer,
  text: string,
  file: string,
  context: TemplateContext,
): Promise<YamlDocument> {
  let rendered: string;
  try {
    rendered = await renderer.render(text, file, context);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    throw new SettingsError(e.reason, e.file, e.line, { cause: e });
  }
  try {
    return parseYaml(rendered);
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    throw new SettingsError(`Cannot parse YAML: ${e.reason}`, file, e.line, { cause: e });
  }
}

/**
 * The refs the rendered top file `doc` (of file `top`) assigns `peel`, in top-file order, each
 * once; a ref the tree does not have is an error unless `ignore_missing`.
 */
export function assignedRefs(
  doc: YamlDocument,
  top: string,
  peel: PeelView,
  tree: TreeRefs,
): string[] {
  let refs;
  try {
    refs = topRefsFor(doc.value, peel, { file: top, lines: doc.lines });
  } catch (e) {
    if (!(e instanceof StateError)) throw e;
    throw new SettingsError(e.message.replace(/ \([^)]*\)$/, ""), top, e.line, { cause: e });
  }
  const out = new Set<string>();
  for (const { ref, ignoreMissing } of refs) {
    const matched = tree.expand(ref);
    if (matched.length === 0 && !ignoreMissing) {
      throw new SettingsError(`the top file assigns "${ref}", which is not in the tree`, top);
    }
    for (const m of matched) out.add(m);
  }
  return [...out];
}

const INCLUDE_BLOCK = /^include:[ \t]*(?:#.*)?$/;
const INCLUDE_FLOW = /^include:[ \t]*\[([^\]]*)\]/;
const INCLUDE_ITEM = /^[ \t]*-[ \t]+(["']?)([^"'\s:{}#]+)\1[ \t]*(:.*)?$/;

/**
 * The refs `text` includes, read from its plain `include:` list without rendering it: a name
 * written with Jinja, or an include inside a Jinja condition's other branch, is taken as written.
 */
function staticIncludes(text: string): string[] {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const flow = INCLUDE_FLOW.exec(lines[i]!);
    if (flow) out.push(...flow[1]!.split(",").map((n) => n.trim().replace(/^["']|["']$/g, "")));
    if (!INCLUDE_BLOCK.test(lines[i]!)) continue;
    for (i++; i < lines.length; i++) {
      const line = lines[i]!;
      if (/^\s*(#.*)?$/.test(line) || /^\s*\{[%#]/.test(line)) continue;
      const item = INCLUDE_ITEM.exec(line);
      if (!item) {
        if (!/^\s/.test(line)) break;
        continue;
      }
      out.push(item[2]!);
    }
    i--;
  }
  return out.filter((n) => n !== "" && !n.includes("{"));
}

/**
 * The files of a settings tree whose values may reach a peel, for the master to seal each peel
 * the secrets it may read: the files the top file assigns the peel (the top file rendered with
 * the peel's facts and settings as the master knows them), and those they include, read from
 * their plain `include:` lists. The master renders no other file, so Jinja conditions inside
 * them are not weighed: a peel gets the secrets of every file its top file assigns it.
 */
export class SettingsTop implements Disposable {
  readonly #files: ReadonlyMap<string, string>;
  readonly #tree: TreeRefs;
  readonly #top?: string;
  readonly #renderer: TemplateRenderer;

  /** The top file of tree `files` (file texts by path). */
  constructor(files: ReadonlyMap<string, string>) {
    this.#files = files;
    this.#tree = treeRefs(files);
    this.#top = TOP_FILES.find((f) => files.has(f));
    this.#renderer = new TemplateRenderer(() => files);
  }

  /** The files peel `peel` may read, sorted; none without a top file. Throws {@linkcode SettingsError}. */
  async filesFor(peel: PeelView): Promise<string[]> {
    if (!this.#top) return [];
    const context: TemplateContext = {
      peelId: peel.id,
      facts: peel.facts,
      settings: peel.settings ?? {},
      opts: { id: peel.id },
    };
    const doc = await renderSettingsDoc(
      this.#renderer,
      this.#files.get(this.#top)!,
      this.#top,
      context,
    );
    const out = new Set<string>();
    const visit = (ref: string) => {
      const file = this.#tree.pathOf(ref);
      if (out.has(file)) return;
      out.add(file);
      for (const name of staticIncludes(this.#files.get(file)!)) {
        for (const m of this.#tree.expand(resolveInclude(name, { ref, file }))) visit(m);
      }
    };
    for (const ref of assignedRefs(doc, this.#top, peel, this.#tree)) visit(ref);
    return [...out].sort();
  }

  /** End its renders (the process's template worker stays for the next run). */
  [Symbol.dispose](): void {
    this.#renderer.close();
  }
}
