/**
 * Fact ingestion: a peel's facts are acknowledged only once the master's index has them, and
 * a peel gone for good leaves the index.
 */
import assert from "node:assert/strict";
import { BUCKETS, decode, encode, subjects } from "../../lib/bus/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { client, closeClient, masterConfig, startNatsServer, tempDir } from "../harness/mod.ts";

Deno.test("facts - the reply to a peel's first facts comes after the master's index has them", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path),
    new Logger({ level: "error", sink: () => {} }),
  );
  const nc = await client(ns.url);
  try {
    const ids = Array.from({ length: 1_500 }, (_, i) => `fresh-${i}`);
    const unknownAtReply: string[] = [];
    // In rounds of 500, each peel's first facts, as a fleet starting up sends them.
    for (let i = 0; i < ids.length; i += 500) {
      await Promise.all(
        ids.slice(i, i + 500).map(async (id) => {
          const r = await nc.request(
            subjects.fact(id),
            encode({
              peel_id: id,
              facts: { id, role: "web" },
              collected: new Date().toISOString(),
            }),
            { timeout: 10_000 },
          );
          assert.deepEqual(decode(r.data), { ok: true });
          if (!master.index.get(id)) unknownAtReply.push(id);
        }),
      );
    }
    assert.deepEqual(unknownAtReply, [], "acknowledged before the index had them");
  } finally {
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("facts - a peel whose facts were not refreshed for peel_expiry leaves the index", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path, { peel_expiry: "2s" }),
    new Logger({ level: "error", sink: () => {} }),
  );
  const nc = await client(ns.url);
  const send = async (id: string) => {
    const r = await nc.request(
      subjects.fact(id),
      encode({ peel_id: id, facts: { id }, collected: new Date().toISOString() }),
      { timeout: 5_000 },
    );
    assert.deepEqual(decode(r.data), { ok: true });
  };
  try {
    await send("gone-01");
    await send("here-01");
    assert.ok(master.index.get("gone-01"));
    // here-01 keeps sending its facts, as a connected peel does; gone-01 stops. Expired 2 s
    // after its facts, swept within a second more: 15 s leaves room for a loaded machine.
    for (let i = 0; i < 30 && master.index.get("gone-01"); i++) {
      await new Promise((r) => setTimeout(r, 500));
      await send("here-01");
    }
    assert.equal(master.index.get("gone-01"), undefined, "gone-01 expired");
    assert.ok(master.index.get("here-01"), "here-01 stays");
    const kv = await nc.jetstream().views.kv(BUCKETS.facts.name, { bindOnly: true });
    assert.notEqual((await kv.get("gone-01"))?.operation, "PUT");
    await send("gone-01");
    assert.ok(master.index.get("gone-01"), "back with its next facts");
  } finally {
    await closeClient(nc);
    await master.stop();
  }
});
