/**
 * Attack: a peel's NATS credentials used for more than its own work. Each peel's user may only
 * take its own commands, store its own returns (once), send its own facts, write its own basket
 * entries, read the state and settings trees, the basket and its own secret; nats-server refuses
 * everything else. On the code before
 * per-peel users every step below succeeded, with any connection at all.
 */
import assert from "node:assert/strict";
import { headers, type NatsConnection, type Status } from "nats";
import {
  BUCKETS,
  closeBus,
  connectBus,
  decode,
  encode,
  FIRST_WRITE,
  openBucket,
  provisionStorage,
  subjects,
} from "../../lib/bus/mod.ts";
import { ksuid } from "../../lib/job/mod.ts";
import { client, closeClient, issuePeelFiles, startNatsServer, tempDir } from "../harness/mod.ts";

/** Every permission violation the server reports to `nc`. */
function violations(nc: NatsConnection): Array<{ operation: string; subject: string }> {
  const seen: Array<{ operation: string; subject: string }> = [];
  (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as Status & { permissionContext?: { operation: string; subject: string } })
        .permissionContext;
      if (ctx) seen.push(ctx);
    }
  })();
  return seen;
}

async function refused(
  seen: Array<{ operation: string; subject: string }>,
  operation: "publish" | "subscription",
  subject: string,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (seen.some((v) => v.operation === operation && v.subject === subject)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`the server did not refuse ${operation} to ${subject}: ${JSON.stringify(seen)}`);
}

Deno.test("nats permissions - a peel's creds reach its own subjects and keys only", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const admin = await client(ns.url);
  await provisionStorage(await admin.jetstreamManager());
  const secrets = await openBucket(admin, BUCKETS.secrets);
  await secrets.put("web-01", encode({ sealed: "mine" }));
  await secrets.put("web-02", encode({ sealed: "not mine" }));
  await (await openBucket(admin, BUCKETS.stateFiles)).put("top.zy", new TextEncoder().encode("{}"));
  const jid = ksuid();
  await (await openBucket(admin, BUCKETS.jobs)).put(jid, encode({ jid }));

  const f = (await issuePeelFiles(ns.url, "web-01", dir.path))!;
  const nc = await connectBus({
    servers: [ns.url],
    name: "peel-web-01",
    credsFile: f.nats_creds,
    caFile: f.nats_ca,
    certFile: f.nats_cert,
    keyFile: f.nats_key,
  });
  const seen = violations(nc);
  try {
    // Its own work is allowed.
    const own = nc.subscribe(subjects.cmd("web-01"));
    await nc.flush();
    assert.equal(own.isClosed(), false);
    const first = headers();
    first.set(FIRST_WRITE.header, FIRST_WRITE.value);
    const stored = await nc.request(subjects.jobReturn(jid, "web-01"), encode({ ok: 1 }), {
      headers: first,
      timeout: 2_000,
    });
    assert.match(new TextDecoder().decode(stored.data), /"seq":/);
    assert.ok(await (await openBucket(nc, BUCKETS.secrets)).get("web-01"));
    assert.ok(await (await openBucket(nc, BUCKETS.stateFiles)).get("top.zy"));

    // Another peel's commands.
    nc.subscribe(subjects.cmd("web-02"));
    await refused(seen, "subscription", subjects.cmd("web-02"));
    // Every return as it is stored, the master's inboxes.
    nc.subscribe(subjects.jobReturnAll);
    await refused(seen, "subscription", subjects.jobReturnAll);
    nc.subscribe("_INBOX.>");
    await refused(seen, "subscription", "_INBOX.>");

    // Another peel's return and facts.
    nc.publish(subjects.jobReturn(jid, "web-02"), encode({ forged: true }));
    await refused(seen, "publish", subjects.jobReturn(jid, "web-02"));
    nc.publish(subjects.fact("web-02"), encode({ peel_id: "web-02", facts: {} }));
    await refused(seen, "publish", subjects.fact("web-02"));

    // Its own stored return, with or without the first-write header: the stream keeps the first.
    const again = await nc.request(subjects.jobReturn(jid, "web-01"), encode({ ok: 2 }), {
      headers: first,
      timeout: 2_000,
    });
    assert.match(new TextDecoder().decode(again.data), /wrong last sequence/);
    const bare = await nc.request(subjects.jobReturn(jid, "web-01"), encode({ ok: 3 }), {
      timeout: 2_000,
    });
    assert.match(new TextDecoder().decode(bare.data), /"error"/);
    const kept = await (await openBucket(admin, BUCKETS.jobReturns)).get(`${jid}.web-01`);
    assert.deepEqual([...kept!.value], [...encode({ ok: 1 })]);

    // Another peel's secret, by key or by a consumer filtered on it.
    const mine = await openBucket(nc, BUCKETS.secrets);
    await assert.rejects(mine.get("web-02"), /Permissions Violation/);
    const getOther = `$JS.API.DIRECT.GET.KV_secrets.$KV.secrets.web-02`;
    await refused(seen, "publish", getOther);
    // A consumer named for its own key in the subject but filtering another peel's key.
    const sneaky = await nc.request(
      "$JS.API.CONSUMER.CREATE.KV_secrets.c1.$KV.secrets.web-01",
      new TextEncoder().encode(JSON.stringify({
        stream_name: "KV_secrets",
        config: {
          name: "c1",
          filter_subject: "$KV.secrets.web-02",
          deliver_subject: "_INBOX_x",
          ack_policy: "none",
        },
      })),
      { timeout: 2_000 },
    );
    assert.match(new TextDecoder().decode(sneaky.data), /did not match filtered subject/);

    // Its own basket entries; every peel's are readable, no other peel's writable.
    await (await openBucket(admin, BUCKETS.basket)).put(
      "web-02.network.ip_addrs",
      encode(["10.0.0.2"]),
    );
    const basket = await openBucket(nc, BUCKETS.basket);
    await basket.put("web-01.network.ip_addrs", encode(["10.0.0.1"]));
    assert.deepEqual(decode((await basket.get("web-02.network.ip_addrs"))!.value), ["10.0.0.2"]);
    await assert.rejects(
      basket.put("web-02.network.ip_addrs", encode(["6.6.6.6"])),
      /Permissions Violation/,
    );
    await refused(seen, "publish", "$KV.basket.web-02.network.ip_addrs");
    await assert.rejects(basket.delete("web-02.network.ip_addrs"), /Permissions Violation/);

    // The state tree the master publishes.
    nc.publish("$KV.state-files.top.zy", new TextEncoder().encode("evil: {}"));
    await refused(seen, "publish", "$KV.state-files.top.zy");
    // Job records, stream names, dispatch.
    await assert.rejects((await openBucket(nc, BUCKETS.jobs)).get(jid), /Permissions Violation/);
    await assert.rejects(nc.request("$JS.API.STREAM.NAMES", undefined, { timeout: 2_000 }));
    await refused(seen, "publish", "$JS.API.STREAM.NAMES");
    nc.publish(subjects.dispatch, encode({ jid: ksuid(), fun: "cmd.run", tgt: "*" }));
    await refused(seen, "publish", subjects.dispatch);

    // Nothing changed where it was refused.
    const tree = await (await openBucket(admin, BUCKETS.stateFiles)).get("top.zy");
    assert.equal(new TextDecoder().decode(tree?.value), "{}");
    assert.equal(await (await openBucket(admin, BUCKETS.jobReturns)).get(`${jid}.web-02`), null);
    const other = await (await openBucket(admin, BUCKETS.basket)).get("web-02.network.ip_addrs");
    assert.deepEqual(decode(other!.value), ["10.0.0.2"]);
  } finally {
    await closeBus(nc, 2_000);
    await closeClient(admin);
  }
});
