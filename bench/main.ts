/**
 * `deno task bench [name…] [--json] [--runs N] [--sizes 100,1000,5000,10000,20000]
 * [--secured-sizes 1000] [--processes K] [--profile DIR] [--state-peels N]`: runs the benchmarks on a fresh local
 * nats-server and master, writes BENCHMARKS.md, and with `--json` prints one JSON object
 * `{ "<name>": figures }` on stdout. `--profile` writes CPU profiles of the masters and the
 * simulated peels of the ping fan-outs under DIR (`master/`, `peels/`).
 * @module
 */
import { closeBus, connectBus } from "../lib/bus/mod.ts";
import { startMaster } from "../deploy/dev/fleet.ts";
import { startNatsServer } from "../deploy/dev/nats_server.ts";
import {
  brokerOverhead,
  cliStartup,
  factsIngest,
  jobRate,
  masterRss,
  peelIdleRss,
} from "./measures.ts";
import { stateFanout } from "./state_fanout.ts";
import { pingFanout, profileFlags } from "./ping_fanout.ts";
import { clusterFanout, PEELS_PER_SERVER } from "./cluster.ts";
import { connectSetup, securedFanout } from "./secured.ts";
import { targeting } from "./targeting.ts";
import { statesBench } from "./states.ts";
import { secretsReseal } from "./secrets.ts";
import { machine, writeReport } from "./report.ts";

const NAMES = [
  "ping_fanout",
  "ping_fanout_secured",
  "state_fanout",
  "job_rate",
  "facts_ingest",
  "master_rss",
  "peel_rss",
  "broker",
  "cli_startup",
  "targeting",
  "states",
  "secrets",
];

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<number> {
  const json = args.includes("--json");
  const runs = Number(option(args, "--runs") ?? 9);
  const sizes = (option(args, "--sizes") ?? "100,1000,5000,10000,20000").split(",").map(Number);
  const securedSizes = (option(args, "--secured-sizes") ?? "1000").split(",").map(Number);
  const processes = Number(option(args, "--processes") ?? 2);
  const statePeels = Number(option(args, "--state-peels") ?? 1000);
  const profileDir = option(args, "--profile");
  const profile = profileDir === undefined ? undefined : profileFlags(profileDir);
  const valued = new Set([
    "--runs",
    "--sizes",
    "--secured-sizes",
    "--processes",
    "--profile",
    "--state-peels",
  ]);
  const names = args.filter((a, i) => !a.startsWith("--") && !valued.has(args[i - 1] ?? ""));
  for (const n of names) {
    if (!NAMES.includes(n)) {
      console.error(`Unknown benchmark "${n}": expected one of ${NAMES.join(", ")}`);
      return 2;
    }
  }
  const chosen = names.length ? names : NAMES;
  const results: Record<string, unknown> = {};
  const dir = await Deno.makeTempDir({ prefix: "zester-bench-" });
  await using ns = await startNatsServer({ plain: true });
  try {
    await using master = await startMaster(`${dir}/master`, ns.url, {}, [], {
      denoFlags: profile?.master,
    });
    const nc = await connectBus({ servers: [ns.url], name: "zester-bench" });
    try {
      for (const name of chosen) {
        console.error(`bench: ${name}`);
        if (name === "ping_fanout") {
          const one = await pingFanout(
            nc,
            ns.url,
            sizes.filter((n) => n <= PEELS_PER_SERVER),
            runs,
            processes,
            { pids: { natsServer: [ns.pid], master: master.pid }, denoFlags: profile?.peels },
          );
          const large = sizes.filter((n) => n > PEELS_PER_SERVER);
          const two = large.length
            ? await clusterFanout(dir, large, runs, processes, profile)
            : { figures: [], cpu: [] };
          results[name] = [...one.figures, ...two.figures];
          results.ping_fanout_cpu = [...one.cpu, ...two.cpu];
        } else if (name === "ping_fanout_secured") {
          const { figures, cpu } = await securedFanout(
            dir,
            securedSizes,
            runs,
            processes,
            profile,
          );
          results[name] = figures;
          results.ping_fanout_secured_cpu = cpu;
          results.connect_setup = await connectSetup(dir, ns.url);
        } else if (name === "state_fanout") {
          results[name] = await stateFanout(
            nc,
            ns.url,
            `${dir}/master/states`,
            statePeels,
            Math.min(runs, 3),
            processes,
          );
        } else if (name === "job_rate") results[name] = await jobRate(nc, ns.url);
        else if (name === "facts_ingest") {
          results[name] = await factsIngest(nc, ns.url, 2000, processes);
        } else if (name === "master_rss") results[name] = await masterRss(ns.url);
        else if (name === "peel_rss") results[name] = await peelIdleRss(ns.url);
        else if (name === "broker") results[name] = await brokerOverhead(ns.url, nc);
        else if (name === "cli_startup") results[name] = await cliStartup(ns.url);
        else if (name === "targeting") results[name] = targeting();
        else if (name === "states") results[name] = await statesBench();
        else if (name === "secrets") results[name] = await secretsReseal(nc);
        console.error(`bench: ${name} ${JSON.stringify(results[name])}`);
      }
    } finally {
      await closeBus(nc, 5_000);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const command = `deno task bench${args.length ? " " + args.join(" ") : ""}`;
  await writeReport("BENCHMARKS.md", results, {
    command,
    machine: await machine(),
    order: [
      "ping_fanout",
      "ping_fanout_cpu",
      "ping_fanout_secured",
      "ping_fanout_secured_cpu",
      "connect_setup",
      ...NAMES.slice(2),
    ],
  });
  if (json) console.log(JSON.stringify(results));
  const lost =
    [results.ping_fanout, results.ping_fanout_secured].some((r) =>
      (r as { lost: number }[] | undefined)?.some((f) => f.lost > 0)
    ) || ((results.state_fanout as { lost: number } | undefined)?.lost ?? 0) > 0;
  if (lost) {
    console.error("bench: returns were lost; the benchmark failed");
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
