/**
 * `state.*` execution functions: apply SLS files (or the top file) from the mirrored state tree,
 * show what they compile to, or run one state function directly (`zester 'web*' file.touch
 * /tmp/x`). Modules act through the broker.
 * @module
 */
import { isPlainObject } from "../../lib/schema/mod.ts";
import { loadYaml } from "../../lib/yaml/mod.ts";
import { compileTarget } from "../../lib/target/mod.ts";
import type { TargetType } from "../../lib/job/mod.ts";
import { plan, runPlan, summarize } from "../../lib/state/mod.ts";
import type { TemplateContext } from "../../lib/template/mod.ts";
import {
  applyStates,
  showSls,
  type StateTree,
  treeRenderer,
  treeStateHost,
} from "../state_apply.ts";
import {
  ArgumentError,
  type Basket,
  type ExecContext,
  type ExecFunction,
  type FunctionResult,
} from "./context.ts";

function refsOf(args: unknown[], kwargs: Record<string, unknown>): string[] {
  const raw = args.length ? args : kwargs.mods !== undefined ? [kwargs.mods] : [];
  return raw.flatMap((a) => Array.isArray(a) ? a : String(a).split(",")).map((r) =>
    String(r).trim()
  )
    .filter(Boolean);
}

function tree(ctx: ExecContext): StateTree {
  if (!ctx.states) throw new ArgumentError("This peel has no state tree yet");
  return ctx.states;
}

const isTest = (kwargs: Record<string, unknown>) => kwargs.test === true;

/** What templates see on this peel. */
const templateContext = (ctx: ExecContext): TemplateContext => ({
  peelId: ctx.peelId,
  facts: ctx.facts(),
  settings: {},
});

/** The basket lookup templates get on this peel. */
const basketOf = (ctx: ExecContext): Basket["get"] | undefined => ctx.basket?.get.bind(ctx.basket);

/** A state tree with nothing in it, for direct calls on a peel that has none yet. */
const EMPTY_TREE: StateTree = {
  read: () => undefined,
  bytes: () => undefined,
  files: () => new Map(),
  list: () => [],
};

/** `- match:` values of a top file and the target kinds they mean. */
const TOP_MATCH: Record<string, TargetType> = {
  glob: "glob",
  pcre: "pcre",
  list: "list",
  grain: "grain",
  grain_pcre: "grain_pcre",
  pillar: "pillar",
  ipcidr: "ipcidr",
  compound: "compound",
};

/** The SLS refs the top file assigns to this peel (environment `base`). */
export function topRefs(t: StateTree, peelId: string, facts: Record<string, unknown>): string[] {
  const text = t.read("top.zy") ?? t.read("top.sls");
  if (text === undefined) throw new ArgumentError("No top.zy or top.sls in the state tree");
  const top = loadYaml(text) ?? {};
  if (!isPlainObject(top) || !isPlainObject(top.base ?? {})) {
    throw new ArgumentError("top file: expected an environment mapping such as base:");
  }
  const refs: string[] = [];
  for (const [tgt, entries] of Object.entries((top.base ?? {}) as Record<string, unknown>)) {
    const list = Array.isArray(entries) ? entries : [];
    const match = list.find((e) => isPlainObject(e) && "match" in e) as
      | { match?: string }
      | undefined;
    const kind = match?.match === undefined ? undefined : TOP_MATCH[match.match];
    if (match?.match !== undefined && !kind) {
      throw new ArgumentError(`top file: unknown match type "${match.match}" for "${tgt}"`);
    }
    if (!compileTarget(tgt, kind).matches({ id: peelId, facts })) continue;
    for (const e of list) if (typeof e === "string" && !refs.includes(e)) refs.push(e);
  }
  return refs;
}

async function apply(ctx: ExecContext, refs: string[], test: boolean): Promise<FunctionResult> {
  const run = await applyStates({
    refs,
    tree: tree(ctx),
    context: templateContext(ctx),
    broker: ctx.broker,
    basket: basketOf(ctx),
    test,
  });
  return { result: run, success: run.summary.failed === 0 };
}

/** `state.apply [sls,…] [test=True]`: the named SLS files, or the top file's when none. */
export const stateApply: ExecFunction = (ctx, args, kwargs) => {
  const refs = refsOf(args, kwargs);
  return apply(
    ctx,
    refs.length ? refs : topRefs(tree(ctx), ctx.peelId, ctx.facts()),
    isTest(kwargs),
  );
};

/** `state.highstate [test=True]`: everything the top file assigns to this peel. */
export const stateHighstate: ExecFunction = (ctx, _args, kwargs) =>
  apply(ctx, topRefs(tree(ctx), ctx.peelId, ctx.facts()), isTest(kwargs));

/** `state.show_sls <sls>`: the compiled states, in plan order, without running them. */
export const stateShowSls: ExecFunction = async (ctx, args, kwargs) => {
  const refs = refsOf(args, kwargs);
  if (!refs.length) throw new ArgumentError("state.show_sls needs an SLS reference");
  const chunks = await showSls({
    refs,
    tree: tree(ctx),
    context: templateContext(ctx),
    broker: ctx.broker,
    basket: basketOf(ctx),
  });
  return { result: chunks };
};

/** Any state function called directly, e.g. `file.touch /tmp/x` or `test.succeed_with_changes`. */
export function stateSingle(fun: string): ExecFunction {
  const [module, f] = fun.split(".");
  return async (ctx, args, kwargs) => {
    const tree = ctx.states ?? EMPTY_TREE;
    using renderer = treeRenderer(tree, ctx.broker, basketOf(ctx));
    const host = treeStateHost(
      { tree, context: templateContext(ctx), broker: ctx.broker },
      renderer,
    );
    if (!host.fn(fun)) throw new ArgumentError(`Function "${fun}" is not available on this peel`);
    const { test, ...rest } = kwargs;
    const name = String(args[0] ?? rest.name ?? "");
    if (!name) throw new ArgumentError(`${fun} needs a name`);
    const chunk = {
      id: name,
      sls: "__cli__",
      module: module!,
      fun: f!,
      name,
      args: rest,
      requisites: {},
      index: 0,
    };
    const states = await runPlan(plan([chunk]), { test: test === true, host });
    const run = { states, summary: summarize(states) };
    return { result: run, success: run.summary.failed === 0 };
  };
}
