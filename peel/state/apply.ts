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
  type RunHost,
  runPlan,
  slsPaths,
  StateError,
  type StateResult,
  summarize,
  type Summary,
} from "../../lib/state/mod.ts";
import {
  lookupKey,
  type TemplateContext,
  type TemplateHost,
  TemplateRenderer,
} from "../../lib/template/mod.ts";
import type { Broker } from "../broker/mod.ts";
import { stateHost } from "../modules/mod.ts";
import type { StateTree } from "./tree.ts";
import { templateHost } from "./template_host.ts";

/**
 * Where states run: the state tree, what templates see, the broker modules act through, and
 * the basket templates read (none under `call --local`).
 */
export interface StateEnv {
  tree: StateTree;
  context: TemplateContext;
  broker: Broker;
  basket?: TemplateHost["basket"];
}

/** What {@linkcode applyStates} and {@linkcode showSls} need. */
export interface ApplyOptions extends StateEnv {
  refs: string[];
  test: boolean;
  /**
   * Whether a text holds a secret of the peel: a state whose id or name does is refused, since
   * those label it in returns, logs, the broker's audit log and process lists.
   */
  holdsSecret?: (text: string) => boolean;
}

/**
 * A renderer over `tree`'s files whose templates run commands and read host files through
 * `broker` (without one, those fail) and basket entries with `basket`; the run ends with the
 * returned object's `using` scope (the process's template worker stays for the next).
 */
export function treeRenderer(
  tree: StateTree,
  broker?: Broker,
  basket?: TemplateHost["basket"],
): TemplateRenderer {
  return new TemplateRenderer(() => tree.files(), {
    host: broker && templateHost(broker, { basket }),
  });
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

/**
 * The host state functions run against, for `state.apply` and for a state function called
 * directly alike: modules acting through the broker, `source:` files read from the tree,
 * `template: jinja` rendered by `renderer` with the same context as the SLS files (and the
 * state's `context` and `defaults`), `contents_pillar` from the settings, and guards in Salt's
 * `fun:` form called as templates call Salt's functions.
 */
export function treeStateHost(env: StateEnv, renderer: TemplateRenderer): RunHost {
  const { context } = env;
  return stateHost({
    broker: env.broker,
    facts: context.facts,
    tree: env.tree,
    render: (text, file, extra) => renderer.render(text, file, { ...context, ...extra }),
    setting: (key) => lookupKey(context.settings, key, undefined),
    evaluate: (fun, args, kwargs) => evaluate(renderer, context, fun, args, kwargs),
  });
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

/**
 * Render and compile `refs` into the states that would run, in plan order; templates that run
 * commands or read host files do so through `broker` (without it, they fail).
 */
export async function showSls(opts: Omit<ApplyOptions, "broker" | "test"> & { broker?: Broker }) {
  using renderer = treeRenderer(opts.tree, opts.broker, opts.basket);
  const p = plan(compile(await loadTree(opts.refs, slsLoader(opts.tree, opts.context, renderer))));
  return p.order.map((i) => p.chunks[i]!);
}

/** Apply `refs`; resolves to each state's result in run order and a summary. */
export async function applyStates(
  opts: ApplyOptions,
): Promise<{ states: StateResult[]; summary: Summary }> {
  using renderer = treeRenderer(opts.tree, opts.broker, opts.basket);
  const p = plan(compile(await loadTree(opts.refs, slsLoader(opts.tree, opts.context, renderer))));
  for (const c of p.chunks) {
    if (opts.holdsSecret?.(c.id) || opts.holdsSecret?.(String(c.name))) {
      throw new StateError(
        `A state of SLS "${c.sls}" (${c.module}.${c.fun}) has a secret in its id or name, which returns and logs show: pass secrets in arguments such as contents or env`,
      );
    }
  }
  const states = await runPlan(p, { test: opts.test, host: treeStateHost(opts, renderer) });
  return { states, summary: summarize(states) };
}
