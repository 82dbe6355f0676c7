/**
 * ping_fanout: wall time from a `zester '<glob>' test.ping` call to the CLI holding every return
 * (dispatch, job record, ExecRequests, returns, job-returns, final status), against the floor:
 * a bare NATS client sending the same N peels one request each and collecting N replies.
 * @module
 */
import type { NatsConnection } from "nats";
import { createInbox } from "nats";
import { encode } from "../lib/bus/mod.ts";
import { runJob } from "../cli/commands/run.ts";
import { startFleet } from "./fleet.ts";
import { floorSubject } from "./fleet_worker.ts";
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
  const inbox = createInbox();
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
    timeoutMs: 60_000,
    format: "json",
    user: "bench",
  });
  const ms = performance.now() - t0;
  const ok = [...o.returns.values()].filter((r) => r.success && r.result === true).length;
  if (ok === expected && o.status !== "complete") {
    throw new Error(`ping_fanout: every return arrived but job ${o.jid} ended ${o.status}`);
  }
  return { ms, lost: expected - ok };
}

/** Measure ping fan-out for each size, `runs` times each, alternating zester and floor. */
export async function pingFanout(
  nc: NatsConnection,
  natsUrl: string,
  sizes: number[],
  runs: number,
  processes: number,
): Promise<FanoutFigure[]> {
  const out: FanoutFigure[] = [];
  for (const n of sizes) {
    const prefix = `f${n}-`;
    await using fleet = await startFleet({ natsUrl, peels: n, prefix, processes });
    const zester: number[] = [];
    const floor: number[] = [];
    let lost = 0;
    const warmUps = Math.max(3, Math.ceil(WARM_UP_REQUESTS_PER_PROCESS / (n / processes)));
    for (let i = 0; i < warmUps; i++) {
      await zesterFanout(nc, `${prefix}*`, n);
      await floorFanout(nc, fleet.ids);
    }
    for (let i = 0; i < runs; i++) {
      collectGarbage();
      const z = await zesterFanout(nc, `${prefix}*`, n);
      zester.push(z.ms);
      lost += z.lost;
      collectGarbage();
      floor.push(await floorFanout(nc, fleet.ids));
    }
    const zm = median(zester);
    const fm = median(floor);
    out.push({
      peels: n,
      zester_ms: round(zm),
      floor_ms: round(fm),
      ratio: round(zm / fm),
      lost,
    });
    console.error(`ping_fanout ${n}: zester ${round(zm)} ms, floor ${round(fm)} ms, lost ${lost}`);
  }
  return out;
}

/**
 * Collect this process's garbage (the CLI side of both paths) before a measured run, so neither
 * path pays for the other's leftovers; a no-op without `--expose-gc`.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
