/**
 * Target expressions: which peels a job runs on. This version knows globs on the peel id (the
 * default) and `L@`-style lists; the other Salt matchers come with the targeting issue.
 *
 * @example
 * ```ts
 * import { compileTarget } from "./mod.ts";
 * const t = compileTarget("web-*");
 * t.matches({ id: "web-01", facts: {} }); // true
 * ```
 * @module
 */
import { TargetError } from "./error.ts";
import { globToRegExp, isLiteralGlob } from "./glob.ts";
import type { TargetType } from "../job/mod.ts";

export { TargetError } from "./error.ts";
export { globToRegExp, isLiteralGlob } from "./glob.ts";

/** What a matcher sees of a peel. */
export interface PeelView {
  /** The peel id. */
  id: string;
  /** The peel's facts (grains). */
  facts: Record<string, unknown>;
  /** The peel's settings (pillar), where known. */
  settings?: Record<string, unknown>;
}

/** A compiled target expression. */
export interface Target {
  /** The expression as given. */
  readonly expression: string;
  /** The kind it was read as. */
  readonly kind: TargetType;
  /** True when `peel` is selected. */
  matches(peel: PeelView): boolean;
  /** The ids this target can only match, when it names them exactly (lists, literal globs). */
  readonly exactIds?: readonly string[];
}

/** Options for {@linkcode compileTarget}. */
export interface CompileOptions {
  /** Named groups of peels from `master.yaml`. */
  nodegroups?: Record<string, string | string[]>;
}

/** Compile `expr` read as `kind` (default: a glob on the peel id). */
export function compileTarget(
  expr: string,
  kind: TargetType = "glob",
  _options: CompileOptions = {},
): Target {
  if (expr.trim() === "") throw new TargetError(expr, "the expression is empty");
  switch (kind) {
    case "glob": {
      const re = globToRegExp(expr);
      return {
        expression: expr,
        kind,
        matches: (p) => re.test(p.id),
        exactIds: isLiteralGlob(expr) ? [expr] : undefined,
      };
    }
    case "list": {
      const ids = expr.split(",").map((x) => x.trim()).filter(Boolean);
      const set = new Set(ids);
      return { expression: expr, kind, matches: (p) => set.has(p.id), exactIds: ids };
    }
    default:
      throw new TargetError(expr, `matcher kind "${kind}" is not supported yet`);
  }
}
