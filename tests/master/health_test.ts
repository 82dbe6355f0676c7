/**
 * Health endpoints and metrics of live daemons: a real nats-server, a master and two peels
 * started as in production, jobs through the CLI, and NATS stopped and started again.
 */
import assert from "node:assert/strict";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { writePrivateFile } from "../../lib/auth/mod.ts";
import {
  devEnrollment,
  devTrust,
  documentedMetrics,
  type Exposition,
  freePort,
  healthUrl,
  masterConfig,
  parseExposition,
  sampleValue,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  zesterAt,
} from "../harness/mod.ts";

const VERSION = JSON.parse(
  await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
).version;

async function json(url: string): Promise<{ code: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { code: res.status, body: await res.json() };
}

async function metrics(base: string): Promise<Exposition> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  return parseExposition(await res.text());
}

interface ReadyBody {
  status: string;
  checks: Record<string, { status: string; latency_ms: number; message?: string }>;
}

/** Poll `base`'s `/readyz` until it answers `code` and its body satisfies `ok`. */
async function readyzBecomes(
  base: string,
  code: number,
  timeoutMs: number,
  ok: (body: ReadyBody) => boolean = () => true,
): Promise<ReadyBody> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await json(`${base}/readyz`);
    const body = r.body as unknown as ReadyBody;
    if (r.code === code && ok(body)) return body;
    if (Date.now() > until) throw new Error(`${base}/readyz still ${r.code}: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

Deno.test("health - live master and peels: /healthz, /readyz, /metrics after jobs, and /readyz down while NATS is away", async (t) => {
  await using store = await tempDir("zester-nats-store-");
  let ns = await startNatsServer({ storeDir: store.path });
  const port = ns.port;
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/m/states`, { recursive: true });
  await Deno.writeTextFile(
    `${d}/m/states/hello.zy`,
    "hello:\n  test.succeed_without_changes: []\n",
  );
  const master = await startMaster(`${d}/m`, ns.url);
  const web1 = await startPeel(`${d}/peels`, ns.url, "web-01");
  const web2 = await startPeel(`${d}/peels`, ns.url, "web-02");
  const m = await healthUrl(master);
  const p = await healthUrl(web1);
  const cli = (...args: string[]) => zesterAt(`${d}/cli.yaml`, ns.url, ...args);
  try {
    await t.step("/healthz: status, component and version; unknown paths 404", async () => {
      assert.deepEqual(await json(`${m}/healthz`), {
        code: 200,
        body: { status: "ok", component: "master", version: VERSION },
      });
      assert.deepEqual(await json(`${p}/healthz`), {
        code: 200,
        body: { status: "ok", component: "peel", version: VERSION },
      });
      const res = await fetch(`${m}/nope`);
      await res.body?.cancel();
      assert.equal(res.status, 404);
    });

    await t.step("/readyz: every check ok, with its latency", async () => {
      for (
        const [base, names] of [
          [m, ["nats", "kv", "storage", "heartbeat", "certificate"]],
          [p, ["nats", "kv", "broker", "certificate"]],
        ] as const
      ) {
        const body = await readyzBecomes(base, 200, 10_000);
        assert.equal(body.status, "ok", JSON.stringify(body));
        assert.deepEqual(Object.keys(body.checks).sort(), [...names].sort());
        for (const [name, c] of Object.entries(body.checks)) {
          assert.equal(c.status, "ok", `${name}: ${JSON.stringify(c)}`);
          assert.ok(typeof c.latency_ms === "number" && c.latency_ms >= 0, name);
        }
        assert.match(body.checks.certificate!.message!, /^\d+ days left: nats_(cert|ca) expires/);
      }
    });

    await t.step(
      "/metrics: every documented metric after jobs, counters moved by the jobs",
      async () => {
        const [m0, p0] = [await metrics(m), await metrics(p)];
        const ping = await cli("*", "test.ping");
        assert.equal(ping.code, 0, ping.stderr + ping.stdout);
        const apply = await cli("web-01", "state.apply", "hello");
        assert.equal(apply.code, 0, apply.stderr + apply.stdout);
        const [m1, p1] = [await metrics(m), await metrics(p)];
        const moved = (a: Exposition, b: Exposition, name: string, labels = {}) =>
          sampleValue(b, name, labels) - sampleValue(a, name, labels);

        assert.equal(
          moved(m0, m1, "zester_jobs_total", { function: "test.ping", status: "complete" }),
          1,
        );
        assert.equal(
          moved(m0, m1, "zester_jobs_total", { function: "state.apply", status: "complete" }),
          1,
        );
        assert.equal(moved(m0, m1, "zester_returns_total", { outcome: "ok" }), 3);
        assert.equal(moved(m0, m1, "zester_job_duration_seconds_count"), 2);
        assert.equal(moved(m0, m1, "zester_dispatch_latency_seconds_count"), 2);
        assert.equal(sampleValue(m1, "zester_connected_peels"), 2);
        assert.equal(sampleValue(m1, "zester_active_jobs"), 0);
        assert.equal(
          moved(p0, p1, "zester_peel_jobs_total", { function: "test.ping", outcome: "ok" }),
          1,
        );
        assert.equal(moved(p0, p1, "zester_state_applies_total", { result: "succeeded" }), 1);
        assert.equal(moved(p0, p1, "zester_state_apply_duration_seconds_count"), 1);
        assert.equal(sampleValue(p1, "zester_peel_connected"), 1);
        assert.ok(
          sampleValue(p1, "zester_broker_ops_total", { op: "sysinfo", decision: "allowed" }) >= 1,
        );

        for (const doc of await documentedMetrics()) {
          const on = doc.where === "both" ? [m1, p1] : doc.where === "master" ? [m1] : [p1];
          for (const e of on) {
            assert.equal(e.types.get(doc.name), doc.type, `# TYPE of ${doc.name}`);
            assert.ok(
              e.samples.some((s) => s.name === doc.name || s.name.startsWith(`${doc.name}_`)),
              `no sample of ${doc.name}`,
            );
          }
          const elsewhere = doc.where === "master" ? p1 : doc.where === "peel" ? m1 : undefined;
          assert.ok(!elsewhere?.types.has(doc.name), `${doc.name} is ${doc.where} only`);
        }
      },
    );

    await t.step(
      "/readyz: down (503) while nats-server is stopped, ok again once it is back",
      async () => {
        await ns.stop();
        for (const base of [m, p]) {
          const body = await readyzBecomes(base, 503, 10_000) as {
            status: string;
            checks: Record<string, { status: string }>;
          };
          assert.equal(body.status, "down");
          assert.equal(body.checks.nats?.status, "down");
        }
        assert.equal(sampleValue(await metrics(p), "zester_peel_connected"), 0);
        const h = await json(`${p}/healthz`);
        assert.equal(h.code, 200, "liveness does not depend on NATS");
        ns = await startNatsServer({ storeDir: store.path, port });
        const peelBody = await readyzBecomes(p, 200, 30_000);
        assert.equal(peelBody.status, "ok", JSON.stringify(peelBody));
        // The memory-kept enroll-challenges bucket went with the server, until a master starts;
        // the heartbeat is fresh again at the next beat.
        const masterBody = await readyzBecomes(
          m,
          200,
          30_000,
          (b) => b.checks.heartbeat?.status === "ok",
        );
        assert.equal(masterBody.status, "degraded", JSON.stringify(masterBody));
        assert.deepEqual(masterBody.checks.storage, {
          ...masterBody.checks.storage,
          status: "degraded",
          message: "Streams missing: KV_enroll-challenges",
        });
        for (const [name, c] of Object.entries(masterBody.checks)) {
          if (name !== "storage") assert.equal(c.status, "ok", `${name}: ${JSON.stringify(c)}`);
        }
        const after = await metrics(p);
        assert.equal(sampleValue(after, "zester_peel_connected"), 1);
        assert.ok(sampleValue(after, "zester_nats_reconnects_total") >= 1);
      },
    );
  } finally {
    for (const daemon of [web1, web2, master]) await daemon.stop();
    await ns.stop();
  }
});

Deno.test("health - a health_addr already taken stops the master with an error naming it", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const port = freePort();
  using _taken = Deno.listen({ hostname: "127.0.0.1", port });
  await assert.rejects(
    Master.start(
      await masterConfig(ns.url, dir.path, { health_addr: `127.0.0.1:${port}` }),
      new Logger({ level: "error", sink: () => {} }),
    ),
    new RegExp(`Cannot serve health endpoints on health_addr "127\\.0\\.0\\.1:${port}": .*in use`),
  );
});

Deno.test("health - /readyz counts the enrollment server's certificate: degraded 5 days before it expires", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const soon = await (await devTrust()).deployment.ca.issue({
    name: "enroll",
    usage: "server",
    hosts: ["127.0.0.1"],
    days: 5,
  });
  await Deno.writeTextFile(`${dir.path}/enroll.pem`, soon.cert);
  await writePrivateFile(`${dir.path}/enroll.key`, soon.key);
  await using master = await startMaster(`${dir.path}/m`, ns.url, {
    enroll: await devEnrollment(freePort(), {
      tls_cert: `${dir.path}/enroll.pem`,
      tls_key: `${dir.path}/enroll.key`,
    }),
  });
  const body = await readyzBecomes(
    await healthUrl(master),
    200,
    10_000,
    (b) => b.checks.certificate?.status === "degraded",
  );
  assert.match(body.checks.certificate!.message!, /^4 days left: enroll\.tls_cert expires /);
  assert.equal(body.status, "degraded");
});
