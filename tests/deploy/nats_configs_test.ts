/**
 * The nats-server configs of `deploy/nats/`: generated, and each topology started as shipped but
 * on loopback ports with temp stores — a single server, a 3-node cluster holding R3 storage, and
 * a leaf node of that cluster — each serving a master and peels that run a job, in operator mode
 * with mutual TLS.
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "nats";
import { deploymentPaths } from "../../lib/auth/mod.ts";
import { connectBus, provisionStorage } from "../../lib/bus/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { runJob } from "../../cli/commands/run.ts";
import {
  natsTopology,
  shippedNatsConfigs,
  type TopologyLayout,
} from "../../deploy/nats_configs.ts";
import {
  client,
  closeClient,
  type Daemon,
  devTrust,
  freePort,
  masterConfig,
  type NatsServer,
  retry,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
} from "../harness/mod.ts";

type Server = Parameters<TopologyLayout["ports"]>[0];

/** The topology on loopback: free ports, stores under `root`, the development deployment. */
async function loopbackLayout(root: string): Promise<TopologyLayout> {
  const ports = new Map<Server, ReturnType<TopologyLayout["ports"]>>();
  for (const s of [0, 1, 2, "single", "leaf"] as const) {
    ports.set(s, { client: freePort(), route: freePort(), leaf: freePort(), monitor: freePort() });
  }
  return {
    members: ["127.0.0.1", "127.0.0.1", "127.0.0.1"],
    bind: "127.0.0.1",
    ports: (s) => ports.get(s)!,
    deploymentDir: (await devTrust()).dir,
    storeDir: (server) => `${root}/${server}/jetstream`,
  };
}

/** Start the server of `file` from the topology, its config and trust.conf in `<root>/<name>`. */
async function start(
  root: string,
  layout: TopologyLayout,
  file: string,
  name: string,
  server: Server,
): Promise<NatsServer> {
  const storeDir = `${root}/${name}`;
  await Deno.mkdir(storeDir, { recursive: true });
  return await startNatsServer({
    port: layout.ports(server).client,
    config: natsTopology(layout)[file],
    storeDir,
  });
}

async function pingAll(nc: NatsConnection, ids: string[]): Promise<void> {
  const o = await runJob(nc, { tgt: "*", fun: "test.ping", words: [], waitMs: 10_000, user: "t" });
  assert.equal(o.status, "complete", `job ${o.jid}: ${[...o.returns.keys()]}`);
  assert.deepEqual([...o.returns.keys()].sort(), [...ids].sort());
}

const quiet = () => new Logger({ level: "error", sink: () => {} });

Deno.test("nats configs - deploy/nats is generated (deno task nats-configs --write)", async () => {
  for (const [name, text] of Object.entries(shippedNatsConfigs())) {
    const file = await Deno.readTextFile(new URL(`../../deploy/nats/${name}`, import.meta.url));
    assert.equal(file, text, `deploy/nats/${name} differs: run deno task nats-configs --write`);
  }
  const shipped = shippedNatsConfigs();
  assert.match(shipped["single.conf"]!, /^include "trust\.conf"$/m);
  for (const text of Object.values(shipped)) {
    assert.match(text, /^http: "127\.0\.0\.1:8222"$/m, "monitoring, on loopback only");
  }
  assert.match(shipped["cluster-2.conf"]!, /"tls:\/\/nats-3\.example\.com:6222"/);
  assert.match(shipped["leaf.conf"]!, /credentials: "\/etc\/zester\/creds\/leaf\.creds"/);
  assert.doesNotMatch(shipped["leaf.conf"]!, /jetstream/, "JetStream lives in the cluster");
});

Deno.test("nats configs - single.conf serves a master and a peel that runs a job", async () => {
  await using dir = await tempDir();
  const layout = await loopbackLayout(dir.path);
  await using ns = await start(dir.path, layout, "single.conf", "single", "single");
  const master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
  const nc = await client(ns.url);
  let peel: Daemon | undefined;
  try {
    peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01");
    await waitForPeels(nc, ["web-01"]);
    await pingAll(nc, ["web-01"]);
    const varz = await fetch(`http://127.0.0.1:${layout.ports("single").monitor}/varz`);
    assert.equal((await varz.json()).port, ns.port, "the runbook's monitoring endpoint answers");
    // Operator mode: a client without creds is refused.
    const trust = deploymentPaths((await devTrust()).dir);
    await assert.rejects(
      connectBus({
        servers: [ns.url],
        name: "no-creds",
        caFile: trust.ca,
        certFile: trust.cert("admin"),
        keyFile: trust.key("admin"),
      }),
    );
  } finally {
    await peel?.stop();
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("nats configs - cluster-{1,2,3}.conf keep R3 storage and leaf.conf carries a peel's job", async () => {
  await using dir = await tempDir();
  const layout = await loopbackLayout(dir.path);
  const servers = await Promise.all(
    ([0, 1, 2] as const).map((i) =>
      start(dir.path, layout, `cluster-${i + 1}.conf`, `nats-${i + 1}`, i)
    ),
  );
  const urls = servers.map((s) => s.url);
  const nc = await client(urls[0]!);
  const peels: Daemon[] = [];
  let leaf: NatsServer | undefined;
  let master: Master | undefined;
  try {
    const jsm = await retry("JetStream in the cluster", () => nc.jetstreamManager());
    await retry("R3 storage", () => provisionStorage(jsm, { replicas: 3 }));
    master = await Master.start(
      await masterConfig(urls[0]!, dir.path, { nats_url: urls, storage_replicas: 3 }),
      quiet(),
    );
    const jobs = await jsm.streams.info("KV_jobs");
    assert.equal(jobs.config.num_replicas, 3);
    assert.equal((jobs.cluster?.replicas ?? []).length, 2, "two followers besides the leader");

    leaf = await start(dir.path, layout, "leaf.conf", "leaf-1", "leaf");
    peels.push(await startPeel(`${dir.path}/peels`, urls[1]!, "core-01"));
    // The peel behind the leaf knows only the leaf's address.
    peels.push(await startPeel(`${dir.path}/peels`, leaf.url, "edge-01"));
    await waitForPeels(nc, ["core-01", "edge-01"]);
    await pingAll(nc, ["core-01", "edge-01"]);
    const edge = await runJob(nc, {
      tgt: "edge-01",
      fun: "cmd.run",
      words: ["echo behind the leaf"],
      waitMs: 10_000,
      user: "t",
    });
    assert.equal(edge.status, "complete");
    assert.match(JSON.stringify(edge.returns.get("edge-01")), /behind the leaf/);
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    await master?.stop();
    await leaf?.stop();
    for (const s of servers) await s.stop();
  }
});
