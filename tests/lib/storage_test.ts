import assert from "node:assert/strict";
import { BUCKETS, provisionStorage, STREAMS } from "../../lib/bus/mod.ts";
import { MasterConfig } from "../../lib/config/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { client, closeClient, startNatsServer } from "../harness/mod.ts";

const NS_PER_MS = 1_000_000;
const DAY_NS = 86_400_000 * NS_PER_MS;

Deno.test("storage - provisioning creates every declared bucket and stream, idempotently", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  try {
    const jsm = await nc.jetstreamManager();
    const first = await provisionStorage(jsm);
    const all = Object.keys(BUCKETS).length + Object.keys(STREAMS).length;
    assert.equal(first.length, all);
    assert.ok(first.every((r) => r.action === "created"), JSON.stringify(first));

    const second = await provisionStorage(jsm);
    assert.ok(second.every((r) => r.action === "unchanged"), JSON.stringify(second));

    for (const b of Object.values(BUCKETS)) {
      const { config } = await jsm.streams.info(`KV_${b.name}`);
      assert.equal(config.max_msgs_per_subject, b.history, `${b.name} history`);
      assert.equal(config.max_age, b.ttlMs * NS_PER_MS, `${b.name} ttl`);
      assert.equal(config.storage, b.storage, `${b.name} storage`);
    }
    const jobs = (await jsm.streams.info("KV_jobs")).config;
    assert.equal(jobs.max_age, 7 * 24 * 3600 * 1000 * NS_PER_MS);
    assert.equal(jobs.max_msgs_per_subject, 10);
    assert.equal(
      (await jsm.streams.info("KV_master-heartbeat")).config.max_age,
      15_000 * NS_PER_MS,
    );
    assert.equal((await jsm.streams.info("KV_enroll-challenges")).config.storage, "memory");
    const events = (await jsm.streams.info("job-events")).config;
    assert.deepEqual(events.subjects, ["zester.job.>"]);
    assert.equal(events.max_age, 7 * 24 * 3600 * 1000 * NS_PER_MS);

    // An operator's edit of a limit is kept; the write-once flag Zester depends on is restored.
    const facts = (await jsm.streams.info("KV_facts")).config;
    await jsm.streams.update("KV_facts", { ...facts, max_msgs_per_subject: 2 });
    const returns = (await jsm.streams.info("KV_job-returns")).config;
    await jsm.streams.update("KV_job-returns", { ...returns, discard_new_per_subject: false });
    const third = await provisionStorage(jsm);
    assert.deepEqual(third.filter((r) => r.action !== "unchanged" || r.drift), [
      {
        stream: "KV_facts",
        action: "unchanged",
        drift: [{ field: "history", configured: 5, actual: 2 }],
      },
      { stream: "KV_job-returns", action: "updated" },
    ]);
    assert.equal((await jsm.streams.info("KV_facts")).config.max_msgs_per_subject, 2);
    assert.equal((await jsm.streams.info("KV_job-returns")).config.discard_new_per_subject, true);

    // The buckets work as KV stores through nats.js.
    const kv = await nc.jetstream().views.kv("jobs", { bindOnly: true });
    await kv.put("k", new Uint8Array([1]));
    assert.deepEqual((await kv.get("k"))?.value, new Uint8Array([1]));
  } finally {
    await closeClient(nc);
  }
});

Deno.test("storage - retention comes from config at creation; an operator's nats stream edit is kept with a warning", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  try {
    const jsm = await nc.jetstreamManager();
    const cfg = MasterConfig.parse({
      nats_url: ns.url,
      retention: {
        jobs: { max_age: "14d", history: 20 },
        "job-events": { max_age: "30d", max_bytes: "10GB" },
      },
    });
    const lines: string[] = [];
    const log = new Logger({ level: "info", sink: (l) => lines.push(l) });
    const opts = { replicas: cfg.storage_replicas, limits: cfg.retention, log };
    await provisionStorage(jsm, opts);
    const jobs = (await jsm.streams.info("KV_jobs")).config;
    assert.equal(jobs.max_age, 14 * DAY_NS);
    assert.equal(jobs.max_msgs_per_subject, 20);
    const events = (await jsm.streams.info("job-events")).config;
    assert.equal(events.max_age, 30 * DAY_NS);
    assert.equal(events.max_bytes, 10 * 1024 ** 3);
    assert.equal((await jsm.streams.info("KV_job-returns")).config.max_age, 7 * DAY_NS);
    assert.deepEqual(lines, [], "nothing to warn about after creation");

    // The operator runs `nats stream edit KV_jobs --max-age 3d` and `... job-events --max-bytes 1GB`.
    await jsm.streams.update("KV_jobs", { ...jobs, max_age: 3 * DAY_NS });
    await jsm.streams.update("job-events", { ...events, max_bytes: 1024 ** 3 });
    const again = await provisionStorage(jsm, opts);
    assert.equal((await jsm.streams.info("KV_jobs")).config.max_age, 3 * DAY_NS, "edit kept");
    assert.equal((await jsm.streams.info("job-events")).config.max_bytes, 1024 ** 3, "edit kept");
    assert.ok(again.every((r) => r.action === "unchanged"), JSON.stringify(again));
    const warnings = lines.map((l) => JSON.parse(l));
    assert.deepEqual(
      warnings.map((w) => [w.level, w.msg, w.stream, w.field, w.configured, w.actual]),
      [
        [
          "warn",
          'Stream "KV_jobs" has max_age 3d where the config says 14d: left as it is (nats stream edit KV_jobs --max-age 14d applies the config)',
          "KV_jobs",
          "max_age",
          14 * DAY_NS,
          3 * DAY_NS,
        ],
        [
          "warn",
          'Stream "job-events" has max_bytes 1073741824 where the config says 10737418240: left as it is (nats stream edit job-events --max-bytes 10737418240 applies the config)',
          "job-events",
          "max_bytes",
          10 * 1024 ** 3,
          1024 ** 3,
        ],
      ],
    );
  } finally {
    await closeClient(nc);
  }
});

Deno.test("storage - retention config names buckets and streams, and refuses history where keys are written once", () => {
  const parse = (retention: unknown) =>
    MasterConfig.parse({ nats_url: "nats://127.0.0.1:4222", retention });
  assert.deepEqual(parse({ basket: { replicas: 3, max_bytes: 1000 } }).retention, {
    basket: { replicas: 3, maxBytes: 1000 },
  });
  assert.throws(
    () => parse({ jobz: {} }),
    /field "retention\.jobz": expected a bucket or stream name \(facts, /,
  );
  assert.throws(
    () => parse({ "job-returns": { history: 3 } }),
    /field "retention\.job-returns\.history"/,
  );
  assert.throws(
    () => parse({ jobs: { max_age: "soon" } }),
    /field "retention\.jobs\.max_age": expected a duration/,
  );
  assert.throws(
    () => parse({ jobs: { max_bytes: "lots" } }),
    /field "retention\.jobs\.max_bytes": expected a size/,
  );
});
