/**
 * Attack: a peel's creds used to forge scheduled jobs. A peel may report only its own scheduled
 * runs, and only runs whose return it stored: the job a master records takes its outcome from
 * that stored return, never from the report.
 */
import assert from "node:assert/strict";
import { headers, type NatsConnection } from "nats";
import {
  BUCKETS,
  closeBus,
  connectBus,
  decode,
  encode,
  FIRST_WRITE,
  subjects,
} from "../../lib/bus/mod.ts";
import { type ExecReturn, ksuid, readJobRecord, type ScheduleReport } from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import {
  client,
  closeClient,
  issuePeelFiles,
  masterConfig,
  startNatsServer,
  tempDir,
} from "../harness/mod.ts";

async function report(nc: NatsConnection, subject: string, r: ScheduleReport) {
  return decode((await nc.request(subject, encode(r), { timeout: 5_000 })).data) as {
    ok: boolean;
    error?: string;
  };
}

Deno.test("schedule reports - a peel records only its own stored runs, as they went", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path),
    new Logger({ level: "error", sink: () => {} }),
  );
  const admin = await client(ns.url);
  const f = (await issuePeelFiles(ns.url, "web-01", dir.path))!;
  const nc = await connectBus({
    servers: [ns.url],
    name: "peel-web-01",
    credsFile: f.nats_creds,
    caFile: f.nats_ca,
    certFile: f.nats_cert,
    keyFile: f.nats_key,
  });
  const jobs = await admin.jetstream().views.kv(BUCKETS.jobs.name);
  const base = { args: [], kwargs: {}, schedule: "evil", timeout_ms: 60_000 };
  try {
    // A run of another peel, on that peel's subject: the server refuses the publish.
    const other = ksuid();
    await assert.rejects(
      nc.request(
        subjects.scheduleReport("web-02"),
        encode({ ...base, jid: other, peel_id: "web-02", fun: "test.ping" }),
        { timeout: 2_000 },
      ),
      /Permissions Violation/,
    );
    // On its own subject, naming another peel: refused by the master.
    const named = await report(nc, subjects.scheduleReport("web-01"), {
      ...base,
      jid: other,
      peel_id: "web-02",
      fun: "test.ping",
    });
    assert.equal(named.ok, false);
    assert.match(named.error!, /a peel may only report its own/);
    // A run with no stored return: nothing to record.
    const none = ksuid();
    const unstored = await report(nc, subjects.scheduleReport("web-01"), {
      ...base,
      jid: none,
      peel_id: "web-01",
      fun: "test.ping",
    });
    assert.match(unstored.error!, /No return of scheduled job .* is stored/);
    // A failed run reported as another function: refused; as itself, recorded failed.
    const jid = ksuid();
    const ret: ExecReturn = {
      jid,
      peel_id: "web-01",
      fun: "cmd.run",
      success: false,
      error: "exit 1",
      started: new Date().toISOString(),
      duration_ms: 5,
    };
    const first = headers();
    first.set(FIRST_WRITE.header, FIRST_WRITE.value);
    await nc.request(subjects.jobReturn(jid, "web-01"), encode(ret), {
      headers: first,
      timeout: 2_000,
    });
    const swapped = await report(nc, subjects.scheduleReport("web-01"), {
      ...base,
      jid,
      peel_id: "web-01",
      fun: "test.ping",
    });
    assert.match(swapped.error!, /is of cmd.run, not test.ping/);
    const honest = await report(nc, subjects.scheduleReport("web-01"), {
      ...base,
      jid,
      peel_id: "web-01",
      fun: "cmd.run",
    });
    assert.equal(honest.ok, true, honest.error);
    const job = await readJobRecord(jobs, jid);
    assert.equal(job?.status, "failed");
    assert.equal(job?.user, "schedule");
    assert.equal(job?.tgt, "web-01");
    for (const j of [other, none]) assert.equal(await readJobRecord(jobs, j), undefined);
  } finally {
    await closeBus(nc);
    await closeClient(admin);
    await master.stop();
  }
});
