/**
 * `state.*` execution functions: apply SLS files (or the top file) from the mirrored state tree,
 * show what they compile to, or run one state function directly (`zester 'web*' file.touch
 * /tmp/x`). Modules act through the broker.
 * @module
 */
import { inlineSettings } from "../../lib/settings/mod.ts";
import { plan, runPlan, summarize } from "../../lib/state/mod.ts";
import type { TemplateContext } from "../../lib/template/mod.ts";
import {
  applyStates,
  showSls,
  type StateTree,
  topRefs,
  treeRenderer,
  treeStateHost,
} from "../state/mod.ts";
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

/**
 * What templates see on this peel: its facts and its settings, with the inline settings of
 * `kwargs` (`pillar=`, `settings=`) merged over them; and a warning when those are not current.
 */
export async function templateContext(
  ctx: ExecContext,
  kwargs: Record<string, unknown> = {},
): Promise<{ context: TemplateContext; warnings?: string[] }> {
  const inline = inlineSettings(kwargs);
  const s = ctx.settings ? await ctx.settings.get(inline) : { settings: inline ?? {} };
  return {
    context: { peelId: ctx.peelId, facts: ctx.facts(), settings: s.settings },
    ...(s.warning ? { warnings: [s.warning] } : {}),
  };
}

/** The basket lookup templates get on this peel. */
const basketOf = (ctx: ExecContext): Basket["get"] | undefined => ctx.basket?.get.bind(ctx.basket);

/** A state tree with nothing in it, for direct calls on a peel that has none yet. */
const EMPTY_TREE: StateTree = {
  read: () => undefined,
  bytes: () => undefined,
  files: () => new Map(),
  list: () => [],
};

async function apply(
  ctx: ExecContext,
  refs: string[],
  kwargs: Record<string, unknown>,
): Promise<FunctionResult> {
  const { context, warnings } = await templateContext(ctx, kwargs);
  const run = await applyStates({
    refs,
    tree: tree(ctx),
    context,
    broker: ctx.broker,
    basket: basketOf(ctx),
    test: kwargs.test === true,
    holdsSecret: (text) => ctx.settings !== undefined && ctx.settings.redact(text) !== text,
  });
  return { result: run, success: run.summary.failed === 0, warnings };
}

/** `state.apply [sls,…] [test=True]`: the named SLS files, or the top file's when none. */
export const stateApply: ExecFunction = (ctx, args, kwargs) => {
  const refs = refsOf(args, kwargs);
  return apply(ctx, refs.length ? refs : topRefs(tree(ctx), ctx.peelId, ctx.facts()), kwargs);
};

/** `state.highstate [test=True]`: everything the top file assigns to this peel. */
export const stateHighstate: ExecFunction = (ctx, _args, kwargs) =>
  apply(ctx, topRefs(tree(ctx), ctx.peelId, ctx.facts()), kwargs);

/** `state.show_sls <sls>`: the compiled states, in plan order, without running them. */
export const stateShowSls: ExecFunction = async (ctx, args, kwargs) => {
  const refs = refsOf(args, kwargs);
  if (!refs.length) throw new ArgumentError("state.show_sls needs an SLS reference");
  const { context, warnings } = await templateContext(ctx, kwargs);
  const chunks = await showSls({
    refs,
    tree: tree(ctx),
    context,
    broker: ctx.broker,
    basket: basketOf(ctx),
  });
  return { result: chunks, warnings };
};

/** Any state function called directly, e.g. `file.touch /tmp/x` or `test.succeed_with_changes`. */
export function stateSingle(fun: string): ExecFunction {
  const [module, f] = fun.split(".");
  return async (ctx, args, kwargs) => {
    const tree = ctx.states ?? EMPTY_TREE;
    const { test, pillar: _p, settings: _s, ...rest } = kwargs;
    using renderer = treeRenderer(tree, ctx.broker, basketOf(ctx));
    const { context, warnings } = await templateContext(ctx, kwargs);
    const host = treeStateHost({ tree, context, broker: ctx.broker }, renderer);
    if (!host.fn(fun)) throw new ArgumentError(`Function "${fun}" is not available on this peel`);
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
    return { result: run, success: run.summary.failed === 0, warnings };
  };
}
