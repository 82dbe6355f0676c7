/**
 * Jobs larger than any one message: a record for 100,000 peels in a real nats-server, and a job
 * to 10,000 peels dispatched, answered and read back through the master and the CLI's code.
 */
import assert from "node:assert/strict";
import type { Msg } from "nats";
import {
  AckedPublisher,
  ackOfRequest,
  BUCKETS,
  decode,
  encode,
  kvSubject,
  provisionStorage,
  returnReplySubject,
  subjects,
} from "../../lib/bus/mod.ts";
import {
  activeJobIds,
  createJob,
  ExecRequest,
  type ExecReturn,
  type Job,
  ksuid,
  readJob,
  writeJob,
} from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { listJobs, showJob } from "../../cli/commands/job.ts";
import { previewTarget } from "../../cli/commands/preview.ts";
import { exitCode, runJob } from "../../cli/commands/run.ts";
import {
  client,
  closeClient,
  masterConfig,
  startNatsServer,
  tempDir,
  until,
} from "../harness/mod.ts";

Deno.test("job scale - a record for 100,000 peels of 128-character ids round-trips", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  try {
    await provisionStorage(await nc.jetstreamManager());
    const kv = await nc.jetstream().views.kv(BUCKETS.jobs.name, { bindOnly: true });
    const ids = Array.from({ length: 100_000 }, (_, i) => `p${String(i).padStart(127, "0")}`);
    const now = new Date().toISOString();
    const job: Job = {
      jid: ksuid(),
      fun: "test.ping",
      args: [],
      kwargs: {},
      tgt: "*",
      tgt_type: "glob",
      targets: ids,
      user: "alice",
      timeout_ms: 1_000,
      status: "pending",
      owner: "master-test",
      created: now,
      updated: now,
      deadline: now,
    };
    const created = await createJob(kv, job);
    const stored = await readJob(kv, job.jid);
    assert.equal(stored?.targets.length, 100_000);
    assert.deepEqual(stored, job);
    assert.deepEqual(await activeJobIds(kv), [job.jid]);
    await assert.rejects(createJob(kv, job), /wrong last sequence/, "a taken JID is refused");

    const epoch = await writeJob(kv, { ...job, status: "claimed" }, created);
    const finished: Job = {
      ...job,
      status: "timeout",
      epoch,
      returned: 0,
      missing: ids.slice(1),
      absent: ids.slice(0, 5),
    };
    await writeJob(kv, finished, epoch);
    assert.deepEqual(await readJob(kv, job.jid), finished);
    assert.deepEqual(await activeJobIds(kv), [], "a finished job is no longer marked active");

    const [listed] = await listJobs(nc, { limit: 10 });
    assert.equal(listed?.jid, job.jid, "the list holds records, not their chunks");
    assert.equal(listed?.target_count, 100_000);
    assert.equal(listed?.missing_count, 99_999);
  } finally {
    await closeClient(nc);
  }
});

Deno.test("job scale - 10,000 peels of long ids: preview, own tokens, every return", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path),
    new Logger({ level: "error", sink: () => {} }),
  );
  const nc = await client(ns.url);
  try {
    // 10,000 ids of 125 characters: their list alone exceeds a message.
    const ids = Array.from(
      { length: 10_000 },
      (_, i) => `sim-${String(i).padStart(5, "0")}-${"x".repeat(115)}`,
    );
    const facts = new AckedPublisher(nc, { timeoutMs: 60_000 }); // 10,000 writes at once on a loaded machine
    await Promise.all(ids.map((id) =>
      facts.publish(
        kvSubject(BUCKETS.facts.name, id),
        encode({ peel_id: id, facts: { id }, collected: new Date().toISOString() }),
      )
    ));
    facts.close();
    await until("every peel indexed", () => master.index.size === ids.length, 30_000);
    assert.deepEqual(await previewTarget(nc, "sim-*"), ids);

    // One subscriber answers for every simulated peel, as a peel does: its return stored in
    // job-returns with its ack subject as the reply.
    const acks = new Set<string>();
    nc.subscribe(subjects.cmdAll, {
      callback: (_err, msg: Msg) => {
        const id = msg.subject.slice("zester.cmd.".length);
        const req = { ...ExecRequest.parse(decode(msg.data)), ack: ackOfRequest(msg.reply, id)! };
        acks.add(req.ack);
        const ret: ExecReturn = {
          jid: req.jid,
          peel_id: id,
          fun: req.fun,
          success: true,
          result: true,
          started: new Date().toISOString(),
          duration_ms: 0,
        };
        nc.publish(subjects.jobReturn(req.jid, id), encode(ret), {
          reply: returnReplySubject(req.ack, id, true),
        });
      },
    });
    await nc.flush();

    const run = await runJob(nc, {
      tgt: "sim-*",
      fun: "test.ping",
      words: [],
      waitMs: 60_000,
      jobTimeoutMs: 60_000,
      user: "alice",
    });
    assert.equal(run.status, "complete");
    assert.equal(run.targets.length, ids.length);
    assert.equal(run.returns.size, ids.length);
    assert.equal(exitCode(run), 0);
    assert.equal(acks.size, ids.length, "every peel got its own ack subject");

    const shown = await showJob(nc, run.jid);
    assert.deepEqual(shown.job.targets, ids);
    assert.deepEqual(shown.job.missing, []);
    assert.equal(shown.returns.size, ids.length);
  } finally {
    await closeClient(nc);
    await master.stop();
  }
});
