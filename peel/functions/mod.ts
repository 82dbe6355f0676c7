/**
 * The execution functions a peel answers, by name.
 * @module
 */
import type { ExecFunction } from "./context.ts";
import * as cmd from "./cmd.ts";
import * as facts from "./facts.ts";
import * as test from "./test.ts";
import { stateApply, stateHighstate, stateShowSls } from "./state.ts";

export * from "./context.ts";
export { lookup as lookupFact } from "./facts.ts";
export { VERSION } from "./test.ts";

/** Every function, by its full name; Salt's `grains.*` names are aliases of `facts.*`. */
export const FUNCTIONS: ReadonlyMap<string, ExecFunction> = new Map([
  ["test.ping", test.ping],
  ["test.echo", test.echo],
  ["test.sleep", test.sleep],
  ["test.version", test.version],
  ["facts.items", facts.items],
  ["facts.get", facts.get],
  ["facts.keys", facts.keys],
  ["grains.items", facts.items],
  ["grains.get", facts.get],
  ["grains.ls", facts.keys],
  ["cmd.run", cmd.runCmd],
  ["cmd.run_all", cmd.runAll],
  ["state.apply", stateApply],
  ["state.sls", stateApply],
  ["state.highstate", stateHighstate],
  ["state.show_sls", stateShowSls],
]);

export { stateSingle } from "./state.ts";
