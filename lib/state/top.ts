/**
 * Top files, for states and settings alike: `<env>: '<target>': [refs]`, each target read with
 * the targeting engine (a glob on the peel id unless a `- match:` entry names Salt's matcher),
 * `- ignore_missing: True` to skip refs that are not in the tree. Errors name the file and line.
 * @module
 */
import type { TargetType } from "../job/mod.ts";
import { isPlainObject } from "../schema/mod.ts";
import { compileTarget, type PeelView, TargetError } from "../target/mod.ts";
import { StateError } from "./types.ts";

/** `- match:` values of a top file and the target kinds they mean (Salt's names). */
const TOP_MATCH: Record<string, TargetType> = {
  glob: "glob",
  pcre: "pcre",
  list: "list",
  grain: "grain",
  grain_pcre: "grain_pcre",
  pillar: "pillar",
  pillar_pcre: "pillar_pcre",
  ipcidr: "ipcidr",
  compound: "compound",
};

/** One ref a top file assigns to a peel. */
export interface TopRef {
  /** The environment it is listed under. */
  env: string;
  /** The ref as written (it may be a glob). */
  ref: string;
  /** Whether its target said `- ignore_missing: True`. */
  ignoreMissing: boolean;
}

/**
 * The refs top file data `top` (read from `file`, its top-level keys at `lines`) assigns to
 * `peel`, in file order, each once; only environments in `envs` when given.
 */
export function topRefsFor(
  top: unknown,
  peel: PeelView,
  where: { file: string; lines?: ReadonlyMap<string, number> },
  envs?: readonly string[],
): TopRef[] {
  top ??= {};
  if (!isPlainObject(top)) {
    throw new StateError("Top file: expected environments such as base:", { file: where.file });
  }
  const out: TopRef[] = [];
  for (const [env, targets] of Object.entries(top)) {
    const at = { file: where.file, line: where.lines?.get(env) };
    if (envs && !envs.includes(env)) continue;
    if (targets === null) continue;
    if (!isPlainObject(targets)) {
      throw new StateError(`Top file: environment "${env}" must map targets to lists`, at);
    }
    for (const [tgt, entries] of Object.entries(targets)) {
      const list = Array.isArray(entries) ? entries : [entries];
      let kind: TargetType | undefined;
      let ignoreMissing = false;
      const refs: string[] = [];
      for (const e of list) {
        if (typeof e === "string") refs.push(e);
        else if (isPlainObject(e) && "match" in e) {
          kind = TOP_MATCH[String(e.match)];
          if (!kind) {
            throw new StateError(
              `Top file: unknown match type "${e.match}" for "${tgt}" (expected one of ${
                Object.keys(TOP_MATCH).join(", ")
              })`,
              at,
            );
          }
        } else if (isPlainObject(e) && "ignore_missing" in e) {
          ignoreMissing = e.ignore_missing === true;
        } else if (e !== null) {
          throw new StateError(
            `Top file: target "${tgt}" lists ${JSON.stringify(e)}, expected a ref or - match:`,
            at,
          );
        }
      }
      let matched: boolean;
      try {
        matched = compileTarget(tgt, kind).matches(peel);
      } catch (e) {
        if (!(e instanceof TargetError)) throw e;
        throw new StateError(`Top file: ${e.message}`, at, { cause: e });
      }
      if (!matched) continue;
      for (const ref of refs) {
        if (!out.some((r) => r.env === env && r.ref === ref)) out.push({ env, ref, ignoreMissing });
      }
    }
  }
  return out;
}
