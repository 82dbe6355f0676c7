/**
 * `zester call --local <function> [args…] --file-root DIR [--facts FILE] [--settings FILE]
 * [--policy FILE] [--launcher FILE] [--test]`: the state pipeline (render, plan, modules,
 * broker) on this machine without NATS, as `salt-call --local` does, inside the peel's walls:
 * the CLI may run nothing but the broker's launcher, and the broker enforces its policy.
 * @module
 */
import { parse } from "yaml";
import { DEFAULT_LAUNCHER, loadConfig, PeelConfig } from "../../lib/config/mod.ts";
import { isPlainObject } from "../../lib/schema/mod.ts";
import type { StateResult, Summary } from "../../lib/state/mod.ts";
import { BrokerClient } from "../../peel/broker/mod.ts";
import { applyStates, dirTree, showSls } from "../../peel/state_apply.ts";
import { topRefs } from "../../peel/functions/state.ts";
import { Logger } from "../../lib/log/mod.ts";
import { parseFunctionArgs } from "../args.ts";
import { type Format, isText, serialize, stateBlock } from "../output/mod.ts";

/** Options of a local call. */
export interface CallOptions {
  fun: string;
  words: string[];
  fileRoot: string;
  facts?: string;
  settings?: string;
  /** The policy file the broker must enforce (`/etc/zester/peel.yaml` when not given). */
  policy: string;
  /** The broker's launcher; default: the policy's `broker.launcher`, else the installed one. */
  launcher?: string;
  test: boolean;
}

/** The launcher `policy` names, or the installed one when the policy cannot be read. */
async function launcherOf(policy: string): Promise<string> {
  try {
    return (await loadConfig(policy, PeelConfig)).broker.launcher;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return DEFAULT_LAUNCHER;
    throw e;
  }
}

async function yamlMap(path: string | undefined, what: string): Promise<Record<string, unknown>> {
  if (!path) return {};
  if ((await Deno.stat(path)).isDirectory) {
    // A settings root: every top-level .zy/.sls/.yaml file, merged (full top.zy rendering and
    // deep merge come with the settings milestone).
    const out: Record<string, unknown> = {};
    for (const e of [...Deno.readDirSync(path)].sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isFile && /\.(zy|sls|ya?ml)$/.test(e.name)) {
        Object.assign(out, await yamlMap(`${path}/${e.name}`, what));
      }
    }
    return out;
  }
  const v = parse(await Deno.readTextFile(path)) ?? {};
  if (!isPlainObject(v)) throw new TypeError(`Invalid ${what} "${path}": expected a mapping`);
  return v;
}

/** Run one function locally; resolves to `{ states, summary }` or the compiled states. */
export async function callLocal(opts: CallOptions): Promise<
  { states: StateResult[]; summary: Summary } | { compiled: unknown }
> {
  const { args, kwargs } = parseFunctionArgs(opts.words);
  const refs = args.flatMap((a) => String(a).split(",")).map((r) => r.trim()).filter(Boolean);
  const facts = { id: "local", ...await yamlMap(opts.facts, "facts file") };
  const context = {
    peelId: "local",
    facts,
    settings: await yamlMap(opts.settings, "settings file"),
  };
  const tree = dirTree(opts.fileRoot);
  if (opts.fun === "state.show_sls") return { compiled: await showSls({ refs, tree, context }) };
  if (!["state.apply", "state.sls", "state.highstate"].includes(opts.fun)) {
    throw new TypeError(
      `call --local runs state.apply, state.sls, state.highstate and state.show_sls, not "${opts.fun}"`,
    );
  }
  // No SLS named (or a highstate): what the top file assigns to this machine.
  if (refs.length === 0 || opts.fun === "state.highstate") {
    refs.splice(0, refs.length, ...topRefs(tree, "local", facts));
  }
  const broker = new BrokerClient({
    launcher: opts.launcher ?? await launcherOf(opts.policy),
    args: ["--expect-policy", opts.policy],
    idleTimeoutMs: 60_000,
    log: new Logger({ level: "error" }),
  });
  try {
    const test = opts.test || kwargs.test === true;
    return await applyStates({ refs, tree, context, broker, test });
  } finally {
    await broker.close();
  }
}

/** Render a state run for people or programs, keyed by peel id (`local` here). */
export function renderStates(
  id: string,
  run: { states: StateResult[]; summary: Summary },
  format: Format,
): string {
  if (!isText(format)) return serialize({ [id]: run }, format);
  return `${id}:\n${stateBlock(run)}`;
}
