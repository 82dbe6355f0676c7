/**
 * The job path end to end on a real nats-server: an in-process master, peels started exactly as
 * production starts them (their own permission flags, broker through its launcher).
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "nats";
import { BUCKETS, decode, encode, subjects } from "../../lib/bus/mod.ts";
import { type DispatchReply, ExecReturn, ksuid } from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { ABSENT_GRACE_MS } from "../../master/job_tracker.ts";
import {
  client,
  closeClient,
  type Daemon,
  jobOf,
  masterConfig,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
} from "../harness/mod.ts";

async function dispatch(
  nc: NatsConnection,
  req: Record<string, unknown>,
): Promise<DispatchReply> {
  const r = await nc.request(subjects.dispatch, encode(req), { timeout: 5_000 });
  return decode(r.data) as DispatchReply;
}

async function readReturn(nc: NatsConnection, jid: string, id: string): Promise<ExecReturn | null> {
  const kv = await nc.jetstream().views.kv(BUCKETS.jobReturns.name, { bindOnly: true });
  const e = await kv.get(`${jid}.${id}`);
  return e && e.operation === "PUT" ? ExecReturn.parse(decode(e.value)) : null;
}

Deno.test("job path - dispatch, returns, facts, partial on a down peel, bad input", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const lines: string[] = [];
  const log = new Logger({ level: "debug", sink: (l) => lines.push(l) });
  const master = await Master.start(
    await masterConfig(ns.url, dir.path, {
      id: "master-test",
      nodegroups: { dbs: "G@role:db", webs: ["web-01", "web-02"] },
    }),
    log,
  );
  const peels: Daemon[] = [];
  const nc = await client(ns.url);
  try {
    await Deno.mkdir(`${dir.path}/peels/db-01`, { recursive: true });
    await Deno.writeTextFile(`${dir.path}/peels/db-01/facts.yaml`, "role: db\nrack: 7\n");
    for (const id of ["web-01", "web-02", "db-01"]) {
      peels.push(await startPeel(`${dir.path}/peels`, ns.url, id));
    }
    await waitForPeels(nc, ["web-01", "web-02", "db-01"]);

    await t.step("facts land in the facts bucket, keyed by peel id", async () => {
      const kv = await nc.jetstream().views.kv(BUCKETS.facts.name, { bindOnly: true });
      const e = await kv.get("db-01");
      assert.ok(e);
      const msg = decode(e.value) as { peel_id: string; facts: Record<string, unknown> };
      assert.equal(msg.peel_id, "db-01");
      assert.equal(msg.facts.id, "db-01");
      assert.equal(msg.facts.role, "db");
      assert.equal(msg.facts.rack, 7);
      assert.equal((msg.facts.os as { kernel: string }).kernel, "Linux");
      assert.ok((msg.facts.network as { ipv4: string[] }).ipv4.includes("127.0.0.1"));
    });

    await t.step("zester.target.resolve answers from the fact index", async () => {
      const resolve = async (tgt: string, tgt_type?: string) =>
        decode(
          (await nc.request(subjects.targetResolve, encode({ tgt, tgt_type }), { timeout: 5_000 }))
            .data,
        ) as { ok: boolean; ids?: string[]; error?: string };
      assert.deepEqual((await resolve("G@role:db")).ids, ["db-01"]);
      assert.deepEqual((await resolve("web-* or G@rack:7")).ids, ["db-01", "web-01", "web-02"]);
      assert.deepEqual((await resolve("* and not G@role:db")).ids, ["web-01", "web-02"]);
      assert.deepEqual((await resolve("S@127.0.0.0/8 and G@os:kernel:Linux")).ids?.length, 3);
      assert.deepEqual((await resolve("N@dbs or N@webs")).ids, ["db-01", "web-01", "web-02"]);
      assert.deepEqual((await resolve("role:db", "grain")).ids, ["db-01"]);
      assert.deepEqual((await resolve("G@role:nothing")).ids, []);
      const bad = await resolve("web-* and (");
      assert.equal(bad.ok, false);
      assert.equal(bad.error, 'Cannot parse target "web-* and (": unbalanced parenthesis at 10');
    });

    await t.step("test.ping fans out to every peel and the job completes", async () => {
      const jid = ksuid();
      const reply = await dispatch(nc, { jid, fun: "test.ping", tgt: "*", user: "alice" });
      assert.ok(reply.ok, JSON.stringify(reply));
      assert.equal(reply.target_count, 3);
      await master.tracker.whenDone(jid);
      const job = await jobOf(nc, jid);
      assert.deepEqual(job.targets, ["db-01", "web-01", "web-02"]);
      assert.equal(job.status, "complete");
      assert.equal(job.owner, "master-test");
      assert.equal(job.user, "alice");
      assert.equal(job.returned, 3);
      assert.deepEqual(job.missing, []);
      for (const id of job.targets) {
        const r = await readReturn(nc, jid, id);
        assert.equal(r?.success, true);
        assert.equal(r?.result, true);
        assert.ok(r!.duration_ms >= 0 && !Number.isNaN(Date.parse(r!.started)));
      }
    });

    await t.step("a JID already taken is refused, the first job left as it was", async () => {
      const jid = ksuid();
      assert.ok((await dispatch(nc, { jid, fun: "test.ping", tgt: "web-01" })).ok);
      await master.tracker.whenDone(jid);
      const again = await dispatch(nc, { jid, fun: "test.ping", tgt: "*" });
      assert.deepEqual(again, { ok: false, error: `Job ${jid} already exists` });
      assert.deepEqual((await jobOf(nc, jid)).targets, ["web-01"]);
    });

    await t.step("cmd.run goes through the broker and carries the exit code", async () => {
      const jid = ksuid();
      const reply = await dispatch(nc, {
        jid,
        fun: "cmd.run",
        args: ["echo out; echo err >&2; exit 4"],
        tgt: "web-01",
      });
      assert.ok(reply.ok);
      await master.tracker.whenDone(jid);
      const r = await readReturn(nc, jid, "web-01");
      assert.equal(r?.success, false);
      assert.equal(r?.retcode, 4);
      assert.equal(r?.result, "out\nerr");
      assert.equal((await jobOf(nc, jid)).status, "failed");
    });

    await t.step("facts.get and an unknown function", async () => {
      const jid = ksuid();
      await dispatch(nc, {
        jid,
        fun: "facts.get",
        args: ["role"],
        kwargs: { default: "none" },
        tgt: "*",
      });
      await master.tracker.whenDone(jid);
      assert.equal((await readReturn(nc, jid, "db-01"))?.result, "db");
      assert.equal((await readReturn(nc, jid, "web-01"))?.result, "none");
      const jid2 = ksuid();
      await dispatch(nc, { jid: jid2, fun: "nope.nothing", tgt: "web-01" });
      await master.tracker.whenDone(jid2);
      const r = await readReturn(nc, jid2, "web-01");
      assert.equal(r?.success, false);
      assert.match(r?.error ?? "", /Function "nope.nothing" is not available/);
    });

    await t.step("a job that outlives its timeout fails on the peel", async () => {
      const jid = ksuid();
      await dispatch(nc, { jid, fun: "test.sleep", args: [30], tgt: "web-02", timeout_ms: 1_500 });
      await master.tracker.whenDone(jid);
      const job = await jobOf(nc, jid);
      // The peel aborts at the same moment the master's deadline passes: either it returned a
      // timeout error, or the master finalized first.
      assert.ok(job.status === "failed" || job.status === "timeout", job.status);
    });

    await t.step(
      "malformed input gets an error reply or a log line; daemons keep serving",
      async () => {
        const bad = decode(
          (await nc.request(subjects.dispatch, new Uint8Array([0xc1]), { timeout: 5_000 })).data,
        ) as DispatchReply;
        assert.equal(bad.ok, false);
        assert.match(
          (bad as { error: string }).error,
          /Malformed request on zester.dispatch: Cannot decode/,
        );
        const wrong = await dispatch(nc, { jid: "short", fun: "test.ping", tgt: "*" });
        assert.equal(wrong.ok, false);
        assert.match((wrong as { error: string }).error, /field "jid": expected a KSUID/);
        const badTarget = await dispatch(nc, { jid: ksuid(), fun: "test.ping", tgt: "nobody-*" });
        assert.deepEqual(badTarget, { ok: false, error: 'No peels matched the target "nobody-*"' });
        const badFacts = decode(
          (await nc.request(
            subjects.fact("web-01"),
            encode({ peel_id: "db-01", facts: {}, collected: "x" }),
            { timeout: 5_000 },
          )).data,
        ) as { ok: boolean; error: string };
        assert.equal(badFacts.ok, false);
        assert.match(badFacts.error, /a peel may only send its own/);

        nc.publish(subjects.cmd("web-01"), new TextEncoder().encode("garbage"));
        nc.publish(subjects.cmd("web-01"), encode({ jid: 7 }));
        const spoof = ksuid();
        nc.publish(subjects.jobReturn(spoof, "web-01"), new Uint8Array([0xc1]));
        await nc.flush();
        await peels[0]!.waitFor(/dropping malformed command/, 5_000);

        const jid = ksuid();
        assert.ok((await dispatch(nc, { jid, fun: "test.ping", tgt: "web-01" })).ok);
        await master.tracker.whenDone(jid);
        assert.equal((await jobOf(nc, jid)).status, "complete");
      },
    );

    await t.step(
      "a peel that is down is reported at once, and waited for only a reconnect's time",
      async () => {
        const status = await peels[2]!.stop(); // db-01
        assert.equal(status.code, 0, peels[2]!.output());
        const absent: unknown[] = [];
        const jid = ksuid();
        const t0 = performance.now();
        let reportedAfter = Infinity;
        const sub = nc.subscribe(subjects.jobAbsent(jid), {
          callback: (_e, m) => {
            reportedAfter = performance.now() - t0;
            absent.push(decode(m.data));
          },
        });
        const reply = await dispatch(nc, { jid, fun: "test.ping", tgt: "*", timeout_ms: 30_000 });
        assert.ok(reply.ok);
        assert.equal(reply.target_count, 3);
        await master.tracker.whenDone(jid);
        const took = performance.now() - t0;
        assert.ok(reportedAfter < 1_000, `reported within a second (${reportedAfter} ms)`);
        assert.ok(
          took >= ABSENT_GRACE_MS && took < ABSENT_GRACE_MS + 3_000,
          `held for a reconnect's time (${took} ms)`,
        );
        sub.unsubscribe();
        const job = await jobOf(nc, jid);
        assert.equal(job.status, "partial");
        assert.deepEqual(job.missing, ["db-01"]);
        assert.deepEqual(job.absent, ["db-01"]);
        assert.equal(job.returned, 2);
        assert.equal(await readReturn(nc, jid, "db-01"), null);
        assert.deepEqual((absent[0] as { peels: string[] }).peels, ["db-01"]);
      },
    );

    await t.step(
      "a command the broker policy denies fails with the reason, and is audited",
      async () => {
        peels.push(
          await startPeel(`${dir.path}/peels`, ns.url, "locked-01", {
            broker: { cmd_run: "deny" },
          }),
        );
        await waitForPeels(nc, ["locked-01"]);
        const jid = ksuid();
        assert.ok((await dispatch(nc, { jid, fun: "cmd.run", args: ["id"], tgt: "locked-01" })).ok);
        await master.tracker.whenDone(jid);
        const r = await readReturn(nc, jid, "locked-01");
        assert.equal(r?.success, false);
        assert.match(
          r?.error ?? "",
          /Denied by policy: shell commands \(cmd_run\) are not allowed/,
        );
        const audit = (await Deno.readTextFile(`${dir.path}/peels/locked-01/broker-audit.log`))
          .trim().split("\n").map((l) => JSON.parse(l));
        const entry = audit.find((a) => a.op === "run");
        assert.equal(entry?.decision, "deny");
        assert.equal(entry?.jid_claimed, jid, "the job id, as the peel claimed it");
        assert.deepEqual(entry?.args.argv, ["/bin/sh", "-c", "id"]);
      },
    );

    await t.step("the master heartbeats with its active jobs", async () => {
      const kv = await nc.jetstream().views.kv(BUCKETS.masterHeartbeat.name, { bindOnly: true });
      const e = await kv.get("master-test");
      assert.ok(e && e.operation === "PUT");
      const hb = decode(e.value) as { id: string; active_jobs: string[]; time: string };
      assert.equal(hb.id, "master-test");
      assert.ok(Array.isArray(hb.active_jobs));
      assert.ok(Date.now() - Date.parse(hb.time) < 15_000);
    });

    await t.step("job-events holds each job's dispatch and every transition", async () => {
      const jid = ksuid();
      assert.ok((await dispatch(nc, { jid, fun: "test.ping", tgt: "web-*" })).ok);
      await master.tracker.whenDone(jid);
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info("job-events", { subjects_filter: subjects.job(jid) });
      assert.deepEqual(info.state.subjects, {
        [subjects.jobDispatched(jid)]: 1,
        [subjects.jobStatus(jid)]: 4,
      });
      const first = info.state.first_seq;
      const statuses: string[] = [];
      for (let seq = first; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage("job-events", { seq }).catch(() => undefined);
        if (m?.subject === subjects.jobStatus(jid)) {
          statuses.push((decode(m.data) as { status: string }).status);
        }
      }
      assert.deepEqual(statuses, ["pending", "claimed", "running", "complete"]);
      const job = await jobOf(nc, jid);
      assert.equal(job.owner, "master-test");
      assert.ok(job.epoch !== undefined && job.epoch > 0, "the owner's epoch is recorded");
    });
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    await master.stop();
  }
});
