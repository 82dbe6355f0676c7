/**
 * The benchmarks besides ping fan-out: job record throughput, facts ingest, master RSS with a
 * large fact index, peel idle RSS, and CLI start-up.
 * @module
 */
import type { NatsConnection } from "nats";
import { stringify } from "yaml";
import { AckedPublisher, closeBus, connectBus, decode, encode, kvSubject } from "../lib/bus/mod.ts";
import { CliConfig, cliPermissionFlags, parseConfig } from "../lib/config/mod.ts";
import { resolveOnMasters } from "../lib/job/mod.ts";
import { runJob } from "../cli/commands/run.ts";
import {
  DENO_CONFIG,
  devBrokerPolicy,
  startMaster,
  startPeel,
  waitForPeels,
  writeDevLauncher,
  writeYaml,
} from "../deploy/dev/fleet.ts";
import { BrokerClient } from "../peel/broker/mod.ts";
import { AuditLog } from "../peel/broker/audit.ts";
import { Logger } from "../lib/log/mod.ts";
import { startFleet } from "./fleet.ts";
import { FACTS_DONE, FACTS_TRIGGER } from "./fleet_worker.ts";
import { simulatedFacts } from "./sim_facts.ts";
import { median } from "./stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Resident set size of `pid` in bytes, from `ps`. */
export async function rssBytes(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) * 1024;
}

const mib = (b: number) => Math.round(b / 1048576 * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Jobs run end to end per second against one simulated peel, `concurrency` at a time, each as
 * `zester` runs it: the dispatch; the job's target list, record and active marker stored; the
 * record written claimed, running and ended (compare-and-set each) and the marker removed; five
 * job events stored in `job-events`; the peel's return stored in `job-returns`; the CLI reading the
 * targets and following the job until its final status. That is 13 JetStream writes per job since
 * the job lifecycle (2026-11-30) where there were 7, so earlier reports' figures are not
 * comparable. `job_records_per_s` counts the record's own four writes.
 */
export async function jobRate(nc: NatsConnection, natsUrl: string, jobs = 300, concurrency = 20) {
  await using fleet = await startFleet({ natsUrl, peels: 1, prefix: "jr-", processes: 1 });
  let next = 0;
  let lost = 0;
  const one = async () => {
    while (next++ < jobs) {
      const o = await runJob(nc, {
        tgt: fleet.ids[0]!,
        tgtType: "glob",
        fun: "test.ping",
        words: [],
        waitMs: 30_000,
        jobTimeoutMs: 30_000,
        user: "bench",
      });
      if (o.returns.size !== 1) lost++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, one));
  const s = (performance.now() - t0) / 1000;
  return {
    jobs,
    concurrency,
    seconds: r2(s),
    jobs_per_s: r2(jobs / s),
    job_records_per_s: r2(4 * jobs / s),
    lost,
  };
}

/** Facts stored per second when `peels` peels all send their (about 2 KB) facts at once. */
export async function factsIngest(
  nc: NatsConnection,
  natsUrl: string,
  peels = 2000,
  processes = 2,
) {
  await using fleet = await startFleet({ natsUrl, peels, prefix: "fi-", processes });
  const bytes = encode({ peel_id: fleet.ids[0], facts: simulatedFacts(fleet.ids[0]!) }).byteLength;
  const rates: number[] = [];
  for (let run = 0; run < 3; run++) {
    let reported = 0;
    const done = Promise.withResolvers<void>();
    const sub = nc.subscribe(FACTS_DONE, {
      callback: (_e, m) => {
        reported += (decode(m.data) as { count: number }).count;
        if (reported >= peels) done.resolve();
      },
    });
    await nc.flush();
    const t0 = performance.now();
    nc.publish(FACTS_TRIGGER);
    await done.promise;
    rates.push(peels / ((performance.now() - t0) / 1000));
    sub.unsubscribe();
  }
  return { peels, fact_bytes: bytes, facts_per_s: Math.round(median(rates)), runs: rates.length };
}

/**
 * Resident memory of `pid` from `/proc` (read by `cat`, as Deno reads nothing there without
 * `--allow-all`): the whole, and its anonymous part (heaps, not mapped code).
 */
async function residentMib(pid: number): Promise<{ rss: number; anon: number }> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const status = new TextDecoder().decode(out.stdout);
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1]);
  return { rss: mib(kib("VmRSS") * 1024), anon: mib(kib("RssAnon") * 1024) };
}

/**
 * `resolveOnMasters`, asked again while it times out: a master's first fact target computes every
 * peel's grains, which takes longer than a resolve waits on a busy machine at 50,000 peels.
 */
async function resolvePatiently(nc: NatsConnection, tgt: string): Promise<string[]> {
  for (let attempt = 1;; attempt++) {
    try {
      return await resolveOnMasters(nc, tgt);
    } catch (e) {
      if (attempt >= 20) throw e;
    }
  }
}

/**
 * Master RSS with each of `sizes` peels' facts in its index: the facts are stored first, then a
 * fresh master starts, loads the bucket and is measured once it resolves every peel and has
 * settled.
 */
export async function masterRss(natsUrl: string, sizes = [10_000, 50_000]) {
  const dir = await Deno.makeTempDir({ prefix: "zester-bench-master-" });
  const nc = await connectBus({ servers: [natsUrl], name: "bench-facts" });
  const pub = new AckedPublisher(nc, { timeoutMs: 30_000 });
  const out = [];
  try {
    let stored = 0;
    for (const peels of [...sizes].sort((a, b) => a - b)) {
      const ids = Array.from({ length: peels - stored }, (_, i) => `rss-${i + stored}`);
      for (let i = 0; i < ids.length; i += 1000) {
        await Promise.all(
          ids.slice(i, i + 1000).map((id) =>
            pub.publish(
              kvSubject("facts", id),
              encode({
                peel_id: id,
                facts: simulatedFacts(id),
                collected: new Date().toISOString(),
              }),
            )
          ),
        );
      }
      stored = peels;
      const t0 = performance.now();
      // Loading 50,000 peels' facts takes tens of seconds on a busy machine.
      await using master = await startMaster(`${dir}/m${peels}`, natsUrl, {}, [], {
        readyTimeoutMs: 300_000,
      });
      const loadMs = performance.now() - t0;
      while ((await resolvePatiently(nc, "rss-*")).length < peels) {
        await new Promise((res) => setTimeout(res, 100));
      }
      // Fact targets, so the index holds grains and value indexes as it does in use; the bench's
      // own master shares the queue group, so enough that this one answers some (1 in 512 not).
      for (let i = 0; i < 10; i++) await resolvePatiently(nc, "G@os:family:debian");
      await new Promise((res) => setTimeout(res, 2_000));
      const m = await residentMib(master.pid);
      out.push({
        peels,
        master_rss_mib: m.rss,
        anon_mib: m.anon,
        start_and_index_ms: Math.round(loadMs),
      });
    }
    return out;
  } finally {
    pub.close();
    await closeBus(nc);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** RSS of a real peel, idle, once its broker has exited. */
export async function peelIdleRss(natsUrl: string) {
  const dir = await Deno.makeTempDir({ prefix: "zester-bench-peel-" });
  try {
    await using peel = await startPeel(`${dir}/peels`, natsUrl, "rss-peel", {
      broker: { idle_timeout: "500ms" },
    });
    await new Promise((r) => setTimeout(r, 3_000));
    const children = await new Deno.Command("pgrep", { args: ["-P", String(peel.pid)] }).output();
    const brokerRunning = new TextDecoder().decode(children.stdout).trim() !== "";
    const m = await residentMib(peel.pid);
    return { peel_idle_rss_mib: m.rss, anon_mib: m.anon, broker_running: brokerRunning };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Wall time of `zester --help` and of `zester <peel> test.ping`, median of `runs`. */
export async function cliStartup(natsUrl: string, runs = 5) {
  await using fleet = await startFleet({ natsUrl, peels: 1, prefix: "cli-", processes: 1 });
  const dir = await Deno.makeTempDir({ prefix: "zester-bench-cli-" });
  try {
    const cfgPath = `${dir}/cli.yaml`;
    const raw = stringify({ master: { urls: [natsUrl] } });
    await Deno.writeTextFile(cfgPath, raw);
    const flags = cliPermissionFlags(parseConfig(raw, cfgPath, CliConfig));
    const time = async (args: string[]) => {
      const xs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--config",
            DENO_CONFIG,
            ...flags,
            `${ROOT}cli/main.ts`,
            "--config",
            cfgPath,
            ...args,
          ],
          stdout: "null",
          stderr: "null",
        }).output();
        if (out.code !== 0) throw new Error(`zester ${args.join(" ")} exited ${out.code}`);
        xs.push(performance.now() - t0);
      }
      return Math.round(median(xs));
    };
    return {
      help_ms: await time(["--help"]),
      ping_one_peel_ms: await time([fleet.ids[0]!, "test.ping"]),
      runs,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * What one audit record costs the broker: the median time of a synchronous append of an intent
 * record to the audit log (each policed operation writes two: intent before acting, then done).
 */
function auditRecordUs(path: string, n = 2_000): number {
  const log = new AuditLog(path);
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      log.write({
        time: new Date().toISOString(),
        phase: "intent",
        pid: Deno.pid,
        id: i,
        jid_claimed: "2Zr8JxCa5LSTqXwNtUH1rVyW3kE",
        op: "run",
        args: { argv: ["/usr/bin/true"] },
        decision: "allow",
      });
      times.push(performance.now() - t0);
    }
  } finally {
    log.close();
  }
  return r2(median(times) * 1000);
}

/**
 * The broker's cost: peel + broker RSS while a brokered command runs, and the latency a
 * brokered `run /usr/bin/true` adds over spawning it directly from Deno, median of `n`.
 */
export async function brokerOverhead(natsUrl: string, nc: NatsConnection, n = 200) {
  const dir = await Deno.makeTempDir({ prefix: "zester-bench-broker-" });
  try {
    await Deno.mkdir(`${dir}/b/files`, { recursive: true });
    await writeYaml(`${dir}/b/peel.yaml`, {
      id: "bench",
      broker: { ...devBrokerPolicy(`${dir}/b`), exec: ["/usr/bin/true"] },
    });
    const launcher = await writeDevLauncher(`${dir}/b/zester-broker`, `${dir}/b/peel.yaml`);
    const client = new BrokerClient({
      launcher,
      idleTimeoutMs: 60_000,
      log: new Logger({ level: "error", sink: () => {} }),
    });
    const brokered: number[] = [];
    const direct: number[] = [];
    try {
      for (let i = 0; i < 10; i++) await client.request("run", { argv: ["/usr/bin/true"] });
      for (let i = 0; i < n; i++) {
        let t0 = performance.now();
        await client.request("run", { argv: ["/usr/bin/true"] });
        brokered.push(performance.now() - t0);
        t0 = performance.now();
        await new Deno.Command("/usr/bin/true").output();
        direct.push(performance.now() - t0);
      }
    } finally {
      await client.close();
    }
    await using peel = await startPeel(`${dir}/peels`, natsUrl, "rss-busy");
    await waitForPeels(nc, ["rss-busy"]);
    const job = runJob(nc, {
      tgt: "rss-busy",
      tgtType: "glob",
      fun: "cmd.run",
      words: ["sleep 2"],
      waitMs: 30_000,
      jobTimeoutMs: 30_000,
      user: "bench",
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const kids = new TextDecoder().decode(
      (await new Deno.Command("pgrep", { args: ["-P", String(peel.pid)] }).output()).stdout,
    ).trim().split("\n").filter(Boolean).map(Number);
    let total = await rssBytes(peel.pid);
    for (const k of kids) total += await rssBytes(k);
    await job;
    return {
      runs: n,
      brokered_true_ms: r2(median(brokered)),
      direct_true_ms: r2(median(direct)),
      added_ms: r2(median(brokered) - median(direct)),
      audit_record_us: auditRecordUs(`${dir}/audit-bench.log`),
      peel_plus_broker_rss_mib: mib(total),
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
