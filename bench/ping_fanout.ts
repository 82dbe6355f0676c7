/**
 * ping_fanout: wall time from a `zester '<glob>' test.ping` call to the CLI holding every return
 * (dispatch, job record, ExecRequests, returns, job-returns, final status), against the floor:
 * a bare NATS client sending the same N peels one request each and collecting N replies.
 * @module
 */
import type { NatsConnection } from "nats";
import { closeBus, connectBus, encode, newInbox } from "../lib/bus/mod.ts";
import { runJob } from "../cli/commands/run.ts";
import { type FleetAuth, startFleet } from "./fleet.ts";
import { floorSubject } from "./fleet_worker.ts";
import { PEELS_PER_SERVER, startLeaf } from "./leaf.ts";
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
  /** The nats-servers the simulated peels were spread over (a hub and a leaf node past one). */
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

/** What else {@linkcode pingFanout} may be given. */
export interface FanoutOptions {
  /** Processes of nats-server and the master, to say where the CPU time went. */
  pids?: { natsServer: number; master: number };
  /** Files the simulated peels connect with, on a secured server. */
  auth?: FleetAuth;
  /**
   * Where the hub (the server at `natsUrl`) listens for leaf nodes, and a dir for a leaf's
   * config: sizes past what one server holds put half the simulated peels on a leaf node.
   */
  leaf?: { port: number; dir: string };
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
  const { pids, auth } = opts;
  const out: FanoutFigure[] = [];
  const cpu: FanoutCpu[] = [];
  for (const n of sizes) {
    const prefix = `f${n}-`;
    await using leaf = n > PEELS_PER_SERVER ? await leafFor(nc, opts.leaf) : undefined;
    await using fleet = await startFleet({
      natsUrl,
      workerUrls: leaf && [natsUrl, leaf.url],
      peels: n,
      prefix,
      processes,
      auth,
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
    if (pids) {
      const servers = leaf ? [pids.natsServer, leaf.pid] : [pids.natsServer];
      Object.assign(groups, { nats_server: servers, master: [pids.master] });
    }
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
      servers: leaf ? 2 : 1,
      zester_ms: round(zm),
      floor_ms: round(fm),
      ratio: round(zm / fm),
      lost,
    });
    console.error(`ping_fanout ${n}: zester ${round(zm)} ms, floor ${round(fm)} ms, lost ${lost}`);
  }
  return { figures: out, cpu };
}

/**
 * A leaf node of the hub, once messages cross it: a request through the leaf reaches a
 * subscriber on the hub.
 */
async function leafFor(nc: NatsConnection, hub: FanoutOptions["leaf"]) {
  if (!hub) throw new Error(`ping_fanout: past ${PEELS_PER_SERVER} peels a leaf node is needed`);
  const leaf = await startLeaf(hub.dir, hub.port);
  const probe = newInbox(nc);
  const sub = nc.subscribe(probe, { callback: (_err, msg) => msg.respond() });
  await nc.flush();
  const client = await connectBus({ servers: [leaf.url], name: "zester-bench-leaf-probe" });
  try {
    for (let i = 0;; i++) {
      try {
        await client.request(probe, undefined, { timeout: 1_000 });
        return leaf;
      } catch (e) {
        if (i >= 30) {
          throw new Error(`ping_fanout: leaf node ${leaf.url} never joined`, { cause: e });
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    sub.unsubscribe();
    await closeBus(client, 1_000);
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
