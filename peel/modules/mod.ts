/**
 * The state modules a peel (or `zester call --local`) runs, bound to its broker, as the
 * runner's host.
 * @module
 */
import type { RunHost, StateFunction } from "../../lib/state/mod.ts";
import type { Broker, Manager } from "../broker/mod.ts";
import { cmdStates, shell } from "./cmd.ts";
import { type FileDeps, fileStates } from "./file.ts";
import { testStates } from "./test.ts";
import { chooseManager, managers, pkgStates } from "./pkg.ts";
import { serviceStates, serviceWatch } from "./service.ts";
import { pkgrepoStates } from "./pkgrepo.ts";
import { groupStates, userStates } from "./user.ts";
import { sshAuthStates } from "./ssh_auth.ts";
import { sshKnownHostsStates } from "./ssh_known_hosts.ts";
import { cronStates } from "./cron.ts";
import { systemStates } from "./system.ts";
import { checkArguments } from "./arguments.ts";
import { archiveStates } from "./archive.ts";
import { gitStates } from "./git.ts";
import { gitConfigStates } from "./git_config.ts";
import { pipStates } from "./pip.ts";

export { unifiedDiff } from "./diff.ts";

/** Everything the state modules use. */
export interface ModuleDeps extends FileDeps {
  /** The peel's facts (the package manager is chosen from `os.family`). */
  facts?: Record<string, unknown>;
  /**
   * Call a Salt function as templates call it (`file.file_exists`, `cmd.retcode`…), for guards
   * given in Salt's function form; resolves to its result.
   */
  evaluate?(fun: string, args: unknown[], kwargs: Record<string, unknown>): Promise<unknown>;
}

/** Python's truth value of a function's result. */
function truthy(v: unknown): boolean {
  if (Array.isArray(v) || typeof v === "string") return v.length > 0;
  if (v && typeof v === "object") return Object.keys(v).length > 0;
  return !!v;
}

/**
 * `module.run`: call other state functions by name, in both of Salt's forms —
 * `- name: file.touch` with arguments beside it, or `- file.touch: [{name: /x}]`.
 */
function moduleRun(modules: Record<string, Record<string, StateFunction>>): StateFunction {
  const find = (name: string) => {
    const [m, f] = name.split(".");
    return modules[m!]?.[f!];
  };
  return async (c, ctx) => {
    const calls: [string, Record<string, unknown>][] = [];
    if (find(c.name)) calls.push([c.name, c.args]);
    else {
      for (const [k, v] of Object.entries(c.args)) {
        if (!find(k)) continue;
        const args: Record<string, unknown> = {};
        for (const a of Array.isArray(v) ? v : []) {
          if (a && typeof a === "object") Object.assign(args, a);
        }
        calls.push([k, args]);
      }
    }
    if (calls.length === 0) {
      return {
        result: false,
        comment: `module.run: no known function in "${c.name}"`,
        changes: {},
      };
    }
    const changes: Record<string, unknown> = {};
    const comments: string[] = [];
    let result: boolean | null = true;
    for (const [name, args] of calls) {
      const [module, fun] = name.split(".");
      const o = await find(name)!({
        ...c,
        module: module!,
        fun: fun!,
        name: String(args.name ?? c.name),
        args,
      }, ctx);
      if (Object.keys(o.changes).length) changes[name] = o.changes;
      comments.push(`${name}: ${o.comment}`);
      if (o.result === false) result = false;
      else if (o.result === null && result !== false) result = null;
    }
    return { result, comment: comments.join("; "), changes };
  };
}

/** Every state module, by name, bound to `deps`. */
function stateModules(deps: ModuleDeps): Record<string, Record<string, StateFunction>> {
  const b: Broker = deps.broker;
  let manager: Promise<Manager> | undefined;
  const pm = () => manager ??= chooseManager(deps.facts ?? {}, () => managers(b));
  const modules: Record<string, Record<string, StateFunction>> = {
    test: testStates,
    file: fileStates(deps),
    cmd: cmdStates(b),
    pkg: pkgStates(b, pm),
    pkgrepo: pkgrepoStates(deps, pm),
    service: serviceStates(b),
    user: userStates(b),
    group: groupStates(b),
    ssh_auth: sshAuthStates(b, deps),
    ssh_known_hosts: sshKnownHostsStates(b),
    cron: cronStates(b),
    archive: archiveStates(deps),
    git: { ...gitStates(b), ...gitConfigStates(b) },
    pip: pipStates(deps),
    ...systemStates(b, deps.facts ?? {}),
  };
  modules.module = { run: moduleRun(modules) };
  return modules;
}

/** The names of every state function (`file.managed`…), sorted. */
export function stateFunctionNames(deps: ModuleDeps): string[] {
  return Object.entries(stateModules(deps))
    .flatMap(([m, fns]) => Object.keys(fns).map((f) => `${m}.${f}`))
    .sort();
}

/** A runner host: state functions by name, guards through the broker. */
export function stateHost(deps: ModuleDeps): RunHost {
  const b: Broker = deps.broker;
  const modules = stateModules(deps);
  const watchers: Record<string, StateFunction> = { service: serviceWatch(b) };
  const exists = async (path: string) =>
    ((await b.request("stat", { path })) as { exists: boolean }).exists;
  return {
    fn: (name) => {
      const [m, f] = name.split(".");
      const fns = Object.hasOwn(modules, m!) ? modules[m!]! : {};
      const fn = Object.hasOwn(fns, f!) ? fns[f!] : undefined;
      return fn && checkArguments(name, fn);
    },
    // A fired `watch` runs a `cmd.wait` and restarts a `service.running` (Salt's mod_watch).
    watchFn: (c) => c.module === "cmd" && c.fun === "wait" ? modules.cmd!.run : watchers[c.module],
    guard: async (cmd) => (await shell(b, cmd)).retcode,
    check: deps.evaluate &&
      (async (fun, { args, ...kwargs }) =>
        truthy(await deps.evaluate!(fun, Array.isArray(args) ? args : [], kwargs))),
    exists,
  };
}
