/**
 * Attack: reading the whole store — every peel's job returns (command output), facts and
 * enrollment records — with credentials that are not the backup's, or rewriting it with the
 * backup's. A backup reads every stream through ordered consumers; only the `backup` role may
 * create them on every stream, and it may write nothing. A peel's creds cannot take a backup
 * nor read the streams one needs.
 */
import assert from "node:assert/strict";
import type { NatsConnection, Status } from "nats";
import {
  BACKUP_STREAMS,
  BUCKETS,
  closeBus,
  connectBus,
  createBackup,
  encode,
  openBucket,
  provisionStorage,
} from "../../lib/bus/mod.ts";
import { ksuid } from "../../lib/job/mod.ts";
import { client, closeClient, issuePeelFiles, startNatsServer, tempDir } from "../harness/mod.ts";

function violations(nc: NatsConnection): string[] {
  const seen: string[] = [];
  (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as Status & { permissionContext?: { operation: string; subject: string } })
        .permissionContext;
      if (ctx) seen.push(`${ctx.operation} ${ctx.subject}`);
    }
  })();
  return seen;
}

async function refused(seen: string[], what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (seen.includes(what)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`the server did not refuse ${what}: ${JSON.stringify(seen)}`);
}

Deno.test("backup access - a peel's creds cannot read the streams a backup needs", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const admin = await client(ns.url);
  await provisionStorage(await admin.jetstreamManager());
  const jid = ksuid();
  await (await openBucket(admin, BUCKETS.jobReturns)).put(`${jid}.web-02`, encode({ out: "x" }));
  const f = (await issuePeelFiles(ns.url, "web-01", dir.path))!;
  const peel = await connectBus({
    servers: [ns.url],
    name: "peel-web-01",
    credsFile: f.nats_creds,
    caFile: f.nats_ca,
    certFile: f.nats_cert,
    keyFile: f.nats_key,
  });
  const seen = violations(peel);
  try {
    await assert.rejects(createBackup(peel, `${dir.path}/b`));
    for (const stream of ["KV_job-returns", "KV_jobs", "KV_facts", "KV_enrollments"]) {
      const subject = `$JS.API.CONSUMER.CREATE.${stream}`;
      await assert.rejects(
        peel.request(subject, encode({}), { timeout: 500 }),
        `consumer on ${stream}`,
      );
      await refused(seen, `publish ${subject}`);
    }
  } finally {
    await closeBus(peel, 1_000);
    await closeClient(admin);
  }
});

Deno.test("backup access - the backup role reads every stream and writes nothing", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const admin = await client(ns.url);
  await provisionStorage(await admin.jetstreamManager());
  await (await openBucket(admin, BUCKETS.facts)).put("web-01", encode({ os: "debian" }));
  const backup = await client(ns.url, "backup");
  const seen = violations(backup);
  try {
    const m = await createBackup(backup, `${dir.path}/b`);
    assert.deepEqual(m.streams.map((s) => s.name), [...BACKUP_STREAMS]);
    assert.equal(m.streams.find((s) => s.name === "KV_facts")?.messages, 1);
    backup.publish("$KV.state-files.top.zy", new TextEncoder().encode("evil"));
    await refused(seen, "publish $KV.state-files.top.zy");
    await assert.rejects(
      (await backup.jetstreamManager()).streams.purge("KV_facts"),
      "purge",
    );
    await refused(seen, "publish $JS.API.STREAM.PURGE.KV_facts");
  } finally {
    await closeClient(backup);
    await closeClient(admin);
  }
});
