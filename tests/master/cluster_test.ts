/**
 * Zester on a 3-node nats-server cluster on loopback, buckets and streams kept by all three
 * (R3): when one server stops, jobs keep running.
 */
import assert from "node:assert/strict";
import { connectBus, provisionStorage } from "../../lib/bus/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { runJob, type RunOutcome } from "../../cli/commands/run.ts";
import {
  closeClient,
  type Daemon,
  freePort,
  masterConfig,
  type NatsServer,
  retry,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
} from "../harness/mod.ts";

Deno.test("cluster - with R3 storage, jobs keep running when one of three nats-servers stops", async () => {
  const ports = [freePort(), freePort(), freePort()];
  const routes = [freePort(), freePort(), freePort()];
  const servers: NatsServer[] = await Promise.all(ports.map((port, i) =>
    startNatsServer({
      plain: true, // Clustering is what this tests; auth and TLS are tested on one server.
      port,
      args: [
        "--server_name",
        `n${i + 1}`,
        "--cluster_name",
        "zester",
        "--cluster",
        `nats://127.0.0.1:${routes[i]}`,
        "--routes",
        routes.map((p) => `nats://127.0.0.1:${p}`).join(","),
      ],
    })
  ));
  const urls = servers.map((s) => s.url);
  await using dir = await tempDir();
  const nc = await connectBus({ servers: urls, name: "zester-test" });
  const peels: Daemon[] = [];
  let master: Master | undefined;
  try {
    // The cluster elects a JetStream leader before it takes R3 streams.
    const jsm = await retry("JetStream in the cluster", () => nc.jetstreamManager());
    await retry("provisioning R3 storage", () => provisionStorage(jsm, { replicas: 3 }));
    master = await Master.start(
      await masterConfig(urls[0]!, dir.path, { nats_url: urls, storage_replicas: 3 }),
      new Logger({ level: "error", sink: () => {} }),
    );
    assert.equal((await jsm.streams.info("KV_jobs")).config.num_replicas, 3);
    assert.equal((await jsm.streams.info("job-events")).config.num_replicas, 3);
    const ids = ["web-01", "web-02", "web-03"];
    for (const [i, id] of ids.entries()) {
      // Each peel lists a different server first.
      const own = [...urls.slice(i), ...urls.slice(0, i)];
      peels.push(await startPeel(`${dir.path}/peels`, urls[i]!, id, { extra: { nats_url: own } }));
    }
    await waitForPeels(nc, ids);
    const ping = (): Promise<RunOutcome> =>
      runJob(nc, { tgt: "*", fun: "test.ping", words: [], waitMs: 10_000, user: "test" });
    assert.equal((await ping()).status, "complete");

    await servers[1]!.stop();
    // Streams led by the stopped server elect new leaders; the first job may have to wait.
    await retry("a job after losing a server", async () => {
      const o = await ping();
      if (o.status !== "complete") throw new Error(`job ${o.jid} ${o.status}`);
    });
    for (let i = 0; i < 3; i++) {
      const o = await ping();
      assert.equal(o.status, "complete", `job ${o.jid}: ${o.returns.size}/3`);
      assert.equal(o.returns.size, 3);
    }
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    await master?.stop();
    for (const s of servers) await s.stop();
  }
});
