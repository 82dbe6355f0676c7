/**
 * What a peel can do and would do: `sys.doc`, `sys.list_functions`,
 * `sys.list_state_functions`, and `state.single`, `state.show_top`,
 * `state.show_lowstate` over the mirrored state tree, with Salt's shapes.
 * @module
 */
import { showSls, stateFunctionNames, topRefs } from "../state/mod.ts";
import { FUNCTIONS } from "./mod.ts";
import { stateSingle, templateContext } from "./state.ts";
import { ArgumentError, type ExecContext, type ExecFunction, stringArg } from "./context.ts";

/** One line of usage for each execution function, as `sys.doc` shows it. */
export const DOCS: Readonly<Record<string, string>> = {
  "test.ping": "test.ping: True when the peel answers",
  "test.echo": "test.echo <text>: returns the text",
  "test.sleep": "test.sleep <seconds>: sleeps, then returns True",
  "test.version": "test.version: the peel's version",
  "facts.items": "facts.items: every fact",
  "facts.get": "facts.get <key> [default=…]: one fact (os:family or os.family)",
  "facts.keys": "facts.keys: the top-level fact names",
  "grains.items": "grains.items: every fact (Salt's name)",
  "grains.get": "grains.get <key> [default=…]: one fact (Salt's name)",
  "grains.ls": "grains.ls: the top-level fact names (Salt's name)",
  "grains.item": "grains.item <key>…: the named facts, as a map",
  "network.ip_addrs":
    "network.ip_addrs [interface] [include_loopback=False] [cidr=] [type=private|public]: IPv4 addresses",
  "network.ip_addrs6":
    "network.ip_addrs6 [interface] [include_loopback=False] [cidr=] [type=private|public]: IPv6 addresses",
  ...Object.fromEntries(["mine", "basket"].flatMap((m) => [
    [`${m}.get`, `${m}.get <tgt> <fun> [tgt_type=glob] [exclude_minion=False]: {peel_id: value}`],
    [`${m}.update`, `${m}.update: publish the basket functions of peel.yaml now`],
    [`${m}.send`, `${m}.send <name> [args…] [mine_function=<fun>]: run one function, publish it`],
    [`${m}.delete`, `${m}.delete <fun>: remove this peel's entry`],
    [`${m}.flush`, `${m}.flush: remove every entry of this peel`],
  ])),
  "settings.items": "settings.items: every setting this peel compiled",
  "settings.get":
    "settings.get <key> [default] [merge=True] [merge_nested_lists=True] [delimiter=:]: one setting",
  "settings.keys": "settings.keys [key]: the keys of the settings (under key)",
  "settings.refresh": "settings.refresh: compile the settings again now",
  "pillar.items": "pillar.items: every setting (Salt's name)",
  "pillar.get": "pillar.get <key> [default] [merge=True] …: one setting (Salt's name)",
  "pillar.item": "pillar.item <key>…: the named settings, as a map",
  "pillar.keys": "pillar.keys <key>: the keys of the settings under key",
  "pillar.ls": "pillar.ls: the top-level setting names",
  "pillar.raw": "pillar.raw [key]: every setting, or the one under key",
  "saltutil.refresh_pillar": "saltutil.refresh_pillar: compile the settings again now",
  "cmd.run": "cmd.run '<cmd>' [cwd=] [env=] [stdin=] [timeout=]: the command's output",
  "cmd.run_all": "cmd.run_all '<cmd>' [cwd=] [env=] [stdin=] [timeout=]: retcode, stdout, stderr",
  "pkg.version": 'pkg.version <name>…: the installed version ("" when not installed)',
  "pkg.latest_version": "pkg.latest_version <name>…: the version an upgrade would bring",
  "pkg.list_pkgs": "pkg.list_pkgs: installed packages and their versions",
  "pkg.refresh_db": "pkg.refresh_db: update the package lists",
  "service.status": "service.status <name>: whether the unit is active",
  "service.available": "service.available <name>: whether systemd knows the unit",
  "service.start": "service.start <name>: start the unit",
  "service.stop": "service.stop <name>: stop the unit",
  "service.restart": "service.restart <name>: restart the unit",
  "service.reload": "service.reload <name>: reload the unit",
  "service.enable": "service.enable <name>: enable the unit at boot",
  "service.disable": "service.disable <name>: disable the unit at boot",
  "schedule.list": "schedule.list: the schedule's entries, whether each runs, and when next",
  "schedule.enable": "schedule.enable: let scheduled jobs run (until the peel restarts)",
  "schedule.disable": "schedule.disable: run no scheduled job (until the peel restarts)",
  "schedule.enable_job": "schedule.enable_job <name>: let one entry run (until the peel restarts)",
  "schedule.disable_job": "schedule.disable_job <name>: stop one entry (until the peel restarts)",
  "schedule.run_job": "schedule.run_job <name> [force=True]: run an entry now; its JID",
  "state.apply":
    "state.apply [sls,…] [test=True] [pillar={…}]: the named SLS files, or the highstate",
  "state.sls": "state.sls <sls,…> [test=True]: the named SLS files",
  "state.highstate": "state.highstate [test=True]: what the top file assigns to this peel",
  "state.show_sls": "state.show_sls <sls>: the compiled states, without running them",
  "state.show_top": "state.show_top: the SLS files the top file assigns to this peel",
  "state.show_lowstate": "state.show_lowstate: the highstate's compiled states, in order",
  "state.single": "state.single <module.function> <name> [args…] [test=True]: one state",
  "sys.doc": "sys.doc [function or module…]: these lines",
  "sys.list_functions": "sys.list_functions [module or glob…]: the execution functions",
  "sys.list_state_functions": "sys.list_state_functions [module or glob…]: the state functions",
};

/** Whether `name` is selected by Salt-style filters: a module, a function, or a glob. */
function selected(name: string, filters: string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => {
    if (/[*?]/.test(f)) {
      const re = f.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
      return new RegExp(`^${re}$`).test(name);
    }
    return name === f || name.startsWith(`${f}.`);
  });
}

const filters = (args: unknown[]) => args.map(String);

/** `sys.list_functions [filter…]`: execution function names, sorted. */
export const listFunctions: ExecFunction = (_ctx, args) =>
  Promise.resolve({
    result: [...FUNCTIONS.keys()].filter((n) => selected(n, filters(args))).sort(),
  });

/** `sys.list_state_functions [filter…]`: state function names, sorted. */
export const listStateFunctions: ExecFunction = (ctx, args) =>
  Promise.resolve({
    result: stateFunctionNames({ broker: ctx.broker, render: (t) => Promise.resolve(t) })
      .filter((n) => selected(n, filters(args))),
  });

/** `sys.doc [filter…]`: usage of each execution function, by name. */
export const doc: ExecFunction = (_ctx, args) =>
  Promise.resolve({
    result: Object.fromEntries(
      [...FUNCTIONS.keys()].filter((n) => selected(n, filters(args))).sort().map((
        n,
      ) => [n, DOCS[n] ?? ""]),
    ),
  });

/** `state.single <module.function> <name> [args…]`: run one state function. */
export const single: ExecFunction = (ctx, args, kwargs) => {
  const { fun: _fun, ...rest } = kwargs;
  const fun = stringArg("state.single", args, kwargs, 0, "fun");
  if (!/^[a-z_]+\.[a-z_]+$/.test(fun)) {
    throw new ArgumentError(`state.single: "${fun}" is not a state function such as pkg.installed`);
  }
  return stateSingle(fun)(ctx, args.slice(1), rest);
};

function tree(ctx: ExecContext) {
  if (!ctx.states) throw new ArgumentError("This peel has no state tree yet");
  return ctx.states;
}

/** `state.show_top`: `{ base: [sls…] }` as the top file assigns them to this peel. */
export const showTop: ExecFunction = (ctx) =>
  Promise.resolve({ result: { base: topRefs(tree(ctx), ctx.peelId, ctx.facts()) } });

/** `state.show_lowstate`: the highstate's compiled states, in the order they would run. */
export const showLowstate: ExecFunction = async (ctx, _args, kwargs) => {
  const t = tree(ctx);
  const refs = topRefs(t, ctx.peelId, ctx.facts());
  const { context, warnings } = await templateContext(ctx, kwargs);
  return { result: await showSls({ refs, tree: t, context }), warnings };
};
