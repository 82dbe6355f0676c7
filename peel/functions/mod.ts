/**
 * The execution functions a peel answers, by name.
 * @module
 */
import type { ExecFunction } from "./context.ts";
import * as cmd from "./cmd.ts";
import * as facts from "./facts.ts";
import * as mine from "./mine.ts";
import * as network from "./network.ts";
import * as pkg from "./pkg.ts";
import * as schedule from "./schedule.ts";
import * as service from "./service.ts";
import * as settings from "./settings.ts";
import * as test from "./test.ts";
/**
 * State functions load the state pipeline (templates, modules) on first use, so a peel that
 * only answers pings and commands does not carry it in memory.
 */
function lazyState(name: "stateApply" | "stateHighstate" | "stateShowSls"): ExecFunction {
  return async (ctx, args, kwargs) => (await import("./state.ts"))[name](ctx, args, kwargs);
}

/** A function of `introspect.ts`, loaded on first use (it needs the modules and the pipeline). */
function lazyIntrospect(
  name: "doc" | "listFunctions" | "listStateFunctions" | "single" | "showTop" | "showLowstate",
): ExecFunction {
  return async (ctx, args, kwargs) => (await import("./introspect.ts"))[name](ctx, args, kwargs);
}

export * from "./context.ts";

/**
 * Every function, by its full name; Salt's `grains.*` names are aliases of `facts.*`, its
 * `pillar.*` names of `settings.*`.
 */
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
  ["grains.item", facts.item],
  ["network.ip_addrs", network.ipAddrs4],
  ["network.ip_addrs6", network.ipAddrs6],
  ...["mine", "basket"].flatMap((m): [string, ExecFunction][] => [
    [`${m}.get`, mine.get],
    [`${m}.update`, mine.update],
    [`${m}.send`, mine.send],
    [`${m}.delete`, mine.remove],
    [`${m}.flush`, mine.flush],
  ]),
  ["settings.items", settings.items],
  ["settings.get", settings.get],
  ["settings.keys", settings.keys],
  ["settings.refresh", settings.refresh],
  ["pillar.items", settings.items],
  ["pillar.get", settings.get],
  ["pillar.item", settings.item],
  ["pillar.keys", settings.keys],
  ["pillar.ls", settings.keys],
  ["pillar.raw", settings.raw],
  ["saltutil.refresh_pillar", settings.refresh],
  ["cmd.run", cmd.runCmd],
  ["cmd.run_all", cmd.runAll],
  ["pkg.version", pkg.version],
  ["pkg.latest_version", pkg.latestVersion],
  ["pkg.list_pkgs", pkg.listPkgs],
  ["pkg.refresh_db", pkg.refreshDb],
  ["service.status", service.status],
  ["service.available", service.available],
  ...["start", "stop", "restart", "reload", "enable", "disable"].map((
    v,
  ): [string, ExecFunction] => [`service.${v}`, service.serviceVerb(v)]),
  ["schedule.list", schedule.list],
  ["schedule.enable", schedule.setEnabled(true)],
  ["schedule.disable", schedule.setEnabled(false)],
  ["schedule.enable_job", schedule.setJobEnabled(true)],
  ["schedule.disable_job", schedule.setJobEnabled(false)],
  ["schedule.run_job", schedule.runJob],
  ["state.apply", lazyState("stateApply")],
  ["state.sls", lazyState("stateApply")],
  ["state.highstate", lazyState("stateHighstate")],
  ["state.show_sls", lazyState("stateShowSls")],
  ["state.show_top", lazyIntrospect("showTop")],
  ["state.show_lowstate", lazyIntrospect("showLowstate")],
  ["state.single", lazyIntrospect("single")],
  ["sys.doc", lazyIntrospect("doc")],
  ["sys.list_functions", lazyIntrospect("listFunctions")],
  ["sys.list_state_functions", lazyIntrospect("listStateFunctions")],
]);

/** A state function called directly (`file.touch /x`), loaded on first use. */
export function stateSingle(fun: string): ExecFunction {
  return async (ctx, args, kwargs) =>
    (await import("./state.ts")).stateSingle(fun)(ctx, args, kwargs);
}
