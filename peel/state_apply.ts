/**
 * The state pipeline shared by the peel and `zester call --local`: find SLS files in a state
 * tree, render them, compile, plan and run them against the state modules and the broker.
 * Templates run commands and read host files through the broker too (`template_host.ts`).
 * @module
 */
import {
  compile,
  loadTree,
  parseSls,
  plan,
  runPlan,
  StateError,
  type StateResult,
  summarize,
  type Summary,
} from "../lib/state/mod.ts";
import { lookupKey, type TemplateContext, TemplateRenderer } from "../lib/template/mod.ts";
import type { Broker } from "./functions/mod.ts";
import { slsPaths, type StateTree } from "./state_tree.ts";
import { templateHost } from "./template_host.ts";

export { dirTree, slsPaths, type StateTree } from "./state_tree.ts";
import { stateHost } from "./modules/mod.ts";

/** What {@linkcode applyStates} and {@linkcode showSls} need. */
export interface ApplyOptions {
  refs: string[];
  tree: StateTree;
  context: TemplateContext;
  broker: Broker;
  test: boolean;
}

/** Loads SLS files of `tree` by reference, rendered by `renderer`. */
function slsLoader(tree: StateTree, context: TemplateContext, renderer: TemplateRenderer) {
  return async (ref: string) => {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(ref)) {
      throw new StateError(`Invalid SLS reference "${ref}"`);
    }
    for (const path of slsPaths(ref)) {
      const text = tree.read(path);
      if (text !== undefined) {
        return parseSls(await renderer.render(text, path, { ...context, sls: ref }), ref, path);
      }
    }
    throw new StateError(
      `No SLS "${ref}" in the state tree (looked for ${slsPaths(ref).join(", ")})`,
    );
  };
}

/** A renderer over `tree` whose templates reach the host through `broker`, when given. */
function rendererFor(tree: StateTree, broker?: Broker): TemplateRenderer {
  return new TemplateRenderer(() => tree.files(), broker && templateHost(broker));
}

/**
 * Render and compile `refs` into the states that would run, in plan order; templates that run
 * commands or read host files do so through `broker` (without it, they fail).
 */
export async function showSls(opts: Omit<ApplyOptions, "broker" | "test"> & { broker?: Broker }) {
  using renderer = rendererFor(opts.tree, opts.broker);
  const p = plan(compile(await loadTree(opts.refs, slsLoader(opts.tree, opts.context, renderer))));
  return p.levels.flat().map((i) => p.chunks[i]!);
}

/** Call Salt function `fun` as a template would, for a guard's `fun:` form. */
async function evaluate(
  renderer: TemplateRenderer,
  context: TemplateContext,
  fun: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
): Promise<unknown> {
  const text = "{{ salt[__fun__](*__args__, **__kwargs__) | json }}";
  const vars = { __fun__: fun, __args__: args, __kwargs__: kwargs };
  return JSON.parse(await renderer.render(text, `<guard ${fun}>`, { ...context, vars }));
}

/** Apply `refs`; resolves to each state's result in run order and a summary. */
export async function applyStates(
  opts: ApplyOptions,
): Promise<{ states: StateResult[]; summary: Summary }> {
  using renderer = rendererFor(opts.tree, opts.broker);
  const { context } = opts;
  const p = plan(compile(await loadTree(opts.refs, slsLoader(opts.tree, context, renderer))));
  const host = stateHost({
    broker: opts.broker,
    facts: context.facts,
    source: (ref) => {
      const path = ref.replace(/^(salt|zester):\/\//, "");
      const text = opts.tree.read(path);
      if (text === undefined) {
        return Promise.reject(new Error(`Source "${ref}" is not in the state tree`));
      }
      return Promise.resolve(text);
    },
    render: (text, file, extra) => renderer.render(text, file, { ...context, ...extra }),
    setting: (key) => lookupKey(context.settings, key, undefined),
    evaluate: (fun, args, kwargs) => evaluate(renderer, context, fun, args, kwargs),
  });
  const states = await runPlan(p, { test: opts.test, host });
  return { states, summary: summarize(states) };
}
