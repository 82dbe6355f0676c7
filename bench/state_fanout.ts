/**
 * state_fanout: `state.apply` of a 20-state tree of `test.*` states written in Jinja, published
 * through the master's `state-files`, to N simulated peels, against `test.ping` to the same peels
 * in the same run (1,000 peels by default). Each simulated peel runs the peel's own state pipeline
 * (its mirror of the tree, the templates rendered by the process's template worker, compile, plan,
 * the `test` module); what is simulated is the host: a fleet process's peels share its mirror, its
 * template worker and its CPU, where each real peel has its own.
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, openBucket } from "../lib/bus/mod.ts";
import { runJob } from "../cli/commands/run.ts";
import { startFleet } from "./fleet.ts";
import { median } from "./stats.ts";

const PARTS = 4;
const PER_PART = 5;

/** The tree: `fanout/init.zy` includes four parts of five templated states each. */
export function fanoutTree(): Record<string, string> {
  const files: Record<string, string> = {
    "fanout/init.zy": `include:\n${
      Array.from({ length: PARTS }, (_, p) => `  - fanout.part${p}`).join("\n")
    }\n`,
  };
  for (let p = 0; p < PARTS; p++) {
    files[`fanout/part${p}.zy`] = [
      `{% set family = grains['os_family'] | lower %}`,
      `{% for i in range(${PER_PART}) %}`,
      `part${p}-{{ i }}:`,
      `  test.configurable_test_state:`,
      `    - name: "{{ grains['id'] }}-${p}-{{ i }}"`,
      `    - changes: {{ (i % 2 == 0) | string }}`,
      `    - comment: "{{ family }} {{ facts.role | default('none') }} {{ i * ${p + 1} }}"`,
      `{% if i > 0 %}    - require:`,
      `      - test: part${p}-{{ i - 1 }}{% endif %}`,
      `{% endfor %}`,
      "",
    ].join("\n");
  }
  return files;
}

async function published(nc: NatsConnection, paths: string[], timeoutMs = 30_000) {
  const kv = await openBucket(nc, BUCKETS.stateFiles);
  const until = Date.now() + timeoutMs;
  for (const path of paths) {
    while (!(await kv.get(path))?.value.length) {
      if (Date.now() > until) throw new Error(`state_fanout: "${path}" was not published`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function job(nc: NatsConnection, tgt: string, fun: string, words: string[], n: number) {
  const t0 = performance.now();
  const o = await runJob(nc, {
    tgt,
    tgtType: "glob",
    fun,
    words,
    waitMs: 600_000,
    jobTimeoutMs: 600_000,
    user: "bench",
  });
  const ms = performance.now() - t0;
  const ok = [...o.returns.values()].filter((r) => {
    if (!r.success) return false;
    if (fun === "test.ping") return r.result === true;
    return (r.result as { states?: unknown[] }).states?.length === PARTS * PER_PART;
  }).length;
  return { ms, lost: n - ok };
}

/**
 * Measure `state.apply fanout` and `test.ping` to `peels` simulated peels, `runs` times each
 * after one unmeasured run of each; the master's `statesDir` receives the tree.
 */
export async function stateFanout(
  nc: NatsConnection,
  natsUrl: string,
  statesDir: string,
  peels: number,
  runs: number,
  processes: number,
) {
  const tree = fanoutTree();
  for (const [path, text] of Object.entries(tree)) {
    await Deno.mkdir(`${statesDir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${statesDir}/${path}`, text);
  }
  await published(nc, Object.keys(tree));
  const mirrors = await Deno.makeTempDir({ prefix: "zester-bench-states-" });
  try {
    const prefix = "sf-";
    await using _fleet = await startFleet({
      natsUrl,
      peels,
      prefix,
      processes,
      statesDir: mirrors,
    });
    const apply: number[] = [];
    const ping: number[] = [];
    let lost = 0;
    for (let i = 0; i <= runs; i++) {
      const a = await job(nc, `${prefix}*`, "state.apply", ["fanout"], peels);
      const p = await job(nc, `${prefix}*`, "test.ping", [], peels);
      if (i === 0) continue;
      apply.push(a.ms);
      ping.push(p.ms);
      lost += a.lost + p.lost;
    }
    const am = median(apply);
    const pm = median(ping);
    return {
      peels,
      states: PARTS * PER_PART,
      state_apply_ms: Math.round(am),
      ping_ms: Math.round(pm),
      ratio: Math.round(am / pm * 10) / 10,
      runs,
      lost,
    };
  } finally {
    await Deno.remove(mirrors, { recursive: true }).catch(() => {});
  }
}
