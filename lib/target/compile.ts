/**
 * Compiling target expressions into matchers: every Salt matcher (glob, `E@`, `L@`, `G@`,
 * `P@`, `I@`, `J@`, `S@`, `N@`) alone or in compound expressions.
 * @module
 */
import type { TargetType } from "../job/mod.ts";
import { looksCompound, type Node, parseCompound } from "./compound.ts";
import { TargetError } from "./error.ts";
import { factsMatch, type Split, splits, subdictMatch } from "./fact_match.ts";
import { compileGlob, isLiteralGlob } from "./glob.ts";
import { inNetwork, parseNetwork } from "./ip.ts";
import { matchRegExp, testBounded } from "./regex.ts";
import type { PeelIndex } from "./peel_index.ts";
import type { PeelView } from "./peel_view.ts";
import { intersect, negate, type Selection, selection, unite } from "./selection.ts";

/** A compiled target expression. */
export interface Target {
  /** The expression as given. */
  readonly expression: string;
  /** The kind it was read as. */
  readonly kind: TargetType;
  /** True when `peel` is selected. */
  matches(peel: PeelView): boolean;
  /**
   * What `index` tells of the ids this selects (`matches` decides the ones it leaves unsure), or
   * undefined when it cannot narrow this expression and every peel must be tested.
   */
  select(index: PeelIndex): Selection | undefined;
}

/** Options for {@linkcode compileTarget}. */
export interface CompileOptions {
  /** Named groups of peels (`nodegroups:` in `master.yaml`): a compound string or tokens. */
  nodegroups?: Record<string, string | string[]>;
}

/** A matcher before it is wrapped as a {@linkcode Target}. */
interface Matcher {
  matches(peel: PeelView): boolean;
  select?: (index: PeelIndex) => Selection | undefined;
}

const GLOB_SPECIAL = /[*?[]/;

/** Printable ASCII: lowercasing keeps its length, so a literal's lowercase form finds it exactly. */
const ASCII = /^[\x20-\x7e]*$/;

/** The ids a fact matcher selects, from the value index; undefined for dotted keys. */
function factSelection(
  index: PeelIndex,
  candidates: readonly Split[],
  glob: boolean,
): Selection | undefined {
  const sure = new Set<string>();
  const maybe = new Set<string>();
  for (const c of candidates) {
    if (c.keys.some((k) => k.includes("."))) return undefined; // Dotted keys: scan.
    const path = c.keys.join(":");
    const unsure = index.unsure(path);
    const literal = glob && !GLOB_SPECIAL.test(c.pattern);
    const exact = !literal || ASCII.test(c.pattern);
    const add = (ids: Iterable<string>) => {
      for (const id of ids) (exact && !unsure.has(id) ? sure : maybe).add(id);
    };
    if (glob && c.pattern === "*") add(index.having(path));
    else if (literal) add(index.idsWith(path, c.pattern.toLowerCase()));
    else {
      for (const value of index.valuesAt(path)) {
        if (c.test(value)) add(index.idsWith(path, value));
      }
    }
  }
  for (const id of sure) maybe.delete(id);
  return selection(sure, maybe);
}

/** The ids of `s` that `m` matches, reading each peel: for a side the index cannot answer. */
function filtered(s: Selection, m: Matcher, index: PeelIndex): Selection {
  const keep = (ids: ReadonlySet<string>) => {
    const out = new Set<string>();
    for (const id of ids) {
      const p = index.get(id);
      if (p && m.matches(p)) out.add(id);
    }
    return out;
  };
  return selection(keep(s.sure), keep(s.maybe));
}

const PREFIXED = /^([A-Za-z])([^A-Za-z0-9@\s])?@([\s\S]*)$/;
const LETTER_OF: Partial<Record<TargetType, string>> = {
  pcre: "E",
  list: "L",
  grain: "G",
  grain_pcre: "P",
  pillar: "I",
  pillar_pcre: "J",
  ipcidr: "S",
  nodegroup: "N",
};
const KIND_OF: Record<string, TargetType> = {
  E: "pcre",
  L: "list",
  G: "grain",
  P: "grain_pcre",
  I: "pillar",
  J: "pillar_pcre",
  S: "ipcidr",
  N: "nodegroup",
};

interface Ctx {
  expression: string;
  nodegroups: Record<string, string | string[]>;
  /** Nodegroups being expanded, to catch cycles. */
  expanding: string[];
}

function globMatcher(pattern: string, ctx: Ctx, at: number): Matcher {
  if (pattern === "") throw new TargetError(ctx.expression, "empty glob", at);
  const test = compileGlob(pattern);
  const prefix = pattern.split(GLOB_SPECIAL)[0]!;
  return {
    matches: (p) => test(p.id),
    select: isLiteralGlob(pattern)
      ? (ix) => selection(new Set(ix.has(pattern) ? [pattern] : []))
      : (ix) => selection(new Set((prefix ? ix.idsWithPrefix(prefix) : ix.ids).filter(test))),
  };
}

function factSplits(
  letter: string,
  pattern: string,
  delimiter: string,
  ctx: Ctx,
  at: number,
): Split[] {
  if (!pattern.includes(delimiter)) {
    throw new TargetError(
      ctx.expression,
      `${letter}@ needs key${delimiter}value, got "${pattern}"`,
      at,
    );
  }
  if (letter === "G" || letter === "I") {
    return splits(pattern, delimiter, (v) => {
      if (isLiteralGlob(v)) {
        const lower = v.toLowerCase();
        return (s) => s.length === v.length && s.toLowerCase() === lower;
      }
      // Case-insensitive, as Salt does it: both sides lowercased.
      const test = compileGlob(v.toLowerCase());
      return (s) => test(s.toLowerCase());
    });
  }
  // P@ and J@ lowercase both sides, as Salt does.
  let lastError: TargetError | undefined;
  const out = splits(pattern.toLowerCase(), delimiter, (v) => {
    try {
      const re = matchRegExp(v, ctx.expression, at);
      return (s) => testBounded(re, s.toLowerCase());
    } catch (e) {
      lastError = e as TargetError;
      return undefined;
    }
  });
  if (out.length === 0 && lastError) throw lastError;
  return out;
}

const NETWORK_KEYS = ["network", "ipv4", "ipv6"];

function networkAddresses(facts: Record<string, unknown>): string[] {
  const net = facts.network as { ipv4?: unknown; ipv6?: unknown } | undefined;
  const lists = [net?.ipv4, net?.ipv6, facts.ipv4, facts.ipv6];
  return lists.flatMap((l) => Array.isArray(l) ? l.filter((x) => typeof x === "string") : []);
}

function nodegroupMatcher(name: string, ctx: Ctx, at: number): Matcher {
  if (ctx.expanding.includes(name)) {
    throw new TargetError(
      ctx.expression,
      `nodegroup cycle ${[...ctx.expanding, name].join(" -> ")}`,
      at,
    );
  }
  const def = Object.hasOwn(ctx.nodegroups, name) ? ctx.nodegroups[name] : undefined;
  if (def === undefined) throw new TargetError(ctx.expression, `unknown nodegroup "${name}"`, at);
  const ops = new Set(["and", "or", "not", "(", ")"]);
  const expr = typeof def === "string"
    ? def
    : def.some((t) => ops.has(t.toLowerCase()))
    ? def.join(" ")
    : `L@${def.join(",")}`;
  const inner: Ctx = { ...ctx, expanding: [...ctx.expanding, name] };
  try {
    return autoMatcher(expr, { ...inner, expression: expr }, 0);
  } catch (e) {
    if (!(e instanceof TargetError) || e.expression !== expr) throw e;
    throw new TargetError(ctx.expression, `in nodegroup "${name}": ${e.message}`, at, { cause: e });
  }
}

function prefixedMatcher(
  letter: string,
  delimiter: string,
  pattern: string,
  ctx: Ctx,
  at: number,
): Matcher {
  const body = at + (delimiter === ":" ? 2 : 3);
  switch (letter) {
    case "E": {
      const re = matchRegExp(pattern, ctx.expression, body);
      const test = (id: string) => testBounded(re, id);
      return {
        matches: (p) => test(p.id),
        select: (ix) => selection(new Set(ix.ids.filter(test))),
      };
    }
    case "L": {
      const ids = pattern.split(",").map((x) => x.trim()).filter(Boolean);
      if (ids.length === 0) throw new TargetError(ctx.expression, "empty list", body);
      const set = new Set(ids);
      return {
        matches: (p) => set.has(p.id),
        select: (ix) => selection(new Set(ids.filter((id) => ix.has(id)))),
      };
    }
    case "G":
    case "P": {
      const c = factSplits(letter, pattern, delimiter, ctx, body);
      return {
        matches: (p) => factsMatch(p, c),
        select: (ix) => factSelection(ix, c, letter === "G"),
      };
    }
    case "I":
    case "J": {
      const c = factSplits(letter === "I" ? "G" : "P", pattern, delimiter, ctx, body);
      return { matches: (p) => p.settings !== undefined && subdictMatch(p.settings, c) };
    }
    case "S": {
      const net = parseNetwork(pattern);
      if (!net) throw new TargetError(ctx.expression, `invalid CIDR "${pattern}"`, body);
      return {
        matches: (p) =>
          networkAddresses(p.factsAt?.(NETWORK_KEYS) ?? p.facts).some((a) => inNetwork(net, a)),
      };
    }
    case "N":
      return nodegroupMatcher(pattern, ctx, body);
    default:
      throw new TargetError(ctx.expression, `unknown matcher ${letter}@`, at);
  }
}

function termMatcher(text: string, ctx: Ctx, at: number): Matcher {
  const m = PREFIXED.exec(text);
  if (!m) return globMatcher(text, ctx, at);
  return prefixedMatcher(m[1]!, m[2] ?? ":", m[3]!, ctx, at);
}

function treeMatcher(node: Node, ctx: Ctx): Matcher {
  switch (node.kind) {
    case "term":
      return termMatcher(node.text, ctx, node.at);
    case "not": {
      const inner = treeMatcher(node.operand, ctx);
      return {
        matches: (p) => !inner.matches(p),
        select: (ix) => {
          const s = inner.select?.(ix);
          return s && negate(s);
        },
      };
    }
    case "and": {
      const l = treeMatcher(node.left, ctx);
      const r = treeMatcher(node.right, ctx);
      return {
        matches: (p) => l.matches(p) && r.matches(p),
        select: (ix) => {
          const a = l.select?.(ix);
          const b = r.select?.(ix);
          if (a && b) return intersect(a, b);
          // The side the index cannot answer is tested on the other side's ids only.
          if (a && !a.negated) return filtered(a, r, ix);
          if (b && !b.negated) return filtered(b, l, ix);
          return undefined;
        },
      };
    }
    case "or": {
      const l = treeMatcher(node.left, ctx);
      const r = treeMatcher(node.right, ctx);
      return {
        matches: (p) => l.matches(p) || r.matches(p),
        select: (ix) => {
          const a = l.select?.(ix);
          const b = a && r.select?.(ix);
          return b && unite(a, b);
        },
      };
    }
  }
}

/**
 * Compound when it has an operator or a parenthesis, or several words without an `X@` prefix
 * (peel ids have no spaces, so a glob with one could never match; `G@a:b c` may).
 */
function isCompound(expr: string): boolean {
  return looksCompound(expr) || (/\S\s+\S/.test(expr.trim()) && !PREFIXED.test(expr.trim()));
}

function autoMatcher(expr: string, ctx: Ctx, at: number): Matcher {
  if (isCompound(expr)) return treeMatcher(parseCompound(expr), ctx);
  return termMatcher(expr.trim(), ctx, at + (expr.length - expr.trimStart().length));
}

/** The kind the CLI reads `expr` as by default: compound, a prefixed matcher, or a glob. */
export function detectKind(expr: string): TargetType {
  if (isCompound(expr)) return "compound";
  const m = PREFIXED.exec(expr.trim());
  return m ? KIND_OF[m[1]!] ?? "compound" : "glob";
}

/**
 * Compile `expr` read as `kind`; with no kind, as the CLI reads it (compound when it has
 * `and`/`or`/`not`/parentheses, else the matcher its `X@` prefix names, else a glob). Throws
 * {@linkcode TargetError} naming the position and what was expected.
 *
 * @example
 * ```ts
 * const t = compileTarget("web-* and G@os:family:debian and not E@web-0[0-4]");
 * t.matches({ id: "web-07", facts: { os: { family: "debian" } } }); // true
 * ```
 */
export function compileTarget(
  expr: string,
  kind?: TargetType,
  options: CompileOptions = {},
): Target {
  if (expr.trim() === "") throw new TargetError(expr, "the expression is empty", 0);
  const ctx: Ctx = { expression: expr, nodegroups: options.nodegroups ?? {}, expanding: [] };
  let m: Matcher;
  if (kind === undefined) m = autoMatcher(expr, ctx, 0);
  else if (kind === "glob") m = globMatcher(expr.trim(), ctx, 0);
  else if (kind === "compound") m = treeMatcher(parseCompound(expr), ctx);
  else m = prefixedMatcher(LETTER_OF[kind]!, ":", expr.trim(), { ...ctx }, -2);
  return {
    expression: expr,
    kind: kind ?? detectKind(expr),
    matches: m.matches,
    select: (ix) => m.select?.(ix),
  };
}

/**
 * The sorted ids in `index` that `target` selects, through the index where it can narrow: only
 * the ids it leaves unsure are tested, since testing one may decode its facts.
 */
export function resolveTarget(target: Target, index: PeelIndex): string[] {
  const s = target.select(index);
  if (!s) return scanTarget(target, index);
  const test = (id: string) => {
    const p = index.get(id);
    return p !== undefined && target.matches(p);
  };
  if (s.negated) {
    return index.ids.filter((id) => !s.sure.has(id) && (!s.maybe.has(id) || test(id)));
  }
  const out = [...s.sure];
  for (const id of s.maybe) if (test(id)) out.push(id);
  return out.sort();
}

/** The sorted ids in `index` that `target` selects, testing every peel (for comparison). */
export function scanTarget(target: Target, index: PeelIndex): string[] {
  const out: string[] = [];
  for (const p of index.peels()) if (target.matches(p)) out.push(p.id);
  return out.sort();
}
