/**
 * states: compile + plan time of a 1,000-state tree, and applying 200 `file.managed` states under
 * `zester call --local` (through a real broker), first run and idempotent second run.
 * @module
 */
import { stringify } from "yaml";
import { compile, loadTree, parseSls, plan } from "../lib/state/mod.ts";
import { runCall } from "../deploy/dev/cli.ts";
import { median } from "./stats.ts";

const r2 = (x: number) => Math.round(x * 100) / 100;

/** An SLS of `n` states with requisites between neighbours, split across 10 included files. */
function tree(n: number): Record<string, string> {
  const files: Record<string, string> = {
    main: `include:\n${Array.from({ length: 10 }, (_, f) => `  - part${f}`).join("\n")}\n`,
  };
  for (let f = 0; f < 10; f++) {
    const lines: string[] = [];
    for (let i = f * (n / 10); i < (f + 1) * (n / 10); i++) {
      lines.push(`s${i}:`, "  test.succeed_without_changes:");
      if (i % 10) lines.push("    - require:", `      - test: s${i - 1}`);
      if (i % 7 === 0) lines.push("    - order: 10");
    }
    files[`part${f}`] = lines.join("\n") + "\n";
  }
  return files;
}

async function callLocal(args: string[]): Promise<{ ms: number; changed: number; failed: number }> {
  const t0 = performance.now();
  const out = await runCall([...args, "--format", "json"]);
  const ms = performance.now() - t0;
  if (out.code > 1) throw new Error(`zester call failed: ${out.stderr}`);
  const run = JSON.parse(out.stdout).local;
  return { ms, changed: run.summary.changed, failed: run.summary.failed };
}

/** Measure the state pipeline. */
export async function statesBench(runs = 5) {
  const files = tree(1000);
  const compileTimes: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t0 = performance.now();
    const p = plan(
      compile(
        await loadTree(["main"], (ref) => Promise.resolve(parseSls(files[ref]!, ref, `${ref}.zy`))),
      ),
    );
    if (p.chunks.length !== 1000) throw new Error(`compiled ${p.chunks.length} states`);
    if (i > 0) compileTimes.push(performance.now() - t0);
  }
  const dir = await Deno.makeTempDir({ prefix: "zester-bench-states-" });
  try {
    await Deno.mkdir(`${dir}/tree`);
    await Deno.mkdir(`${dir}/root`);
    const sls = Array.from(
      { length: 200 },
      (_, i) =>
        `f${i}:\n  file.managed:\n    - name: ${dir}/root/f${i}.conf\n    - content: "value {{ ${i} * 2 }}"\n    - mode: "0644"\n`,
    ).join("");
    await Deno.writeTextFile(`${dir}/tree/many.zy`, sls);
    await Deno.writeTextFile(
      `${dir}/policy.yaml`,
      stringify({
        id: "bench",
        broker: { audit_log: `${dir}/audit.log`, write_paths: [`${dir}/root`] },
      }),
    );
    const args = [
      "state.apply",
      "many",
      "--file-root",
      `${dir}/tree`,
      "--policy",
      `${dir}/policy.yaml`,
    ];
    const first = await callLocal(args);
    const second = await callLocal(args);
    if (first.failed || second.failed || first.changed !== 200 || second.changed !== 0) {
      throw new Error(`unexpected apply results: ${JSON.stringify({ first, second })}`);
    }
    return {
      compile_plan_1000_states_ms: r2(median(compileTimes)),
      apply_200_file_managed_first_ms: Math.round(first.ms),
      apply_200_file_managed_second_ms: Math.round(second.ms),
      note: "apply times are whole `zester call --local` runs, process and broker start included",
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
