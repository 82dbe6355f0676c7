/**
 * Attack: reading a secret meant for one peel from anywhere else — another peel's key or creds,
 * the published settings files, the KV values, the peel's data dir, the operator's command line
 * and output. Sealed values reach `settings-files` only as placeholders, each peel's record
 * opens with its own key only, nats-server gives a peel its own record alone, and what the peel
 * keeps on disk is sealed. Before this layer the `secrets` bucket held whatever was put there,
 * and a peel could not read the master's public key.
 */
import assert from "node:assert/strict";
import type { NatsConnection, Status } from "nats";
import { BUCKETS, connectBus, encode, openBucket, provisionStorage } from "../../lib/bus/mod.ts";
import { CliConfig, cliPermissionFlags } from "../../lib/config/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import {
  type BoxKey,
  createBoxKey,
  encodeBoxPublicKey,
  MASTER_PUBLIC_KEY_ID,
  openAtRest,
  openMasterSealed,
  openPeelSecrets,
  publishMasterPublicKey,
  publishPeelSecrets,
  readMasterPublicKey,
  sanitizeSettingsFile,
  sealAtRest,
  sealToMaster,
  SecretOpenError,
  substituteSecrets,
  writeBoxKeyFile,
} from "../../lib/secrets/mod.ts";
import { Master } from "../../master/master.ts";
import {
  client,
  closeClient,
  issuePeelFiles,
  masterConfig,
  runZester,
  startNatsServer,
  tempDir,
  writeCliConfig,
} from "../harness/mod.ts";

const utf8 = new TextEncoder();

/** True when `haystack` holds the bytes of `needle`. */
function holds(haystack: Uint8Array, needle: string): boolean {
  const n = utf8.encode(needle);
  outer: for (let i = 0; i + n.length <= haystack.length; i++) {
    for (let j = 0; j < n.length; j++) if (haystack[i + j] !== n[j]) continue outer;
    return true;
  }
  return false;
}

/** Connect as peel `id`, with creds issued into `dir`. */
async function peelClient(url: string, id: string, dir: string): Promise<NatsConnection> {
  const f = (await issuePeelFiles(url, id, dir))!;
  return await connectBus({
    servers: [url],
    name: `peel-${id}`,
    credsFile: f.nats_creds,
    caFile: f.nats_ca,
    certFile: f.nats_cert,
    keyFile: f.nats_key,
  });
}

/** Every permission violation the server reports to `nc`. */
function violations(nc: NatsConnection): string[] {
  const seen: string[] = [];
  (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as Status & { permissionContext?: { subject: string } }).permissionContext;
      if (ctx) seen.push(ctx.subject);
    }
  })();
  return seen;
}

async function refused(seen: string[], subject: string): Promise<void> {
  for (let i = 0; i < 100 && !seen.includes(subject); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(seen.includes(subject), `the server did not refuse ${subject}: ${seen.join(", ")}`);
}

Deno.test("secrets - a peel's creds read its own record and the master's key, nothing more, and write none", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = createBoxKey();
  const web01 = createBoxKey();
  const test = await client(ns.url);
  await provisionStorage(await test.jetstreamManager());
  const kv = await openBucket(test, BUCKETS.secrets);
  await publishMasterPublicKey(kv, master);
  await publishPeelSecrets(kv, "web-01", web01.publicKey, { pw: "web-01's" }, master);
  await publishPeelSecrets(kv, "web-02", createBoxKey().publicKey, { pw: "web-02's" }, master);
  await Deno.mkdir(`${dir.path}/web-01`);
  const peel = await peelClient(ns.url, "web-01", `${dir.path}/web-01`);
  const admin = await client(ns.url, "admin");
  const seen = violations(peel);
  try {
    const mine = await openBucket(peel, BUCKETS.secrets);
    assert.deepEqual(await openPeelSecrets((await mine.get("web-01"))!.value, web01), {
      pw: "web-01's",
    });
    assert.deepEqual(await readMasterPublicKey(mine), master.publicKey);
    await assert.rejects(mine.get("web-02"), /Permissions Violation/);

    // Its own record and the master's key are the master's to write.
    peel.publish("$KV.secrets.web-01", encode({ master_public_key: "forged", secrets: {} }));
    await refused(seen, "$KV.secrets.web-01");
    peel.publish(`$KV.secrets.${MASTER_PUBLIC_KEY_ID}`, encode({ box_public_key: "forged" }));
    await refused(seen, `$KV.secrets.${MASTER_PUBLIC_KEY_ID}`);
    assert.deepEqual(await readMasterPublicKey(kv), master.publicKey);
    assert.deepEqual(await openPeelSecrets((await kv.get("web-01"))!.value, web01), {
      pw: "web-01's",
    });

    // The operator's CLI reads the master's key, for zester settings encrypt, and no record.
    const adminKv = await openBucket(admin, BUCKETS.secrets);
    assert.deepEqual(await readMasterPublicKey(adminKv), master.publicKey);
    await assert.rejects(adminKv.get("web-01"), /Permissions Violation/);
  } finally {
    await closeClient(peel);
    await closeClient(admin);
    await closeClient(test);
  }
});

Deno.test("secrets - no plaintext in settings-files, the secrets bucket or the peel's data dir", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = createBoxKey();
  const peels: Record<string, BoxKey> = { "web-01": createBoxKey(), "web-02": createBoxKey() };
  const plain = { db: "PLAINTEXT-db-7f3a91", api: "PLAINTEXT-api-c02e44" };
  const file = [
    "db:",
    `  password: !encrypted ${sealToMaster(plain.db, master.publicKey)}`,
    "api:",
    `  token: !encrypted "${sealToMaster(plain.api, master.publicKey)}"`,
  ].join("\n");
  const nc = await client(ns.url);
  try {
    await provisionStorage(await nc.jetstreamManager());
    // What the master does: sanitize, publish the file, open each value and seal it per peel.
    const sanitized = sanitizeSettingsFile("web.zy", file);
    await (await openBucket(nc, BUCKETS.settingsFiles)).put("web.zy", utf8.encode(sanitized.text));
    const opened = Object.fromEntries(
      sanitized.secrets.map((s) => [s.id, openMasterSealed(s.literal, master)]),
    );
    assert.deepEqual(opened, { "web.zy:db.password": plain.db, "web.zy:api.token": plain.api });
    const kv = await openBucket(nc, BUCKETS.secrets);
    await publishMasterPublicKey(kv, master);
    for (const [id, key] of Object.entries(peels)) {
      await publishPeelSecrets(kv, id, key.publicKey, opened, master);
    }

    // Every stored message of both buckets, scanned as bytes.
    const jsm = await nc.jetstreamManager();
    for (const bucket of [BUCKETS.settingsFiles, BUCKETS.secrets]) {
      const stream = `KV_${bucket.name}`;
      const last = (await jsm.streams.info(stream)).state.last_seq;
      assert.ok(last > 0);
      for (let seq = 1; seq <= last; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq });
        for (const p of Object.values(plain)) assert.ok(!holds(m.data, p), `${stream} #${seq}`);
      }
    }

    // web-02's key opens nothing of web-01's record.
    const record01 = (await kv.get("web-01"))!.value;
    await assert.rejects(openPeelSecrets(record01, peels["web-02"]!), SecretOpenError);

    // The peel: renders the placeholders, substitutes, keeps the result sealed in its data dir.
    const rendered = {
      db: { password: "__ZESTER_SECRET:web.zy:db.password__" },
      api: { token: "__ZESTER_SECRET:web.zy:api.token__" },
    };
    const settings = substituteSecrets(rendered, await openPeelSecrets(record01, peels["web-01"]!));
    assert.deepEqual(settings, { db: { password: plain.db }, api: { token: plain.api } });
    const path = `${dir.path}/settings.sealed`;
    await Deno.writeFile(path, sealAtRest(encode(settings), peels["web-01"]!));
    const onDisk = await Deno.readFile(path);
    for (const p of Object.values(plain)) assert.ok(!holds(onDisk, p), "at-rest file");
    assert.ok(holds(openAtRest(onDisk, peels["web-01"]!), plain.db));
    assert.throws(() => openAtRest(onDisk, peels["web-02"]!), SecretOpenError);
  } finally {
    await closeClient(nc);
  }
});

Deno.test("secrets - zester settings encrypt seals stdin, never argv, to a key the master opens", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const key = createBoxKey();
  await writeBoxKeyFile(`${dir.path}/master-box.key`, key);
  await Deno.writeTextFile(`${dir.path}/master-box.pub`, encodeBoxPublicKey(key.publicKey) + "\n");
  const value = "PLAINTEXT-cli-5d1e0b";
  const check = (r: { code: number; stdout: string; stderr: string }) => {
    assert.equal(r.code, 0, r.stderr);
    const literal = /^!encrypted (zbox1:\S+)\n$/.exec(r.stdout)?.[1];
    assert.ok(literal, r.stdout);
    assert.equal(openMasterSealed(literal, key), value);
    assert.ok(!r.stderr.includes(value));
  };

  // From the public key file zester init writes, without NATS.
  const offline = cliPermissionFlags(CliConfig.parse({}));
  const pubArgs = ["settings", "encrypt", "--master-key", `${dir.path}/master-box.pub`];
  check(await runZester(offline, pubArgs, `${value}\n`));
  const empty = await runZester(offline, pubArgs, "\n");
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /No value on stdin/);
  const argv = await runZester(offline, [...pubArgs, value], "");
  assert.equal(argv.code, 2, "a value on the command line is refused");
  assert.ok(!argv.stdout.includes("zbox1:"));

  // From the key a master with box_key_file publishes.
  const master = await Master.start(
    await masterConfig(ns.url, dir.path, { box_key_file: `${dir.path}/master-box.key` }),
    new Logger({ level: "error", sink: () => {} }),
  );
  try {
    const flags = await writeCliConfig(`${dir.path}/cli.yaml`, ns.url);
    check(
      await runZester(flags, ["--config", `${dir.path}/cli.yaml`, "settings", "encrypt"], value),
    );
  } finally {
    await master.stop();
  }
});
