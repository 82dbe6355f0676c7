/**
 * The peel's readiness checks: NATS, JetStream through the `state-files` bucket it reads, its
 * broker, and its certificates. Further checks are added to {@linkcode peelChecks}'s list.
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, openBucket } from "../lib/bus/mod.ts";
import type { PeelConfig } from "../lib/config/mod.ts";
import { certificateChecks, type Check, CHECK_TIMEOUT_MS, natsCheck } from "../lib/http/mod.ts";
import type { BrokerClient } from "./broker/mod.ts";

/** What the peel's checks look at. */
export interface PeelHealthParts {
  cfg: PeelConfig;
  nc: NatsConnection;
  broker: BrokerClient;
}

/** A key read to see JetStream answer; whether it exists does not matter. */
const PROBE_KEY = "top.zy";

/** The peel's readiness checks. */
export function peelChecks(p: PeelHealthParts): Check[] {
  return [
    natsCheck(p.nc),
    {
      name: "kv",
      run: async () => {
        const kv = await openBucket(p.nc, BUCKETS.stateFiles);
        await kv.get(PROBE_KEY);
        return { status: "ok", message: "state-files bucket answered" };
      },
    },
    {
      name: "broker",
      run: async () => {
        await p.broker.request("ping", {}, { timeoutMs: CHECK_TIMEOUT_MS });
        return { status: "ok", message: `Broker answered (pid ${p.broker.pid})` };
      },
    },
    ...certificateChecks({ nats_cert: p.cfg.nats_cert, nats_ca: p.cfg.nats_ca }),
  ];
}
