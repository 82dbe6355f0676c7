/** Fact ingestion: a peel's facts are acknowledged only once the master's index has them. */
import assert from "node:assert/strict";
import { decode, encode, subjects } from "../../lib/bus/mod.ts";
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
