/**
 * What the master does when a peel's return, or the stream's confirmation of it, goes astray:
 * scripted peels (bare NATS clients) answer ExecRequests the way a broken network would.
 */
import assert from "node:assert/strict";
import type { Msg, NatsConnection } from "nats";
import {
  ackOfRequest,
  BUCKETS,
  decode,
  encode,
  returnReplySubject,
  subjects,
} from "../../lib/bus/mod.ts";
import {
  type DispatchReply,
  ExecRequest,
  type ExecReturn,
  ksuid,
  readJob,
} from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { client, closeClient, masterConfig, startNatsServer, tempDir } from "../harness/mod.ts";

/** An ExecRequest with the ack subject its reply subject carries. */
type Asked = ExecRequest & { ack: string };

/** A scripted peel: facts stored, and `answer` decides what each ExecRequest gets. */
async function scriptedPeel(
  nc: NatsConnection,
  id: string,
  answer: (req: Asked, ret: Uint8Array) => void,
): Promise<void> {
  nc.subscribe(subjects.cmd(id), {
    callback: (_err, msg: Msg) => {
      const req = { ...ExecRequest.parse(decode(msg.data)), ack: ackOfRequest(msg.reply, id)! };
      const ret: ExecReturn = {
        jid: req.jid,
        peel_id: id,
        fun: req.fun,
        success: true,
        result: true,
        started: new Date().toISOString(),
        duration_ms: 0,
      };
      answer(req, encode(ret));
    },
  });
  const r = await nc.request(
    subjects.fact(id),
    encode({ peel_id: id, facts: { id }, collected: new Date().toISOString() }),
    { timeout: 5_000 },
  );
  assert.equal((decode(r.data) as { ok: boolean }).ok, true);
}

async function withMaster(
  fn: (nc: NatsConnection, master: Master, lines: string[]) => Promise<void>,
): Promise<void> {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const lines: string[] = [];
  const log = new Logger({ level: "debug", sink: (l) => lines.push(l) });
  const master = await Master.start(
    await masterConfig(ns.url, dir.path, { id: "master-test" }),
    log,
  );
  const nc = await client(ns.url);
  try {
    await fn(nc, master, lines);
  } finally {
    await closeClient(nc);
    await master.stop();
  }
}

/** Ping `tgt`; the finished job, and what `job-returns` holds for `peel`. */
async function run(
  nc: NatsConnection,
  master: Master,
  tgt: string,
  timeoutMs: number,
  peel = tgt,
) {
  const jid = ksuid();
  const reply = decode(
    (await nc.request(
      subjects.dispatch,
      encode({ jid, fun: "test.ping", tgt, timeout_ms: timeoutMs }),
      { timeout: 5_000 },
    )).data,
  ) as DispatchReply;
  assert.ok(reply.ok, JSON.stringify(reply));
  await master.tracker.whenDone(jid);
  const jobs = await nc.jetstream().views.kv(BUCKETS.jobs.name, { bindOnly: true });
  const returns = await nc.jetstream().views.kv(BUCKETS.jobReturns.name, { bindOnly: true });
  const stored = await returns.get(`${jid}.${peel}`);
  return {
    job: (await readJob(jobs, jid))!,
    stored: stored?.operation === "PUT" ? decode(stored.value) as ExecReturn : undefined,
  };
}

Deno.test("returns - a return lost on the way is asked for again, never run twice", async () => {
  await withMaster(async (nc, master, lines) => {
    const asked: Asked[] = [];
    await scriptedPeel(nc, "lossy-01", (req, ret) => {
      asked.push(req);
      // The first return never leaves the peel; the master's second request gets it.
      if (asked.length > 1) {
        nc.publish(subjects.jobReturn(req.jid, "lossy-01"), ret, {
          reply: returnReplySubject(req.ack, "lossy-01", true),
        });
      }
    });
    const t0 = performance.now();
    const { job, stored } = await run(nc, master, "lossy-01", 20_000);
    assert.equal(job.status, "complete", JSON.stringify(job));
    assert.equal(stored?.result, true);
    assert.equal(asked.length, 2);
    assert.ok(performance.now() - t0 < 10_000, "completed long before the deadline");
    assert.ok(lines.some((l) => l.includes("asking peels again")));
  });
});

Deno.test("returns - no peel is asked again while confirmations still arrive", async () => {
  await withMaster(async (nc, master) => {
    const asked: number[] = [];
    let t0 = 0;
    // The first return of `lossy-01` is lost; `slow-01` returns after a second, so the first
    // repair round (2 s in) sees a confirmation since dispatch and waits another gap.
    await scriptedPeel(nc, "lossy-01", (req, ret) => {
      asked.push(performance.now() - t0);
      if (asked.length === 1) return;
      nc.publish(subjects.jobReturn(req.jid, "lossy-01"), ret, {
        reply: returnReplySubject(req.ack, "lossy-01", true),
      });
    });
    await scriptedPeel(nc, "slow-01", (req, ret) => {
      setTimeout(() =>
        nc.publish(subjects.jobReturn(req.jid, "slow-01"), ret, {
          reply: returnReplySubject(req.ack, "slow-01", true),
        }), 1_000);
    });
    t0 = performance.now();
    const { job } = await run(nc, master, "L@lossy-01,slow-01", 20_000, "lossy-01");
    assert.equal(job.status, "complete", JSON.stringify(job));
    assert.equal(asked.length, 2);
    assert.ok(asked[1]! > 3_500, `asked again ${Math.round(asked[1]!)} ms in, not after 4 s`);
  });
});

Deno.test("returns - a peel back late in a long job is still asked before the deadline", async () => {
  await withMaster(async (nc, master) => {
    // Deaf for the first 15 s, as a peel restarting on a busy machine: the doubling rounds
    // (2, 6, 14 s in) are all before it, and a 16 s gap would reach the 30 s deadline.
    const asked: number[] = [];
    let t0 = 0;
    await scriptedPeel(nc, "late-01", (req, ret) => {
      asked.push(Math.round(performance.now() - t0));
      if (performance.now() - t0 < 15_000) return;
      nc.publish(subjects.jobReturn(req.jid, "late-01"), ret, {
        reply: returnReplySubject(req.ack, "late-01", true),
      });
    });
    t0 = performance.now();
    const { job } = await run(nc, master, "late-01", 30_000);
    assert.equal(job.status, "complete", `${JSON.stringify(job)}; asked at ${asked} ms`);
  });
});

Deno.test("returns - a return stored without its confirmation is read back at the deadline", async () => {
  await withMaster(async (nc, master) => {
    let asked = 0;
    await scriptedPeel(nc, "quiet-01", (req, ret) => {
      // Stored by the stream, but its ack goes nowhere, and the peel ignores the second request.
      if (++asked === 1) {
        nc.publish(subjects.jobReturn(req.jid, "quiet-01"), ret, { reply: "nowhere.at.all" });
      }
    });
    const { job, stored } = await run(nc, master, "quiet-01", 3_000);
    assert.equal(asked, 2);
    assert.equal(job.status, "complete", JSON.stringify(job));
    assert.equal(job.returned, 1);
    assert.deepEqual(job.missing, []);
    assert.equal(stored?.result, true);
  });
});

Deno.test("returns - a return the stream refuses fails the job, naming it", async () => {
  await withMaster(async (nc, master, lines) => {
    const jsm = await nc.jetstreamManager();
    const name = `KV_${BUCKETS.jobReturns.name}`;
    const cfg = (await jsm.streams.info(name)).config;
    await jsm.streams.update(name, { ...cfg, max_msg_size: 16 });
    await scriptedPeel(nc, "big-01", (req, ret) => {
      nc.publish(subjects.jobReturn(req.jid, "big-01"), ret, {
        reply: returnReplySubject(req.ack, "big-01", true),
      });
    });
    const { job, stored } = await run(nc, master, "big-01", 4_000);
    assert.equal(job.status, "failed");
    assert.match(job.error ?? "", /^job-returns refused 1 return\(s\): big-01: .*message size/);
    assert.equal(job.returned, 0);
    assert.deepEqual(job.missing, ["big-01"]);
    assert.equal(stored, undefined);
    assert.ok(lines.some((l) => l.includes("job-returns refused a return")));
  });
});

Deno.test("returns - a peel cannot confirm another peel's return", async () => {
  await withMaster(async (nc, master, lines) => {
    // `liar-01` answers, and also claims that `silent-01` returned, using its own ack subject
    // with the other's id; `silent-01` never answers.
    await scriptedPeel(nc, "silent-01", () => {});
    let asked = 0;
    await scriptedPeel(nc, "liar-01", (req, ret) => {
      if (++asked > 1) return;
      nc.publish(subjects.jobReturn(req.jid, "liar-01"), ret, {
        reply: returnReplySubject(req.ack, "liar-01", true),
      });
      nc.publish(subjects.jobReturn(req.jid, "liar-01"), ret, {
        reply: returnReplySubject(req.ack, "silent-01", true),
      });
    });
    const { job, stored } = await run(nc, master, "L@liar-01,silent-01", 3_000, "liar-01");
    assert.equal(stored?.peel_id, "liar-01");
    assert.equal(job.status, "partial");
    assert.equal(job.returned, 1);
    assert.deepEqual(job.missing, ["silent-01"]);
    assert.ok(lines.some((l) => l.includes("confirmation with the wrong token")));
  });
});
