/**
 * The master seals each peel the secrets of the settings files its top file assigns it: again
 * when the tree changes, when a peel's facts change what its top file assigns, and when a peel
 * enrolls; a revoked peel's record is removed; a peel without a known box key gets none, logged
 * once, also when it is revoked while its record is being written; and a master without a box key
 * refuses to publish a file holding a sealed value.
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
  writeBoxKeyFile,
} from "../../lib/secrets/mod.ts";
import { FactIndex } from "../../master/fact_index.ts";
import { Master } from "../../master/master.ts";
import { SecretSealer } from "../../master/settings_secrets.ts";
import {
  client,
  closeClient,
  masterConfig,
  startNatsServer,
  tempDir,
  until,
} from "../harness/mod.ts";

const NKEY = `U${"A".repeat(55)}`;

/** An enrollment record of `id` with `key`'s public half, as the master's API writes it. */
function enrollment(id: string, key: BoxKey, status: string) {
  const now = new Date().toISOString();
  return encode({
    id,
    nkey: NKEY,
    box_public_key: encodeBoxPublicKey(key.publicKey),
    status,
    created: now,
    updated: now,
    history: [{ status, at: now, actor: "test" }],
  });
}

Deno.test("secrets seal - per peel from the top file; re-sealed on tree, facts and enrollment; removed on revoke", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const d = dir.path;
  const settings = `${d}/settings`;
  await Deno.mkdir(settings);
  const masterKey = createBoxKey();
  await writeBoxKeyFile(`${d}/master-box.key`, masterKey);
  const seal = (v: string) => sealToMaster(v, masterKey.publicKey);
  await Deno.writeTextFile(
    `${settings}/top.zy`,
    "base:\n  '*':\n    - common\n  'G@role:db':\n    - db\n",
  );
  await Deno.writeTextFile(`${settings}/common.zy`, `common:\n  token: !encrypted ${seal("T1")}\n`);
  await Deno.writeTextFile(
    `${settings}/db.zy`,
    `include:\n  - users\ndb:\n  password: !encrypted ${seal("P1")}\n`,
  );
  await Deno.writeTextFile(
    `${settings}/users.zy`,
    `users:\n  password: !encrypted ${seal("U1")}\n`,
  );
  const lines: string[] = [];
  const nc = await client(ns.url);
  const master = await Master.start(
    await masterConfig(ns.url, d, { settings_dir: settings, box_key_file: `${d}/master-box.key` }),
    new Logger({ level: "info", sink: (l) => lines.push(l) }),
  );
  const keys = { "db-01": createBoxKey(), "web-01": createBoxKey() };
  let secretsKv!: KV;
  try {
    const factsKv = await openBucket(nc, BUCKETS.facts);
    const enrollKv = await openBucket(nc, BUCKETS.enrollments);
    secretsKv = await openBucket(nc, BUCKETS.secrets);
    const facts = (id: string, role: string) =>
      factsKv.put(
        id,
        encode({ peel_id: id, facts: { role }, collected: new Date().toISOString() }),
      );
    const opened = async (id: keyof typeof keys) => {
      const e = await secretsKv.get(id);
      return e?.operation === "PUT" ? await openPeelSecrets(e.value, keys[id]) : undefined;
    };

    await t.step("a peel without a known box key gets nothing, logged once", async () => {
      await facts("db-01", "db");
      await facts("db-01", "db");
      await until(
        "the log line",
        () => lines.some((l) => /no box key known/.test(l)),
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(lines.filter((l) => /no box key known.*db-01/.test(l)).length, 1);
      assert.equal(await secretsKv.get("db-01"), null);
    });

    await t.step(
      "enrolled: each peel gets the secrets of its files and their includes",
      async () => {
        await enrollKv.put("db-01", enrollment("db-01", keys["db-01"], "active"));
        await facts("web-01", "web");
        await enrollKv.put("web-01", enrollment("web-01", keys["web-01"], "approved"));
        await until("db-01's record", async () => (await opened("db-01")) !== undefined);
        assert.deepEqual(await opened("db-01"), {
          "common.zy:common.token": "T1",
          "db.zy:db.password": "P1",
          "users.zy:users.password": "U1",
        });
        await until("web-01's record", async () => (await opened("web-01")) !== undefined);
        assert.deepEqual(await opened("web-01"), { "common.zy:common.token": "T1" });
      },
    );

    await t.step("facts that change what the top file assigns re-seal; the tree too", async () => {
      await facts("web-01", "db");
      await until(
        "web-01 to get db's secrets",
        async () => (await opened("web-01"))?.["db.zy:db.password"] === "P1",
      );
      const revision = (await secretsKv.get("db-01"))!.revision;
      await facts("db-01", "db");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await secretsKv.get("db-01"))!.revision, revision, "unchanged: not rewritten");
      await Deno.writeTextFile(
        `${settings}/db.zy`,
        `include:\n  - users\ndb:\n  password: !encrypted ${seal("P2")}\n`,
      );
      await until(
        "P2 on db-01",
        async () => (await opened("db-01"))?.["db.zy:db.password"] === "P2",
      );
    });

    await t.step("a revoked peel's record is removed", async () => {
      await enrollKv.put("web-01", enrollment("web-01", keys["web-01"], "revoked"));
      await until(
        "web-01's record to go",
        async () => (await secretsKv.get("web-01"))?.operation === "PURGE",
      );
      assert.equal(await opened("web-01"), undefined);
    });
  } finally {
    await master.stop();
    await closeClient(nc);
  }
});

Deno.test("secrets seal - a peel revoked while its record is being written ends with none", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  const log = new Logger({ level: "error", sink: () => {} });
  const index = new FactIndex();
  let sealer: SecretSealer | undefined;
  try {
    await provisionStorage(await nc.jetstreamManager());
    const factsKv = await openBucket(nc, BUCKETS.facts);
    const enrollKv = await openBucket(nc, BUCKETS.enrollments);
    const secretsKv = await openBucket(nc, BUCKETS.secrets);
    await factsKv.put(
      "web-01",
      encode({ peel_id: "web-01", facts: {}, collected: new Date().toISOString() }),
    );
    const peelKey = createBoxKey();
    await enrollKv.put("web-01", enrollment("web-01", peelKey, "active"));
    await index.follow(factsKv, log);
    // The sealer's writes of web-01's record wait until the revocation has been handled.
    const writing = Promise.withResolvers<void>();
    const purged = Promise.withResolvers<void>();
    const held = new Proxy(secretsKv, {
      get(target, name) {
        const real = Reflect.get(target, name, target);
        if (typeof real !== "function") return real;
        return async (...args: unknown[]) => {
          if (args[0] === "web-01" && ["put", "update", "create"].includes(String(name))) {
            writing.resolve();
            await purged.promise;
          }
          const out = await real.apply(target, args);
          if (args[0] === "web-01" && name === "purge") purged.resolve();
          return out;
        };
      },
    });
    const masterKey = createBoxKey();
    sealer = new SecretSealer({
      secretsKv: held,
      enrollmentsKv: enrollKv,
      index,
      boxKey: masterKey,
      log,
    });
    const files = {
      "top.zy": "base:\n  '*':\n    - common\n",
      "common.zy": `token: !encrypted ${sealToMaster("T1", masterKey.publicKey)}\n`,
    };
    for (const [path, text] of Object.entries(files)) {
      sealer.transform(path, new TextEncoder().encode(text));
    }
    await sealer.published(new Set(Object.keys(files)));
    const started = sealer.start();
    await writing.promise;
    await enrollKv.put("web-01", enrollment("web-01", peelKey, "revoked"));
    await started;
    const e = await secretsKv.get("web-01");
    assert.equal(e?.operation, "PURGE", "the record written after the revocation is removed");
  } finally {
    await sealer?.stop();
    index.stop();
    await closeClient(nc);
  }
});

Deno.test("secrets seal - a master without box_key_file refuses a file with a sealed value, saying why", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const settings = `${dir.path}/settings`;
  await Deno.mkdir(settings);
  const literal = sealToMaster("x", createBoxKey().publicKey);
  await Deno.writeTextFile(`${settings}/top.zy`, "base:\n  '*':\n    - db\n");
  await Deno.writeTextFile(`${settings}/db.zy`, `db:\n  a: 1\n  password: !encrypted ${literal}\n`);
  const lines: string[] = [];
  const nc = await client(ns.url);
  const master = await Master.start(
    await masterConfig(ns.url, dir.path, { settings_dir: settings }),
    new Logger({ level: "info", sink: (l) => lines.push(l) }),
  );
  try {
    const kv = await openBucket(nc, BUCKETS.settingsFiles);
    assert.ok(await kv.get("top.zy"));
    assert.equal(await kv.get("db.zy"), null);
    const line = lines.find((l) => /cannot publish a file of the settings tree/.test(l));
    assert.match(
      line ?? lines.join("\n"),
      /Cannot publish settings file \\"db\.zy\\": it holds !encrypted values \(line 3\) and this master has no box_key_file to open them/,
    );
    assert.ok(!lines.join("\n").includes(literal));
  } finally {
    await master.stop();
    await closeClient(nc);
  }
});
