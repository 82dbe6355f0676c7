/**
 * Compiling SLS files into states: includes loaded depth first and once (a cycle included, as
 * in Salt), `extend` applied, `names` expanded, `use` copied, and every `_in`
 * requisite turned around onto its target.
 * @module
 */
import { isPlainObject } from "../schema/mod.ts";
import { type Declaration, parseRefs, type SlsFile } from "./sls.ts";
import { type Chunk, type Requisite, REQUISITES, StateError } from "./types.ts";

/** Loads (renders and parses) one SLS by reference. */
export type SlsLoader = (ref: string) => Promise<SlsFile>;

/**
 * Resolve relative includes as Salt does: `.x` is a sibling of the including SLS (a child when
 * the including file is a package's `init`), and each further dot goes up one level.
 */
export function resolveInclude(inc: string, from: Pick<SlsFile, "ref" | "file">): string {
  if (!inc.startsWith(".")) return inc;
  const isInit = /(^|\/)init\.(zy|sls)$/.test(from.file);
  const base = from.ref.split(".");
  if (!isInit) base.pop();
  const dots = inc.match(/^\.+/)![0].length;
  return [...base.slice(0, Math.max(0, base.length - (dots - 1))), inc.slice(dots)].join(".");
}

/**
 * Load `refs` and everything they include, once each, in include-first order. As in Salt, an SLS
 * that includes one being loaded (an include cycle) takes it as already there.
 */
export async function loadTree(refs: string[], load: SlsLoader): Promise<SlsFile[]> {
  const seen = new Set<string>();
  const order: SlsFile[] = [];
  const visit = async (ref: string) => {
    if (seen.has(ref)) return;
    seen.add(ref);
    const sls = await load(ref);
    for (const inc of sls.include) await visit(resolveInclude(inc, sls));
    order.push(sls);
  };
  for (const ref of refs) await visit(ref);
  return order;
}

function mergeExtend(target: Declaration, ext: Declaration): void {
  for (const [k, v] of Object.entries(ext.args)) {
    const base = k.replace(/_in$/, "");
    if ((REQUISITES as readonly string[]).includes(base) && Array.isArray(target.args[k])) {
      target.args[k] = [...(target.args[k] as unknown[]), ...(v as unknown[])];
    } else {
      target.args[k] = v;
    }
  }
}

/** Compile loaded files into chunks, in declaration order. */
export function compile(files: SlsFile[]): Chunk[] {
  const decls: (Declaration & { sls: string; file: string })[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    for (const d of f.states) {
      const key = `${d.id}\u0000${d.module}`;
      if (seen.has(key)) {
        throw new StateError(
          `Conflicting ID "${d.id}" (${d.module}) in SLS "${f.ref}" and "${seen.get(key)}"`,
          { file: f.file, line: d.line },
        );
      }
      seen.set(key, f.ref);
      decls.push({ ...d, args: { ...d.args }, sls: f.ref, file: f.file });
    }
  }
  for (const f of files) {
    for (const e of f.extend) {
      const target = decls.find((d) =>
        d.id === e.id && d.module === e.module && (e.fun === "" || d.fun === e.fun)
      );
      if (!target) {
        throw new StateError(
          `Cannot extend ID "${e.id}" (${e.module}): it is not in the state tree`,
          {
            file: f.file,
            line: e.line,
          },
        );
      }
      mergeExtend(target, e);
    }
  }
  const chunks: Chunk[] = [];
  const inverted: {
    kind: Requisite;
    ref: { module: string; target: string };
    source: { module: string; target: string };
    where: { file: string; line?: number };
  }[] = [];
  for (const d of decls) {
    const where = { file: d.file, line: d.line };
    const names = d.args.names;
    const variants: { name: string; extra: Record<string, unknown> }[] = [];
    if (names !== undefined) {
      if (!Array.isArray(names)) {
        throw new StateError(`State "${d.id}": names must be a list`, where);
      }
      for (const n of names) {
        if (typeof n === "string" || typeof n === "number") {
          variants.push({ name: String(n), extra: {} });
        } else if (isPlainObject(n) && Object.keys(n).length === 1) {
          const [name, over] = Object.entries(n)[0]!;
          const extra: Record<string, unknown> = {};
          for (const o of Array.isArray(over) ? over : []) {
            if (isPlainObject(o)) Object.assign(extra, o);
          }
          variants.push({ name, extra });
        } else throw new StateError(`State "${d.id}": bad entry in names`, where);
      }
    } else {
      variants.push({ name: String(d.args.name ?? d.id), extra: {} });
    }
    for (const v of variants) {
      const all = { ...d.args, ...v.extra };
      const requisites: Chunk["requisites"] = {};
      const args: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(all)) {
        if ((REQUISITES as readonly string[]).includes(k)) {
          requisites[k as Requisite] = parseRefs(val as unknown[], d.id, k);
        } else if (!k.endsWith("_in") && k !== "names" && k !== "name" && k !== "order") {
          args[k] = val;
        }
      }
      const order = all.order;
      if (
        order !== undefined && order !== "first" && order !== "last" && typeof order !== "number"
      ) {
        throw new StateError(`State "${d.id}": order must be a number, first or last`, where);
      }
      chunks.push({
        id: d.id,
        sls: d.sls,
        module: d.module,
        fun: d.fun,
        name: v.name,
        args,
        requisites,
        order: order as Chunk["order"],
        index: chunks.length,
      });
    }
    // `_in` forms: this state is a requisite of the named targets.
    for (const kind of REQUISITES) {
      const list = d.args[`${kind}_in`];
      if (list === undefined) continue;
      for (const ref of parseRefs(Array.isArray(list) ? list : [list], d.id, `${kind}_in`)) {
        inverted.push({ kind, ref, source: { module: d.module, target: d.id }, where });
      }
    }
  }
  for (const inv of inverted) {
    const targets = chunks.filter((c) =>
      (inv.ref.module === "*" || c.module === inv.ref.module ||
        inv.ref.module === "sls" && c.sls === inv.ref.target) &&
      (inv.ref.module === "sls" || c.id === inv.ref.target || c.name === inv.ref.target)
    );
    // An SLS in the tree that declares no states of its own (one that only includes others)
    // takes an `_in` requisite as Salt does: there is nothing to attach it to.
    const emptySls = inv.ref.module === "sls" && files.some((f) => f.ref === inv.ref.target);
    if (targets.length === 0 && !emptySls) {
      throw new StateError(
        `Cannot extend ID "${inv.ref.target}": it is not part of the state tree (${inv.kind}_in)`,
        inv.where,
      );
    }
    for (const t of targets) (t.requisites[inv.kind] ??= []).push(inv.source);
  }
  return chunks;
}
