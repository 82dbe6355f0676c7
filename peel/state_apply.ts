/**
 * The state pipeline shared by the peel and `zester call --local`: find SLS files in a state
 * tree, render them, compile, plan and run them against the state modules and the broker.
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
import { makeRenderer, type TemplateContext } from "../lib/template/mod.ts";
import type { Broker } from "./functions/mod.ts";
import { slsPaths, type StateTree } from "./state_tree.ts";

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

function loader(tree: StateTree, context: TemplateContext) {
  const render = makeRenderer((p) => tree.read(p));
  return {
    render,
    load: async (ref: string) => {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(ref)) {
        throw new StateError(`Invalid SLS reference "${ref}"`);
      }
      for (const path of slsPaths(ref)) {
        const text = tree.read(path);
        if (text !== undefined) return parseSls(await render(text, path, context), ref, path);
      }
      throw new StateError(
        `No SLS "${ref}" in the state tree (looked for ${slsPaths(ref).join(", ")})`,
      );
    },
  };
}

/** Render and compile `refs` into the states that would run, in plan order. */
export async function showSls(opts: Omit<ApplyOptions, "broker" | "test">) {
  const { load } = loader(opts.tree, opts.context);
  const p = plan(compile(await loadTree(opts.refs, load)));
  return p.levels.flat().map((i) => p.chunks[i]!);
}

/** Apply `refs`; resolves to each state's result in run order and a summary. */
export async function applyStates(
  opts: ApplyOptions,
): Promise<{ states: StateResult[]; summary: Summary }> {
  const { load, render } = loader(opts.tree, opts.context);
  const p = plan(compile(await loadTree(opts.refs, load)));
  const host = stateHost({
    broker: opts.broker,
    facts: opts.context.facts,
    tree: opts.tree,
    render: (text, file) => render(text, file, opts.context),
  });
  const states = await runPlan(p, { test: opts.test, host });
  return { states, summary: summarize(states) };
}
