/**
 * One process of the fleet simulator: `count` simulated peels, each with its own NATS
 * connection, running the peel's real command loop (decode, validate, execute, encode, store the
 * return in job-returns) without the broker or fact collectors. Each also answers bare requests
 * on `bench.floor.<id>`, which the benchmark uses to measure raw NATS doing the same fan-out.
 * With a states directory, the process mirrors the `state-files` bucket there as a peel does
 * (one mirror shared by its peels) and its peels apply states through the peel's own pipeline,
 * their templates rendered by the process's one template worker.
 *
 * Usage: `fleet_worker.ts <nats-url> <id-prefix> <first> <count> [<auth json> [<states dir>]]`
 * (the creds and TLS files of `FleetAuth`, for a secured server); prints `ready` when every
 * peel is subscribed and its facts are stored, and exits when stdin closes.
 * @module
 */
import type { NatsConnection } from "nats";
import {
  BUCKETS,
  type BusOptions,
  closeBus,
  connectBus,
  decode,
  encode,
  openBucket,
  subjects,
} from "../lib/bus/mod.ts";
import { Logger } from "../lib/log/mod.ts";
import { templatePool } from "../lib/template/mod.ts";
import { CommandServer } from "../peel/command_server.ts";
import type { Broker } from "../peel/broker/mod.ts";
import { StateSync, type StateTree } from "../peel/state/mod.ts";
import { simulatedFacts } from "./sim_facts.ts";

/** Broadcast that makes every simulated peel send its facts again (facts ingest benchmark). */
export const FACTS_TRIGGER = "bench.fleet.facts";
/** Where each worker reports `{ count, ms }` when its peels' facts are all stored. */
export const FACTS_DONE = "bench.fleet.facts.done";

/** Subject a simulated peel answers bare requests on. */
export function floorSubject(id: string): string {
  return `bench.floor.${id}`;
}

const noBroker: Broker = {
  request: () => Promise.reject(new Error("the fleet simulator has no broker")),
};

async function startPeel(bus: BusOptions, id: string, log: Logger, states?: StateTree) {
  const nc = await connectBus({ ...bus, name: `sim-${id}` });
  const facts = simulatedFacts(id);
  const server = await CommandServer.start({
    nc,
    peelId: id,
    facts: () => facts,
    broker: noBroker,
    log,
    states: () => states,
  });
  nc.subscribe(floorSubject(id), {
    callback: (_err, msg) => {
      decode(msg.data);
      msg.respond(encode({ ok: true, peel_id: id }));
    },
  });
  await publishFacts(nc, id, facts);
  return { nc, server, id, facts };
}

async function publishFacts(nc: NatsConnection, id: string, facts: Record<string, unknown>) {
  for (let attempt = 0;; attempt++) {
    try {
      const msg = { peel_id: id, facts, collected: new Date().toISOString() };
      const r = await nc.request(subjects.fact(id), encode(msg), { timeout: 10_000 });
      if ((decode(r.data) as { ok?: boolean }).ok) return;
    } catch (e) {
      if (attempt >= 5) throw e;
    }
    await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
}

async function main([url, prefix, first, count, auth, statesDir]: string[]): Promise<void> {
  // A secured connect signs the server's nonce in JavaScript (tens of ms of CPU), and a batch of
  // them on a loaded machine outlasts nats.js's 20 s connect timeout.
  const bus: BusOptions = {
    servers: [url!],
    name: "sim",
    connectTimeoutMs: 120_000,
    ...JSON.parse(auth ?? "{}"),
  };
  const log = new Logger({ level: "warn", fields: { component: "sim" } });
  const control = await connectBus({ ...bus, name: `sim-control-${prefix}${first}` });
  let sync: StateSync | undefined;
  if (statesDir) {
    sync = new StateSync(await openBucket(control, BUCKETS.stateFiles), statesDir, log);
    await sync.start();
  }
  const n = Number(count);
  const peels: Awaited<ReturnType<typeof startPeel>>[] = [];
  // TLS handshakes with creds cost ~30 ms of CPU each: fewer at once stay within the server's
  // handshake timeout.
  const batch = bus.credsFile ? 20 : 100;
  for (let i = 0; i < n; i += batch) {
    const ids = Array.from(
      { length: Math.min(batch, n - i) },
      (_, j) => `${prefix}${String(Number(first) + i + j).padStart(5, "0")}`,
    );
    peels.push(...await Promise.all(ids.map((id) => startPeel(bus, id, log, sync?.tree))));
  }
  control.subscribe(FACTS_TRIGGER, {
    callback: async () => {
      const t0 = performance.now();
      await Promise.all(peels.map((p) => publishFacts(p.nc, p.id, p.facts)));
      control.publish(FACTS_DONE, encode({ count: peels.length, ms: performance.now() - t0 }));
    },
  });
  await control.flush();
  console.log("ready");
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  sync?.stop();
  await closeBus(control, 2_000);
  await Promise.all(peels.map(async (p) => {
    await p.server.stop();
    await closeBus(p.nc, 2_000);
  }));
  // An idle template worker would hold the process for its idle time.
  templatePool().close();
}

if (import.meta.main) await main(Deno.args);
