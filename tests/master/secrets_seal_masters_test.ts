/**
 * The master's sealer keeps what each peel's record holds in memory, so that it rewrites only the
 * records whose secrets changed and replaces its own writes without reading them first. These
 * tests check that a restarted master or a second one rewrites nothing that already holds, that a
 * record another master wrote is read before being replaced, and that one peel's new assignment
 * rewrites that peel's record only.
 */
import assert from "node:assert/strict";
import type { KV } from "nats";
import { BUCKETS, encode, openBucket, provisionStorage } from "../../lib/bus/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import {
  type BoxKey,
  createBoxKey,
  encodeBoxPublicKey,
  openPeelSecrets,
  sealToMaster,
} from "../../lib/secrets/mod.ts";
import { FactIndex } from "../../master/fact_index.ts";
import { SecretSealer } from "../../master/settings_secrets.ts";
import { client, closeClient, startNatsServer } from "../harness/mod.ts";

const utf8 = new TextEncoder();
const IDS = ["p-1", "p-2", "p-3"] as const;

/** A sealer over the shared buckets, with `index` for its view of the peels' facts. */
function sealer(secretsKv: KV, enrollmentsKv: KV, index: FactIndex, boxKey: BoxKey) {
  const log = new Logger({ level: "error", sink: () => {} });
  return new SecretSealer({ secretsKv, enrollmentsKv, index, boxKey, log });
}

/** Publish a tree giving every peel `common` and `G@role:db` peels `db`, with values `v`. */
function publish(s: SecretSealer, masterKey: BoxKey, v: string): Promise<void> {
  const seal = (x: string) => sealToMaster(x, masterKey.publicKey);
  s.transform("top.zy", utf8.encode("base:\n  '*':\n    - common\n  'G@role:db':\n    - db\n"));
  s.transform("common.zy", utf8.encode(`common:\n  token: !encrypted ${seal(`T-${v}`)}\n`));
  s.transform("db.zy", utf8.encode(`db:\n  password: !encrypted ${seal(`P-${v}`)}\n`));
  return s.published(new Set(["top.zy", "common.zy", "db.zy"]));
}

Deno.test("secrets seal - a restarted or second master rewrites nothing that holds; one peel's new assignment rewrites that peel only", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  try {
    await provisionStorage(await nc.jetstreamManager());
    const secretsKv = await openBucket(nc, BUCKETS.secrets);
    const enrollmentsKv = await openBucket(nc, BUCKETS.enrollments);
    const masterKey = createBoxKey();
    const keys = new Map(IDS.map((id) => [id, createBoxKey()]));
    const now = new Date().toISOString();
    for (const [id, key] of keys) {
      await enrollmentsKv.put(
        id,
        encode({
          id,
          nkey: `U${"A".repeat(55)}`,
          box_public_key: encodeBoxPublicKey(key.publicKey),
          status: "active",
          created: now,
          updated: now,
          history: [],
        }),
      );
    }
    const indexA = new FactIndex();
    const indexB = new FactIndex();
    for (const index of [indexA, indexB]) for (const id of IDS) index.set(id, { role: "web" });
    const revisions = async () => {
      const out: Record<string, number | undefined> = {};
      for (const id of IDS) out[id] = (await secretsKv.get(id))?.revision;
      return out;
    };
    const opened = async (id: (typeof IDS)[number]) =>
      await openPeelSecrets((await secretsKv.get(id))!.value, keys.get(id)!);

    const a = sealer(secretsKv, enrollmentsKv, indexA, masterKey);
    await publish(a, masterKey, "1");
    await a.start();
    const first = await revisions();
    assert.ok(IDS.every((id) => first[id] !== undefined), "every peel sealed");
    assert.deepEqual(await opened("p-1"), { "common.zy:common.token": "T-1" });

    // A second master (or this one restarted) knows nothing yet: it reads, compares, keeps.
    const b = sealer(secretsKv, enrollmentsKv, indexB, masterKey);
    try {
      await publish(b, masterKey, "1");
      await b.start();
      assert.deepEqual(await revisions(), first, "a master that starts rewrites nothing");

      // B seals a new tree; A, whose records B replaced, reads them before replacing any.
      await publish(b, masterKey, "2");
      const second = await revisions();
      assert.ok(IDS.every((id) => second[id]! > first[id]!), "the new tree is sealed");
      await publish(a, masterKey, "2");
      assert.deepEqual(await revisions(), second, "what B sealed holds: A rewrites nothing");
      assert.deepEqual(await opened("p-2"), { "common.zy:common.token": "T-2" });

      // One peel's facts now assign it `db`: its record alone is rewritten.
      indexA.set("p-2", { role: "db" });
      await a.sealAll();
      const third = await revisions();
      assert.ok(third["p-2"]! > second["p-2"]!, "p-2 rewritten");
      assert.equal(third["p-1"], second["p-1"]);
      assert.equal(third["p-3"], second["p-3"]);
      assert.deepEqual(await opened("p-2"), {
        "common.zy:common.token": "T-2",
        "db.zy:db.password": "P-2",
      });

      // A peel given a new box key gets a record sealed to it, which its old key cannot open.
      const rekeyed = createBoxKey();
      const old = keys.get("p-3")!;
      keys.set("p-3", rekeyed);
      await enrollmentsKv.put(
        "p-3",
        encode({
          id: "p-3",
          nkey: `U${"A".repeat(55)}`,
          box_public_key: encodeBoxPublicKey(rekeyed.publicKey),
          status: "active",
          created: now,
          updated: now,
          history: [],
        }),
      );
      const end = Date.now() + 10_000;
      while ((await secretsKv.get("p-3"))!.revision === third["p-3"]) {
        if (Date.now() > end) throw new Error("timed out waiting for p-3's new record");
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(await opened("p-3"), { "common.zy:common.token": "T-2" });
      await assert.rejects(
        openPeelSecrets((await secretsKv.get("p-3"))!.value, old),
        /not sealed for this peel's key/,
      );
    } finally {
      await b.stop();
      await a.stop();
    }
  } finally {
    await closeClient(nc);
  }
});
