/**
 * The shared test harness: real nats-servers on free loopback ports, real daemons started as in
 * production, and a client connection, all stopped at the end of each test.
 * @module
 */
import type { NatsConnection } from "nats";
import { closeBus, connectBus, decode, encode, subjects } from "../../lib/bus/mod.ts";
export { freePort, type NatsServer, startNatsServer } from "../../deploy/dev/nats_server.ts";
export {
  type Daemon,
  DENO_CONFIG,
  devBrokerPolicy,
  spawnDaemon,
  startMaster,
  startPeel,
  writeDevLauncher,
  writeYaml,
} from "../../deploy/dev/fleet.ts";

/** Connect a test client to `url`. */
export async function client(url: string): Promise<NatsConnection> {
  return await connectBus({ servers: [url], name: "zester-test" });
}

/** Close a test client. */
export async function closeClient(nc: NatsConnection): Promise<void> {
  await closeBus(nc, 2_000);
}

/** Wait until the masters resolve `*` to at least `ids` (their facts are indexed). */
export async function waitForPeels(
  nc: NatsConnection,
  ids: string[],
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = decode(
        (await nc.request(subjects.targetResolve, encode({ tgt: "*" }), { timeout: 2_000 })).data,
      ) as { ok: boolean; ids?: string[] };
      if (r.ok && ids.every((id) => r.ids?.includes(id))) return;
    } catch { /* no master yet */ }
    if (Date.now() > until) throw new Error(`peels ${ids.join(", ")} not indexed in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
export { tempDir } from "./temp_dir.ts";
