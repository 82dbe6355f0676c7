/**
 * `zester call --local <function> [args…] --file-root DIR [--facts FILE] [--settings-root DIR]
 * [--policy FILE] [--launcher FILE] [--test]`: the state pipeline (render, plan, modules,
 * broker) on this machine without NATS, as `salt-call --local` does, inside the peel's walls:
 * the CLI may run nothing but the broker's launcher, and the broker enforces its policy. Facts
 * are collected from this machine as a peel collects them, with `--facts` merged over them.
 * @module
 */
import { DEFAULT_LAUNCHER, loadConfig, PeelPolicyFile } from "../../lib/config/mod.ts";
import { type Infer, isPlainObject } from "../../lib/schema/mod.ts";
import type { StateResult, Summary } from "../../lib/state/mod.ts";
import { compileSettings, inlineSettings } from "../../lib/settings/mod.ts";
import { saltMerge, type TemplateContext } from "../../lib/template/mod.ts";
import { loadYaml, YamlError } from "../../lib/yaml/mod.ts";
import { BrokerClient } from "../../peel/broker/mod.ts";
import { collectFacts, type SysInfo } from "../../peel/facts/mod.ts";
import { applyStates, dirTree, showSls, templateHost, topRefs } from "../../peel/state/mod.ts";
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

/** The peel config at `policy` (the launcher and custom facts file), or none when it is absent. */
async function peelConfig(policy: string): Promise<Infer<typeof PeelPolicyFile> | undefined> {
  try {
    return await loadConfig(policy, PeelPolicyFile);
  } catch (e) {
    if ((e as Error).cause instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Read a YAML file as Salt reads YAML; bad YAML names the file and line. */
async function yamlFile(path: string, what: string): Promise<Record<string, unknown>> {
  let v: unknown;
  try {
    v = loadYaml(await Deno.readTextFile(path)) ?? {};
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    throw new SyntaxError(
      `Cannot parse ${what} "${path}${e.line ? `:${e.line}` : ""}": ${e.reason}`,
    );
  }
  if (!isPlainObject(v)) throw new TypeError(`Invalid ${what} "${path}": expected a mapping`);
  return v;
}

/**
 * Settings from `path` as a peel compiles them (`lib/settings`): a settings tree with its top
 * file, or one file of plain settings; with the inline settings `inline` merged over them.
 */
async function readSettings(
  path: string | undefined,
  context: TemplateContext,
  broker: BrokerClient,
  inline: Record<string, unknown> | undefined,
): Promise<Record<string, unknown>> {
  if (!path) return inline ?? {};
  const isDir = (await Deno.stat(path)).isDirectory;
  const name = path.slice(path.lastIndexOf("/") + 1);
  return await compileSettings({
    files: isDir ? dirTree(path).files() : new Map([[name, await Deno.readTextFile(path)]]),
    only: isDir ? undefined : name,
    peelId: context.peelId,
    facts: context.facts,
    opts: context.opts,
    inline,
    host: templateHost(broker),
  });
}

/** The basket without NATS: empty, with a warning, as `salt-call --local`'s `mine.get`. */
function noBasket(tgt: string, name: string): Promise<Record<string, unknown>> {
  console.error(
    `zester: warning: the basket is not available with call --local; mine.get("${tgt}", "${name}") returns {}`,
  );
  return Promise.resolve({});
}

/** Run one function locally; resolves to `{ states, summary }` or the compiled states. */
export async function callLocal(opts: CallOptions): Promise<
  { states: StateResult[]; summary: Summary } | { compiled: unknown }
> {
  const { args, kwargs } = parseFunctionArgs(opts.words);
  const refs = args.flatMap((a) => String(a).split(",")).map((r) => r.trim()).filter(Boolean);
  if (!["state.apply", "state.sls", "state.highstate", "state.show_sls"].includes(opts.fun)) {
    throw new TypeError(
      `call --local runs state.apply, state.sls, state.highstate and state.show_sls, not "${opts.fun}"`,
    );
  }
  const config = await peelConfig(opts.policy);
  const broker = new BrokerClient({
    launcher: opts.launcher ?? config?.broker.launcher ?? DEFAULT_LAUNCHER,
    args: ["--expect-policy", opts.policy],
    idleTimeoutMs: 60_000,
    log: new Logger({ level: "error" }),
  });
  try {
    const collected = await collectFacts({
      peelId: "local",
      factsFile: config?.facts_file ?? "/etc/zester/facts",
      sysinfo: async () => await broker.request("sysinfo", {}, { timeoutMs: 10_000 }) as SysInfo,
    });
    const given = opts.facts ? await yamlFile(opts.facts, "facts file") : {};
    const facts = saltMerge(collected.facts, given) as Record<string, unknown>;
    const peelId = typeof facts.id === "string" ? facts.id : "local";
    const saltOpts = { id: peelId, __cli: "salt-call", file_client: "local" };
    const bare: TemplateContext = { peelId, facts, settings: {}, opts: saltOpts };
    const inline = inlineSettings(kwargs);
    const context = {
      ...bare,
      settings: await readSettings(opts.settings, bare, broker, inline),
    };
    const tree = dirTree(opts.fileRoot);
    if (opts.fun === "state.show_sls") {
      return { compiled: await showSls({ refs, tree, context, broker, basket: noBasket }) };
    }
    // No SLS named (or a highstate): what the top file assigns to this machine.
    if (refs.length === 0 || opts.fun === "state.highstate") {
      refs.splice(0, refs.length, ...topRefs(tree, peelId, facts));
    }
    const test = opts.test || kwargs.test === true;
    return await applyStates({ refs, tree, context, broker, basket: noBasket, test });
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
