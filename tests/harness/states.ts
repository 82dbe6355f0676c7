/**
 * State modules against a real broker: a temp root with a policy, a launcher and an audit log,
 * a state tree, and the checks every module must pass (test mode predicts the first run's
 * changes and changes nothing; the second run changes nothing).
 * @module
 */
import assert from "node:assert/strict";
import { type Chunk, plan, runPlan, type StateResult } from "../../lib/state/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { BrokerClient } from "../../peel/broker/mod.ts";
import { stateHost } from "../../peel/modules/mod.ts";
import { dirTree } from "../../peel/state/mod.ts";
import { TemplateRenderer } from "../../lib/template/mod.ts";
import { devBrokerPolicy, writeDevLauncher, writeYaml } from "../../deploy/dev/fleet.ts";

/** A broker and state host over temp dir `base`: files in `<base>/files`, tree in `<base>/tree`. */
export interface StateBench {
  base: string;
  files: string;
  tree: string;
  broker: BrokerClient;
  /** Apply one state function, as a peel would. */
  apply(fn: string, name: string, args?: Record<string, unknown>, test?: boolean): Promise<
    StateResult
  >;
  /** The broker's audit records. */
  audit(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * Start a bench: the development policy (files under `<base>/files`, no shell) with `policy`
 * entries on top, and `facts` for the modules.
 */
export async function stateBench(
  base: string,
  policy: Record<string, unknown> = {},
  facts: Record<string, unknown> = { os: { family: "debian" } },
): Promise<StateBench> {
  const files = `${base}/files`;
  const tree = `${base}/tree`;
  await Deno.mkdir(files, { recursive: true });
  await Deno.mkdir(tree, { recursive: true });
  await writeYaml(`${base}/peel.yaml`, {
    id: "bench",
    broker: { ...devBrokerPolicy(base), cmd_run: "deny", ...policy },
  });
  const launcher = await writeDevLauncher(`${base}/zester-broker`, `${base}/peel.yaml`);
  const broker = new BrokerClient({
    launcher,
    idleTimeoutMs: 60_000,
    log: new Logger({ level: "error", sink: () => {} }),
  });
  const states = dirTree(tree);
  const renderer = new TemplateRenderer(() => states.files());
  const context = { peelId: "bench", facts, settings: {} };
  const host = stateHost({
    broker,
    facts,
    tree: states,
    render: (text, file) => renderer.render(text, file, context),
  });
  return {
    base,
    files,
    tree,
    broker,
    async apply(fn, name, args = {}, test = false) {
      const [module, fun] = fn.split(".");
      const c: Chunk = {
        id: name,
        sls: "t",
        module: module!,
        fun: fun!,
        name,
        args,
        requisites: {},
        index: 0,
      };
      return (await runPlan(plan([c]), { test, host }))[0]!;
    },
    async audit() {
      const text = await Deno.readTextFile(`${base}/broker-audit.log`).catch(() => "");
      return text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    },
    close: () => {
      renderer.close();
      return broker.close();
    },
  };
}

/** Every file, directory and link under `dir`: mode and content (or link target). */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      const st = await Deno.lstat(p);
      const mode = (st.mode! & 0o7777).toString(8);
      out[p] = e.isSymlink
        ? `link ${await Deno.readLink(p)}`
        : e.isDirectory
        ? `dir ${mode} ${st.uid}:${st.gid}`
        : `${mode} ${st.uid}:${st.gid} ${await Deno.readTextFile(p)}`;
      if (e.isDirectory) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

/**
 * The contract of a state: in test mode it predicts changes (`result: null`) and `watched`
 * stays as it was; the first run makes exactly the predicted changes; a second run makes none.
 * Resolves to the first run's result.
 */
export async function converges(
  bench: StateBench,
  fn: string,
  name: string,
  args: Record<string, unknown> = {},
  watched: () => Promise<unknown> = () => snapshot(bench.files),
): Promise<StateResult> {
  const before = await watched();
  const dry = await bench.apply(fn, name, args, true);
  assert.equal(dry.result, null, `${fn} ${name} in test mode: ${dry.comment}`);
  assert.notDeepEqual(dry.changes, {}, `${fn} ${name} predicts changes`);
  assert.deepEqual(await watched(), before, `${fn} ${name}: test mode changed nothing`);
  const first = await bench.apply(fn, name, args);
  assert.equal(first.result, true, `${fn} ${name}: ${first.comment}`);
  assert.deepEqual(first.changes, dry.changes, `${fn} ${name}: test mode predicted the changes`);
  const second = await bench.apply(fn, name, args);
  assert.equal(second.result, true, `${fn} ${name} again: ${second.comment}`);
  assert.deepEqual(second.changes, {}, `${fn} ${name}: the second run changes nothing`);
  return first;
}

/** Assert that `fn` with `args` fails naming `argument`, and changed nothing. */
export async function refusesArgument(
  bench: StateBench,
  fn: string,
  name: string,
  args: Record<string, unknown>,
  argument: string,
): Promise<void> {
  const before = await snapshot(bench.files);
  const r = await bench.apply(fn, name, args);
  assert.equal(r.result, false, `${fn} with bad ${argument}`);
  assert.match(r.comment, new RegExp(`argument "${argument}"`), r.comment);
  assert.deepEqual(await snapshot(bench.files), before);
}

/** Each operation has one outcome, after at most one intent; an allowed one has its intent. */
export async function auditPaired(b: StateBench, ops: string[]): Promise<void> {
  const records = await b.audit();
  const by = new Map<string, string[]>();
  for (const r of records) {
    const k = `${r.pid}:${r.id}`;
    by.set(k, [...by.get(k) ?? [], `${r.op} ${r.phase} ${r.decision}`]);
  }
  for (const [k, phases] of by) {
    const done = phases.filter((p) => p.includes(" done "));
    assert.equal(done.length, 1, `${k}: one outcome: ${phases}`);
    assert.ok(phases.length <= 2 && phases.at(-1) === done[0], `${k}: intent first: ${phases}`);
    if (done[0]!.endsWith("allow")) assert.equal(phases.length, 2, `${k}: intent: ${phases}`);
  }
  const seen = new Set(records.filter((r) => r.phase === "intent").map((r) => r.op));
  for (const op of ops) assert.ok(seen.has(op), `audit has ${op}`);
}
