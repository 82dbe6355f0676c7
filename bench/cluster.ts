/**
 * Two nats-servers in a cluster, for fleets larger than one server can hold: nats-server needs
 * an open file per connection, and the open-file limit of the machines we run on is 20,000.
 * Both run JetStream (a cluster's JetStream needs a quorum of its servers); the master and the
 * bench's client use the first, and the simulated peels are spread over both.
 * @module
 */
import type { NatsConnection } from "nats";
import { closeBus, connectBus } from "../lib/bus/mod.ts";
import { startMaster } from "../deploy/dev/fleet.ts";
import { freePort, type NatsServer, startNatsServer } from "../deploy/dev/nats_server.ts";
import { type FanoutCpu, type FanoutFigure, pingFanout, type Profile } from "./ping_fanout.ts";

/** Most simulated peels one server is given (besides them: clients, the store's files). */
export const PEELS_PER_SERVER = 15_000;

/** How long a new cluster may take to elect its JetStream leader. */
const JETSTREAM_READY_MS = 30_000;

/** Start two clustered servers; resolves once JetStream answers on the first. */
async function startPair(): Promise<NatsServer[]> {
  const routes = [freePort(), freePort()];
  const servers: NatsServer[] = [];
  try {
    for (const [i, port] of routes.entries()) {
      servers.push(
        await startNatsServer({
          plain: true,
          args: [
            ...["-n", `bench-${i}`, "--cluster_name", "bench"],
            ...["--cluster", `nats://127.0.0.1:${port}`],
            ...["--routes", `nats://127.0.0.1:${routes[1 - i]}`],
          ],
        }),
      );
    }
    const nc = await connectBus({ servers: [servers[0]!.url], name: "zester-bench-cluster" });
    try {
      await jetStreamReady(nc);
    } finally {
      await closeBus(nc, 1_000);
    }
    return servers;
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
}

async function jetStreamReady(nc: NatsConnection): Promise<void> {
  const until = Date.now() + JETSTREAM_READY_MS;
  for (;;) {
    try {
      await (await nc.jetstreamManager({ timeout: 1_000 })).getAccountInfo();
      return;
    } catch (e) {
      if (Date.now() > until) {
        throw new Error("bench: the cluster's JetStream never came up", { cause: e });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** ping_fanout's figures for `sizes` on a two-server cluster with a master of its own. */
export async function clusterFanout(
  dir: string,
  sizes: number[],
  runs: number,
  processes: number,
  profile?: Profile,
): Promise<{ figures: FanoutFigure[]; cpu: FanoutCpu[] }> {
  const servers = await startPair();
  try {
    const [first] = servers as [NatsServer];
    await using master = await startMaster(
      `${dir}/master-cluster`,
      first.url,
      {},
      [],
      { denoFlags: profile?.master },
    );
    const nc = await connectBus({ servers: [first.url], name: "zester-bench" });
    try {
      return await pingFanout(nc, first.url, sizes, runs, processes, {
        pids: { natsServer: servers.map((s) => s.pid), master: master.pid },
        workerUrls: servers.map((s) => s.url),
        denoFlags: profile?.peels,
      });
    } finally {
      await closeBus(nc, 5_000);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
