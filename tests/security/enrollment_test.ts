/**
 * Attack: getting a peel's NATS identity without an operator's say-so, or keeping it after the
 * operator took it back. A fresh peel proves it holds its key by signing a single-use nonce,
 * waits for approval, and gets creds for its own id only; replayed, expired and wrongly signed
 * proofs, wrong bootstrap tokens and bad input are refused; a revoked peel is dropped within
 * 5 s and cannot come back. Before enrollment, a peel could only get creds from the deployment's
 * operator, and nothing could take them back but editing the account by hand.
 */
import assert from "node:assert/strict";
import type { KV } from "nats";
import { createUser, fromSeed } from "nkeys.js";
import { decodeJwt, readCredsFile } from "../../lib/auth/mod.ts";
import { BUCKETS, connectBus, encode, openBucket } from "../../lib/bus/mod.ts";
import {
  credsAuthorization,
  ENROLL_PATH,
  fingerprint,
  readEnrollment,
  signText,
  transitionEnrollment,
} from "../../lib/enroll/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { encodeBoxPublicKey, readBoxKeyFile } from "../../lib/secrets/mod.ts";
import { Master } from "../../master/master.ts";
import {
  client,
  closeClient,
  devEnrollment,
  freePort,
  masterConfig,
  natsFiles,
  runZester,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  until,
  writeCliConfig,
} from "../harness/mod.ts";
import { EnrollApi } from "../harness/enroll.ts";

async function zester(dir: string, url: string, ...args: string[]) {
  const cfg = `${dir}/cli.yaml`;
  return await runZester(await writeCliConfig(cfg, url), ["--config", cfg, ...args]);
}

async function mode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

Deno.test("enrollment - a fresh peel waits for accept, gets creds 0600 for its id, and runs a job", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const port = freePort();
  await using _master = await startMaster(`${dir.path}/master`, ns.url, {
    enroll: await devEnrollment(port),
  });
  await using peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01", {
    enroll: `https://127.0.0.1:${port}`,
    ready: false,
  });
  await peel.waitFor(/waiting for an operator to accept this peel/);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.doesNotMatch(peel.output(), /peel ready/);
  const data = `${dir.path}/peels/web-01/data`;
  await assert.rejects(Deno.stat(`${data}/peel.creds`), Deno.errors.NotFound);
  const pending = await zester(dir.path, ns.url, "key", "list", "--status", "pending");
  assert.match(pending.stdout, /web-01\s+pending/);

  const accepted = await zester(dir.path, ns.url, "key", "accept", "web-01");
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.equal(accepted.stdout.trim(), "web-01: approved");
  await peel.waitFor(/"peel ready"/);
  for (const f of ["peel.creds", "peel.nk", "box.key"]) {
    assert.equal(await mode(`${data}/${f}`), 0o600, f);
  }

  const creds = await readCredsFile(`${data}/peel.creds`);
  const user = decodeJwt(creds.jwt);
  assert.equal(user.name, "web-01");
  assert.deepEqual((user.nats as { sub: { allow: string[] } }).sub.allow.slice(0, 1), [
    "zester.cmd.web-01",
  ]);
  const ping = await zester(dir.path, ns.url, "web-01", "test.ping");
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  assert.match(ping.stdout, /web-01:\s+True/);

  const nc = await client(ns.url);
  try {
    const kv = await openBucket(nc, BUCKETS.enrollments);
    await until(
      "web-01 active",
      async () => (await readEnrollment(kv, "web-01"))?.record.status === "active",
    );
    const { record } = (await readEnrollment(kv, "web-01"))!;
    assert.equal(record.nkey, user.sub);
    const box = await readBoxKeyFile(`${data}/box.key`);
    assert.equal(record.box_public_key, encodeBoxPublicKey(box.publicKey));
    assert.deepEqual(record.history.map((h) => h.status), [
      "pending",
      "approved",
      "issued",
      "active",
    ]);
    assert.match(record.history[1]!.actor, /^cli:/);
    assert.equal(record.history[2]!.actor, "peel:web-01");
    assert.match(record.history[3]!.actor, /^master:/);
  } finally {
    await closeClient(nc);
  }
  const show = await zester(dir.path, ns.url, "key", "show", "web-01");
  assert.match(show.stdout, new RegExp(`Nkey fingerprint:\\s+${fingerprint(user.sub)}`));
  assert.match(show.stdout, /Status:\s+active/);
});

Deno.test("enrollment - a revoked peel is dropped within 5 s, refused on reconnect, and stays up saying why", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const port = freePort();
  await using _master = await startMaster(`${dir.path}/master`, ns.url, {
    enroll: await devEnrollment(port, { policy: "auto-all" }),
  });
  await using peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01", {
    enroll: `https://127.0.0.1:${port}`,
  });
  const before = peel.output().length;
  const revoked = await zester(dir.path, ns.url, "key", "revoke", "web-01");
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout.trim(), "web-01: revoked");
  const pushed = performance.now();
  const dropped = await peel.waitFor(/disconnected from NATS|NATS error|NATS refused/, 5_000);
  assert.ok(performance.now() - pushed < 5_000, dropped);

  // The peel's own creds and certificate no longer get in.
  const f = natsFiles(ns.url, "test")!;
  const base = `${dir.path}/peels/web-01`;
  await assert.rejects(
    connectBus({
      servers: [ns.url],
      name: "revoked",
      credsFile: `${base}/data/peel.creds`,
      caFile: f.nats_ca,
      certFile: `${base}/client.pem`,
      keyFile: `${base}/client.key`,
      connectTimeoutMs: 2_000,
    }).then((nc) => nc.close()),
    /Authorization Violation|revoked/i,
  );
  // Refused on its next reconnect, saying why, and still running 3 s later.
  const refusal = /Authorization Violation|revoked/i;
  await until("the refusal logged", () => refusal.test(peel.output().slice(before)), 30_000);
  await new Promise((r) => setTimeout(r, 3_000));
  const exited = await Promise.race([peel.status.then(() => true), Promise.resolve(false)]);
  assert.equal(exited, false, "the peel process is still running");
  const after = peel.output().slice(before);
  assert.doesNotMatch(after, /Uncaught|\n\s+at /);
  // Stopped while refused, it stops at once: nothing can be drained without a server.
  const t = performance.now();
  assert.equal((await peel.stop()).code, 0);
  assert.ok(performance.now() - t < 5_000);
});

Deno.test("enrollment - a deleted peel enrolls again under its id with a new key; the old key stays revoked", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const port = freePort();
  await using _master = await startMaster(`${dir.path}/master`, ns.url, {
    enroll: await devEnrollment(port, { policy: "auto-all" }),
  });
  const enroll = { enroll: `https://127.0.0.1:${port}` };
  const first = await startPeel(`${dir.path}/peels`, ns.url, "web-01", enroll);
  const base = `${dir.path}/peels/web-01`;
  const oldCreds = `${dir.path}/old.creds`;
  await Deno.copyFile(`${base}/data/peel.creds`, oldCreds);
  const oldKey = decodeJwt((await readCredsFile(oldCreds)).jwt).sub;

  const deleted = await zester(dir.path, ns.url, "key", "delete", "web-01");
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(deleted.stdout.trim(), "web-01: deleted");
  await first.waitFor(/disconnected from NATS|NATS error|NATS refused/, 5_000);
  await first.stop();

  const f = natsFiles(ns.url, "test")!;
  const as = (creds: string) =>
    connectBus({
      servers: [ns.url],
      name: "web-01",
      credsFile: creds,
      caFile: f.nats_ca,
      certFile: `${base}/client.pem`,
      keyFile: `${base}/client.key`,
      connectTimeoutMs: 2_000,
    });
  // The old key cannot come back, neither with its creds nor by enrolling again.
  await assert.rejects(as(oldCreds).then((nc) => nc.close()), /Authorization Violation|revoked/i);
  const api = await EnrollApi.at(port);
  try {
    const seed = (await Deno.readTextFile(`${base}/data/peel.nk`)).trim();
    const again = await api.enroll("web-01", { key: fromSeed(new TextEncoder().encode(seed)) });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.match(String(again.body.error), /was revoked for "web-01": enroll with a new key/);
  } finally {
    api.close();
  }

  // The peel that lost its key: a fresh data dir, a new key, the same id.
  await Deno.remove(`${base}/data`, { recursive: true });
  await using _second = await startPeel(`${dir.path}/peels`, ns.url, "web-01", enroll);
  const newKey = decodeJwt((await readCredsFile(`${base}/data/peel.creds`)).jwt).sub;
  assert.notEqual(newKey, oldKey);
  const ping = await zester(dir.path, ns.url, "web-01", "test.ping");
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  await assert.rejects(as(oldCreds).then((nc) => nc.close()), /Authorization Violation|revoked/i);

  const nc = await client(ns.url);
  try {
    const kv = await openBucket(nc, BUCKETS.enrollments);
    await until(
      "web-01 active",
      async () => (await readEnrollment(kv, "web-01"))?.record.status === "active",
    );
    const { record } = (await readEnrollment(kv, "web-01"))!;
    assert.equal(record.nkey, newKey);
    assert.deepEqual(Object.keys(record.revoked_keys ?? {}), [oldKey]);
    assert.equal(record.revoked_at, undefined);
    assert.deepEqual(record.history.map((h) => h.status), [
      "pending",
      "approved",
      "issued",
      "active",
      "revoked",
      "deleted",
      "pending",
      "approved",
      "issued",
      "active",
    ]);
    for (const h of record.history.slice(4, 6)) assert.match(h.actor, /^cli:/);
  } finally {
    await closeClient(nc);
  }
});

/** Run `fn` with in-process masters on one server, each with its own `enroll:` extras. */
async function withMasters(
  policies: Record<string, unknown>[],
  fn: (
    apis: EnrollApi[],
    kv: { enrollments: KV; challenges: KV },
    lines: string[],
  ) => Promise<void>,
): Promise<void> {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const lines: string[] = [];
  const log = new Logger({ level: "debug", sink: (l) => lines.push(l) });
  const masters: Master[] = [];
  const apis: EnrollApi[] = [];
  const nc = await client(ns.url);
  try {
    for (const [i, extra] of policies.entries()) {
      const port = freePort();
      masters.push(
        await Master.start(
          await masterConfig(ns.url, `${dir.path}/m${i}`, {
            enroll: await devEnrollment(port, extra),
          }),
          log,
        ),
      );
      apis.push(await EnrollApi.at(port));
    }
    await fn(apis, {
      enrollments: await openBucket(nc, BUCKETS.enrollments),
      challenges: await openBucket(nc, BUCKETS.enrollChallenges),
    }, lines);
  } finally {
    for (const a of apis) a.close();
    for (const m of masters) await m.stop();
    await closeClient(nc);
  }
}

Deno.test("enrollment - policies: manual waits, auto_accept globs, auto-trusted tokens, auto-all", async () => {
  await using dir = await tempDir();
  const token = `${dir.path}/enroll.token`;
  await Deno.writeTextFile(token, "s3cret-bootstrap\n", { mode: 0o600 });
  await withMasters([
    { auto_accept: ["web-*"] },
    { policy: "auto-trusted", bootstrap_token_file: token },
    { policy: "auto-all" },
  ], async ([manual, trusted, all], { enrollments }) => {
    assert.equal((await manual!.enroll("db-01")).body.status, "pending");
    assert.equal((await manual!.enroll("web-07")).body.status, "approved");
    const tokenIgnored = await manual!.enroll("db-02", { token: "s3cret-bootstrap" });
    assert.equal(tokenIgnored.body.status, "pending");

    const ok = await trusted!.enroll("app-01", { token: "s3cret-bootstrap" });
    assert.equal(ok.body.status, "approved");
    const wrong = await trusted!.enroll("app-02", { token: "guess" });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.body.error), /Invalid bootstrap token/);
    assert.equal((await trusted!.call("GET", `${ENROLL_PATH}/app-02`)).status, 404);
    assert.equal((await trusted!.enroll("app-03")).body.status, "pending");

    assert.equal((await all!.enroll("any-01")).body.status, "approved");

    const actor = async (id: string) =>
      (await readEnrollment(enrollments, id))!.record.history.at(-1)!.actor;
    assert.equal(await actor("web-07"), "policy:auto_accept web-*");
    assert.equal(await actor("app-01"), "policy:auto-trusted");
    assert.equal(await actor("any-01"), "policy:auto-all");
    assert.equal(await actor("db-01"), "peel:db-01");
    // Another key cannot take an enrolled id.
    const taken = await manual!.enroll("web-07");
    assert.equal(taken.status, 409);
    assert.match(String(taken.body.error), /already enrolled with another key/);
  });
});

Deno.test("enrollment - replayed, expired, foreign and wrongly signed proofs get 401", async () => {
  await withMasters([{ policy: "auto-all" }], async ([api], { challenges }) => {
    const key = createUser();
    const nonce = await api!.nonce("web-01", key);
    const body = api!.enrollBody("web-01", key, nonce);
    assert.equal((await api!.call("POST", ENROLL_PATH, body)).status, 202);
    const replay = await api!.call("POST", ENROLL_PATH, body);
    assert.equal(replay.status, 401);
    assert.match(String(replay.body.error), /expired or already used/);

    // A nonce handed out more than 5 minutes ago, still in the bucket.
    const stale = "A".repeat(43);
    await challenges.put(
      stale,
      encode({ peel_id: "web-02", nkey: key.getPublicKey(), created: Date.now() - 5 * 60_000 - 1 }),
    );
    const expired = await api!.call("POST", ENROLL_PATH, api!.enrollBody("web-02", key, stale));
    assert.equal(expired.status, 401);

    // Signed by another key than the one enrolling.
    const other = createUser();
    const n2 = await api!.nonce("web-03", key);
    const forged = await api!.call("POST", ENROLL_PATH, api!.enrollBody("web-03", key, n2, other));
    assert.equal(forged.status, 401);
    assert.match(String(forged.body.error), /Invalid signature/);

    // A nonce handed out to one key, answered by another that signs it itself.
    const n3 = await api!.nonce("web-04", key);
    const foreign = await api!.call("POST", ENROLL_PATH, api!.enrollBody("web-04", other, n3));
    assert.equal(foreign.status, 401);

    // The creds download: no header, another key, a signature of something else.
    const creds = `${ENROLL_PATH}/web-01/creds`;
    assert.equal((await api!.call("GET", creds)).status, 401);
    const byOther = await api!.call("GET", creds, undefined, {
      authorization: credsAuthorization(other, "web-01"),
    });
    assert.equal(byOther.status, 401);
    const wrongText = await api!.call("GET", creds, undefined, {
      authorization: `Nkey ${key.getPublicKey()}:${signText(key, "web-02")}`,
    });
    assert.equal(wrongText.status, 401);
    const good = await api!.call("GET", creds, undefined, {
      authorization: credsAuthorization(key, "web-01"),
    });
    assert.equal(good.status, 200);
    assert.equal(decodeJwt(String(good.body.jwt)).sub, key.getPublicKey());
  });
});

Deno.test("enrollment - bad input gets 400, 404 or 413 with an error; TLS below 1.3 is refused; the master serves on", async () => {
  await withMasters([{}], async ([api], _kv, lines) => {
    const expect = async (
      a: Promise<{ status: number; body: Record<string, unknown> }>,
      status: number,
      re: RegExp,
    ) => {
      const r = await a;
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(String(r.body.error), re);
    };
    await expect(
      api!.call("POST", `${ENROLL_PATH}/challenge`, "{not json"),
      400,
      /Malformed JSON body/,
    );
    await expect(
      api!.call("POST", `${ENROLL_PATH}/challenge`, { peel_id: "a.b", nkey: "U" }),
      400,
      /peel_id/,
    );
    await expect(api!.call("POST", ENROLL_PATH, { peel_id: "web-01" }), 400, /nkey/);
    await expect(
      api!.call("GET", `${ENROLL_PATH}/nobody`),
      404,
      /No enrollment record found for "nobody"/,
    );
    await expect(api!.call("GET", `${ENROLL_PATH}/bad..id`), 400, /Invalid field "id"/);
    await expect(api!.call("GET", "/api/v1/other"), 404, /No such endpoint/);
    await expect(api!.call("PUT", ENROLL_PATH, "{}"), 405, /Use POST/);
    await expect(api!.call("POST", ENROLL_PATH, "x".repeat(100_000)), 413, /larger than/);
    const key = createUser();
    const nonce = await api!.nonce("web-01", key);
    await expect(
      api!.call("POST", ENROLL_PATH, {
        ...api!.enrollBody("web-01", key, nonce),
        box_public_key: "bm9wZQ==",
      }),
      400,
      /box_public_key/,
    );
    const tls12 = await new Deno.Command("openssl", {
      args: ["s_client", "-connect", new URL(api!.base).host, "-tls1_2"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(tls12.code, 0, "a TLS 1.2 handshake fails");
    assert.equal((await api!.enroll("web-02")).body.status, "pending");
    assert.ok(!lines.some((l) => /"level":"error"/.test(l)), lines.join("\n"));
  });
});

Deno.test("enrollment - two concurrent approvals make one transition", async () => {
  await withMasters([{}], async ([api], { enrollments }) => {
    await api!.enroll("web-01");
    const results = await Promise.all(
      ["cli:alice", "cli:bob", "cli:carol"].map((actor) =>
        transitionEnrollment(enrollments, "web-01", "approved", actor)
      ),
    );
    assert.equal(results.filter((r) => r.changed).length, 1);
    const { record } = (await readEnrollment(enrollments, "web-01"))!;
    assert.deepEqual(record.history.map((h) => h.status), ["pending", "approved"]);
    await assert.rejects(
      transitionEnrollment(enrollments, "web-01", "rejected", "cli:dave"),
      /Cannot make enrollment "web-01" rejected: it is approved/,
    );
  });
});
