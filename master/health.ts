/**
 * The master's readiness checks: NATS, the facts bucket, every bucket and stream provisioned
 * (one kept in memory and lost at a restart of nats-server only degrades), its heartbeat fresh,
 * and its certificates (the enrollment server's too).
 * @module
 */
import type { JetStreamManager, KV, NatsConnection } from "nats";
import { BUCKETS, bucketStream, STREAMS } from "../lib/bus/mod.ts";
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

/** Every declared stream, and whether it is kept in memory (gone when nats-server restarts). */
const EXPECTED_STREAMS = [...Object.values(BUCKETS), ...Object.values(STREAMS)].map((s) => ({
  name: "subjects" in s ? s.name : bucketStream(s.name),
  memory: (s.storage as string) === "memory",
}));

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
        const missing = EXPECTED_STREAMS.filter((s) => !have.has(s.name));
        if (!missing.length) {
          return { status: "ok", message: `${EXPECTED_STREAMS.length} streams provisioned` };
        }
        return {
          // A memory stream is lost when nats-server restarts, until a master provisions again.
          status: missing.every((s) => s.memory) ? "degraded" : "down",
          message: `Streams missing: ${missing.map((s) => s.name).join(", ")}`,
        };
      },
    },
    heartbeatCheck(p.heartbeat, p.cfg.heartbeat_interval),
    ...certificateChecks({
      nats_cert: p.cfg.nats_cert,
      nats_ca: p.cfg.nats_ca,
      "enroll.tls_cert": p.cfg.enroll?.tls_cert,
    }),
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
