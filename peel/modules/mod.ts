/**
 * The state modules a peel (or `zester call --local`) runs, bound to its broker, as the
 * runner's host.
 * @module
 */
import type { RunHost, StateFunction } from "../../lib/state/mod.ts";
import type { Broker } from "../functions/mod.ts";
import { cmdStates, shell } from "./cmd.ts";
import { type FileDeps, fileStates } from "./file.ts";
import { testStates } from "./test.ts";

export { parseMode } from "./file.ts";
export { unifiedDiff } from "./diff.ts";

/** Everything the state modules use. */
export type ModuleDeps = FileDeps;

/** A runner host: state functions by name, guards through the broker. */
export function stateHost(deps: ModuleDeps): RunHost {
  const modules: Record<string, Record<string, StateFunction>> = {
    test: testStates,
    file: fileStates(deps),
    cmd: cmdStates(deps.broker),
  };
  const b: Broker = deps.broker;
  return {
    fn: (name) => {
      const [m, f] = name.split(".");
      return modules[m!]?.[f!];
    },
    // A fired `watch` runs a `cmd.wait` (Salt's mod_watch); other modules have no reaction yet.
    watchFn: (c) => c.module === "cmd" && c.fun === "wait" ? modules.cmd!.run : undefined,
    guard: async (cmd) => (await shell(b, cmd)).retcode,
    exists: async (path) => ((await b.request("stat", { path })) as { exists: boolean }).exists,
  };
}
