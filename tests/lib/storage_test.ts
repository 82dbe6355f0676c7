import assert from "node:assert/strict";
import { BUCKETS, provisionStorage, STREAMS } from "../../lib/bus/mod.ts";
import { client, closeClient, startNatsServer } from "../harness/mod.ts";

const NS_PER_MS = 1_000_000;

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

    // A bucket whose history or TTL drifted is corrected, and nothing else is touched.
    const facts = (await jsm.streams.info("KV_facts")).config;
    await jsm.streams.update("KV_facts", { ...facts, max_msgs_per_subject: 2 });
    const third = await provisionStorage(jsm);
    assert.deepEqual(third.filter((r) => r.action !== "unchanged"), [
      { stream: "KV_facts", action: "updated" },
    ]);
    assert.equal((await jsm.streams.info("KV_facts")).config.max_msgs_per_subject, 5);

    // The buckets work as KV stores through nats.js.
    const kv = await nc.jetstream().views.kv("jobs", { bindOnly: true });
    await kv.put("k", new Uint8Array([1]));
    assert.deepEqual((await kv.get("k"))?.value, new Uint8Array([1]));
  } finally {
    await closeClient(nc);
  }
});
