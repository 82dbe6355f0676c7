/**
 * ping_fanout: wall time from a `zester '<glob>' test.ping` call to the CLI holding every return
 * (dispatch, job record, ExecRequests, returns, job-returns, final status), against the floor:
 * a bare NATS client sending the same N peels one request each and collecting N replies.
 * @module
 */
import type { NatsConnection } from "nats";
import { encode, newInbox } from "../lib/bus/mod.ts";
import { runJob } from "../cli/commands/run.ts";
import { type FleetAuth, startFleet } from "./fleet.ts";
import { floorSubject } from "./fleet_worker.ts";
import { CpuMeter, type ProcessGroups } from "./cpu_time.ts";
import { median } from "./stats.ts";

/**
 * Unmeasured runs of each path first, so both are measured as long-running peels and masters
 * run, with their code optimized: at least three, and enough for every simulated-peel process
 * to have handled this many requests (V8 optimizes a handler after many calls, so 100 peels
 * over two processes need about 40 runs to get there).
 */
const WARM_UP_REQUESTS_PER_PROCESS = 2_000;

/** One size's figures. */
export interface FanoutFigure {
  peels: number;
  /** The nats-servers (of one cluster) the simulated peels were spread over. */
  servers: number;
  zester_ms: number;
  floor_ms: number;
  ratio: number;
  lost: number;
}

/** Send one bare request to each id and wait for every reply; returns milliseconds. */
export async function floorFanout(
  nc: NatsConnection,
  ids: string[],
  timeoutMs = 30_000,
): Promise<number> {
  const inbox = newInbox(nc);
  let got = 0;
  const done = Promise.withResolvers<void>();
  const sub = nc.subscribe(inbox, {
    callback: () => {
      if (++got === ids.length) done.resolve();
    },
  });
  await nc.flush();
  const payload = encode({ fun: "test.ping" });
  const t0 = performance.now();
  for (const id of ids) nc.publish(floorSubject(id), payload, { reply: inbox });
  const timer = setTimeout(
    () => done.reject(new Error(`floor: ${got}/${ids.length} replies`)),
    timeoutMs,
  );
  try {
    await done.promise;
    return performance.now() - t0;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

/**
 * One zester run; returns milliseconds and how many returns were missing. Every return but a
 * status other than `complete` means the confirmations went wrong: that fails the benchmark.
 */
export async function zesterFanout(
  nc: NatsConnection,
  tgt: string,
  expected: number,
): Promise<{ ms: number; lost: number }> {
  const t0 = performance.now();
  const o = await runJob(nc, {
    tgt,
    tgtType: "glob",
    fun: "test.ping",
    words: [],
    waitMs: 60_000,
    jobTimeoutMs: 60_000,
    user: "bench",
  });
  const ms = performance.now() - t0;
  const ok = [...o.returns.values()].filter((r) => r.success && r.result === true).length;
  if (ok === expected && o.status !== "complete") {
    throw new Error(`ping_fanout: every return arrived but job ${o.jid} ended ${o.status}`);
  }
  return { ms, lost: expected - ok };
}

/** Mean CPU milliseconds per measured run, by process, of one path at one size. */
export interface FanoutCpu {
  peels: number;
  path: "zester" | "floor";
  nats_server_ms: number | null;
  master_ms: number | null;
  peels_ms: number | null;
  cli_ms: number | null;
}

/** Deno flags that profile the master and the simulated peels (`--cpu-prof` into a dir each). */
export interface Profile {
  master: string[];
  peels: string[];
}

/** The flags that write CPU profiles of the master and the simulated peels under `dir`. */
export function profileFlags(dir: string): Profile {
  const flags = (who: string) => ["--cpu-prof", `--cpu-prof-dir=${dir}/${who}`];
  return { master: flags("master"), peels: flags("peels") };
}

/** What else {@linkcode pingFanout} may be given. */
export interface FanoutOptions {
  /** Processes of nats-server (each of a cluster) and the master, to say where CPU time went. */
  pids?: { natsServer: number[]; master: number };
  /** Files the simulated peels connect with, on a secured server. */
  auth?: FleetAuth;
  /** Servers the simulated peels connect to, in turn; default `natsUrl`. */
  workerUrls?: string[];
  /** Deno flags for the simulated peels' processes (`--cpu-prof`). */
  denoFlags?: string[];
}

/**
 * Measure ping fan-out for each size, `runs` times each, alternating zester and floor. With the
 * pids of nats-server and the master, also where each path's CPU time went.
 */
export async function pingFanout(
  nc: NatsConnection,
  natsUrl: string,
  sizes: number[],
  runs: number,
  processes: number,
  opts: FanoutOptions = {},
): Promise<{ figures: FanoutFigure[]; cpu: FanoutCpu[] }> {
  const { pids, auth, workerUrls, denoFlags } = opts;
  const out: FanoutFigure[] = [];
  const cpu: FanoutCpu[] = [];
  for (const n of sizes) {
    const prefix = `f${n}-`;
    await using fleet = await startFleet({
      natsUrl,
      workerUrls,
      peels: n,
      prefix,
      processes,
      auth,
      denoFlags,
    });
    const zester: number[] = [];
    const floor: number[] = [];
    let lost = 0;
    const warmUps = Math.max(3, Math.ceil(WARM_UP_REQUESTS_PER_PROCESS / (n / processes)));
    for (let i = 0; i < warmUps; i++) {
      await zesterFanout(nc, `${prefix}*`, n);
      await floorFanout(nc, fleet.ids);
    }
    const groups: ProcessGroups = { peels: fleet.pids, cli: "self" };
    if (pids) Object.assign(groups, { nats_server: pids.natsServer, master: [pids.master] });
    const zesterCpu = new CpuMeter(groups);
    const floorCpu = new CpuMeter(groups);
    for (let i = 0; i < runs; i++) {
      const z = await zesterCpu.measure(() => zesterFanout(nc, `${prefix}*`, n));
      zester.push(z.ms);
      lost += z.lost;
      floor.push(await floorCpu.measure(() => floorFanout(nc, fleet.ids)));
    }
    for (const [path, meter] of [["zester", zesterCpu], ["floor", floorCpu]] as const) {
      const c = meter.perCall();
      cpu.push({
        peels: n,
        path,
        nats_server_ms: c.nats_server ?? null,
        master_ms: c.master ?? null,
        peels_ms: c.peels ?? null,
        cli_ms: c.cli ?? null,
      });
    }
    const zm = median(zester);
    const fm = median(floor);
    out.push({
      peels: n,
      servers: workerUrls?.length ?? 1,
      zester_ms: round(zm),
      floor_ms: round(fm),
      ratio: round(zm / fm),
      lost,
    });
    console.error(`ping_fanout ${n}: zester ${round(zm)} ms, floor ${round(fm)} ms, lost ${lost}`);
  }
  return { figures: out, cpu };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
