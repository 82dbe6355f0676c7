/**
 * The master's readiness checks: NATS, the facts bucket, every bucket and stream provisioned,
 * its heartbeat fresh, and its certificates.
 * @module
 */
import type { JetStreamManager, KV, NatsConnection } from "nats";
import { BUCKETS, STREAMS } from "../lib/bus/mod.ts";
import type { MasterConfig } from "../lib/config/mod.ts";
import { certificateChecks, type Check, natsCheck } from "../lib/http/mod.ts";
import type { HeartbeatWriter } from "./heartbeat.ts";

/** What the master's checks look at. */
export interface MasterHealthParts {
  cfg: MasterConfig;
  nc: NatsConnection;
  jsm: JetStreamManager;
  factsKv: KV;
  heartbeat: HeartbeatWriter;
}

const EXPECTED_STREAMS = [
  ...Object.values(BUCKETS).map((b) => `KV_${b.name}`),
  ...Object.values(STREAMS).map((s) => s.name),
];

/** The master's readiness checks. */
export function masterChecks(p: MasterHealthParts): Check[] {
  return [
    natsCheck(p.nc),
    {
      name: "kv",
      run: async () => {
        const s = await p.factsKv.status();
        return { status: "ok", message: `facts bucket: ${s.values} values` };
      },
    },
    {
      name: "storage",
      run: async () => {
        const have = new Set<string>();
        for await (const name of p.jsm.streams.names()) have.add(name);
        const missing = EXPECTED_STREAMS.filter((n) => !have.has(n));
        return missing.length
          ? { status: "down", message: `Streams missing: ${missing.join(", ")}` }
          : { status: "ok", message: `${EXPECTED_STREAMS.length} streams provisioned` };
      },
    },
    heartbeatCheck(p.heartbeat, p.cfg.heartbeat_interval),
    ...certificateChecks(p.cfg),
  ];
}

/**
 * `heartbeat`: `degraded` once two beats were missed, `down` once the beat is older than the
 * bucket's TTL, when other masters take this one's jobs.
 */
function heartbeatCheck(hb: HeartbeatWriter, intervalMs: number): Check {
  return {
    name: "heartbeat",
    run: () => {
      const age = Date.now() - hb.lastBeat;
      const message = `Last written ${(age / 1000).toFixed(1)} s ago`;
      const status = age >= BUCKETS.masterHeartbeat.ttlMs
        ? "down"
        : age >= 2 * intervalMs
        ? "degraded"
        : "ok";
      return Promise.resolve({ status, message });
    },
  };
}
