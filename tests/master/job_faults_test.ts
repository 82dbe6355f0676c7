/**
 * Jobs under faults, on real nats-servers, masters and peels: a job killed by an operator, batch
 * mode, a dead peel, a peel killed and restarted mid-job, nats-server restarted mid-job and
 * while idle.
 */
import assert from "node:assert/strict";
import type { Msg, NatsConnection } from "nats";
import { ackReplySubject, BUCKETS, decode, encode, subjects } from "../../lib/bus/mod.ts";
import { type DispatchReply, type ExecReturn, type Job, ksuid } from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { ABSENT_GRACE_MS } from "../../master/job_tracker.ts";
import { runJob } from "../../cli/commands/run.ts";
import {
  client,
  closeClient,
  type Daemon,
  jobOf,
  masterConfig,
  pidsOf,
  startNatsServer,
  startPeel,
  tempDir,
  uniqueSleep,
  until,
  waitForPeels,
  zesterAt,
} from "../harness/mod.ts";

const quiet = () => new Logger({ level: "error", sink: () => {} });

async function dispatch(nc: NatsConnection, req: Record<string, unknown>): Promise<string> {
  const jid = ksuid();
  const r = await nc.request(subjects.dispatch, encode({ jid, ...req }), { timeout: 5_000 });
  const reply = decode(r.data) as DispatchReply;
  assert.ok(reply.ok, JSON.stringify(reply));
  return jid;
}

async function returnOf(nc: NatsConnection, jid: string, id: string): Promise<ExecReturn> {
  const kv = await nc.jetstream().views.kv(BUCKETS.jobReturns.name);
  const e = await kv.get(`${jid}.${id}`);
  assert.ok(e?.operation === "PUT", `a return of ${id}`);
  return decode(e.value) as ExecReturn;
}

async function lines(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).trim().split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}

Deno.test("job faults - kill, batch, a dead peel", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
  const peels: Daemon[] = [];
  const nc = await client(ns.url);
  const cfg = `${dir.path}/cli.yaml`;
  try {
    for (const id of ["web-01", "web-02", "web-03"]) {
      peels.push(await startPeel(`${dir.path}/peels`, ns.url, id));
    }
    await waitForPeels(nc, ["web-01", "web-02", "web-03"]);

    await t.step("job kill stops a long cmd.run on every peel, no process left", async () => {
      const mark = `${dir.path}/killed-but-ran`;
      const sleep = uniqueSleep(37);
      const r = await zesterAt(
        cfg,
        ns.url,
        "*",
        "cmd.run",
        `${sleep}; touch ${mark}`,
        "--async",
      );
      const jid = /job ID: (\w{27})/.exec(r.stdout)?.[1];
      assert.ok(jid, r.stdout + r.stderr);
      await until("three sleeps running", () => pidsOf(sleep).length === 3);
      const active = await zesterAt(cfg, ns.url, "job", "active");
      assert.match(
        active.stdout,
        new RegExp(`^JID.*\\n${jid}\\s+cmd\\.run\\s+\\*\\s+running\\s+0/3`),
      );
      const k = await zesterAt(cfg, ns.url, "job", "kill", jid);
      assert.equal(k.code, 0, k.stderr);
      assert.equal(k.stdout, `Job ${jid} canceled: 3/3 returned\n`);
      const job = await jobOf(nc, jid);
      assert.equal(job.status, "canceled");
      assert.ok(job.canceled_by);
      for (const id of job.targets) {
        assert.equal((await returnOf(nc, jid, id)).error, `Canceled by ${job.canceled_by}`);
      }
      await until("the sleeps killed", () => pidsOf(sleep).length === 0);
      await new Promise((r) => setTimeout(r, 500));
      await assert.rejects(Deno.stat(mark), Deno.errors.NotFound);
      const again = await zesterAt(cfg, ns.url, "job", "kill", jid);
      assert.equal(again.code, 2);
      assert.match(again.stderr, new RegExp(`Job ${jid} already ended: canceled`));
    });

    await t.step(
      "a job whose broker dies under it has an unknown outcome, not a failure",
      async () => {
        const sleep = uniqueSleep(41);
        const r = await zesterAt(cfg, ns.url, "web-01", "cmd.run", sleep, "--async");
        const jid = /job ID: (\w{27})/.exec(r.stdout)?.[1];
        assert.ok(jid, r.stdout + r.stderr);
        await until("the sleep running", () => pidsOf(sleep).length === 1);
        const children = new TextDecoder().decode(
          (await new Deno.Command("pgrep", { args: ["-P", String(peels[0]!.pid)] }).output())
            .stdout,
        ).trim().split("\n").filter(Boolean).map(Number);
        assert.equal(children.length, 1, "web-01's broker");
        Deno.kill(children[0]!, "SIGKILL");
        await master.tracker.whenDone(jid);
        const job = await jobOf(nc, jid);
        assert.equal(job.status, "partial");
        assert.equal(job.unknown, 1);
        const ret = await returnOf(nc, jid, "web-01");
        assert.equal(ret.outcome, "unknown");
        assert.match(
          ret.error ?? "",
          /^The broker died while running cmd\.run; its outcome is unknown/,
        );
        for (const pid of pidsOf(sleep)) Deno.kill(pid, "SIGKILL");
      },
    );

    await t.step("--batch 2 never has more than 2 peels running", async () => {
      const r = await zesterAt(
        cfg,
        ns.url,
        "*",
        "test.sleep",
        "1",
        "-b",
        "2",
        "--static",
        "--out",
        "json",
      );
      assert.equal(r.code, 0, r.stderr);
      const runs = Object.values(JSON.parse(r.stdout) as Record<string, ExecReturn>)
        .map((x) => [Date.parse(x.started), Date.parse(x.started) + x.duration_ms] as const);
      assert.equal(runs.length, 3);
      const most = Math.max(
        ...runs.map(([s]) => runs.filter(([s2, e2]) => s2 <= s && s < e2).length),
      );
      assert.equal(most, 2, JSON.stringify(runs));

      const hard = await zesterAt(
        cfg,
        ns.url,
        "*",
        "cmd.run",
        "exit 3",
        "-b",
        "1",
        "--failhard",
        "--static",
        "--out",
        "txt",
      );
      assert.equal(hard.code, 1);
      assert.equal(
        hard.stdout,
        "web-01: \nweb-02: Peel did not return. [No response]\n" +
          "web-03: Peel did not return. [No response]\n",
      );
    });

    await t.step("a dead peel is reported within a second, not waited for", async () => {
      Deno.kill(peels[2]!.pid, "SIGKILL");
      await peels[2]!.status;
      const opts = { fun: "test.ping", words: [], waitMs: 5_000, user: "test" };
      const t0 = performance.now();
      const live = await runJob(nc, { ...opts, tgt: "web-0[12]" });
      const liveMs = performance.now() - t0;
      const t1 = performance.now();
      const all = await runJob(nc, { ...opts, tgt: "*" });
      const allMs = performance.now() - t1;
      console.log(
        `test.ping: live peels ${liveMs.toFixed(0)} ms, with one dead ${allMs.toFixed(0)} ms`,
      );
      assert.equal(live.returns.size, 2);
      assert.equal(all.returns.size, 2);
      assert.deepEqual([...all.absent], ["web-03"]);
      assert.ok(allMs - liveMs < 1_000, `${allMs} ms with a dead peel vs ${liveMs} ms`);
      const r = await zesterAt(cfg, ns.url, "*", "test.ping");
      assert.equal(r.code, 1);
      assert.match(r.stdout, /web-03:\n {4}Peel did not return\. \[Not connected\]/);

      // Nor by the job, once the others returned, even long after a reconnect's time.
      const t2 = performance.now();
      const slow = await dispatch(nc, {
        fun: "test.sleep",
        args: [6],
        tgt: "*",
        timeout_ms: 60_000,
      });
      await master.tracker.whenDone(slow);
      const job = await jobOf(nc, slow);
      assert.equal(job.status, "partial");
      assert.deepEqual(job.absent, ["web-03"]);
      // Held for the dead peel, it would run to its 60 s deadline; the live ones take 6 s and
      // whatever a loaded machine adds.
      assert.ok(performance.now() - t2 < 30_000, "ended when the live peels returned");
    });
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("job faults - a peel killed and restarted mid-job runs no job twice, and keeps its returns", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
  const nc = await client(ns.url);
  const base = `${dir.path}/peels`;
  let peel = await startPeel(base, ns.url, "web-01");
  const other = await startPeel(base, ns.url, "web-02");
  try {
    await waitForPeels(nc, ["web-01", "web-02"]);
    const once = `${dir.path}/once`;
    const first = await dispatch(nc, {
      fun: "cmd.run",
      args: [`echo ran >> ${once}`],
      tgt: "web-01",
    });
    await master.tracker.whenDone(first);
    assert.equal((await jobOf(nc, first)).status, "complete");

    // web-02 runs each job below until the test releases it, so the job is still on when web-01
    // is back: a job ends once its only missing peels have been away for a reconnect's time,
    // and a peel's restart takes longer than that on a busy machine.
    const held = (file: string, release: string) =>
      `echo ran >> ${file}; while [ ! -e ${release} ]; do sleep 0.1; done`;
    const cut = `${dir.path}/cut`;
    const second = await dispatch(nc, {
      fun: "cmd.run",
      args: [held(cut, `${dir.path}/release-second`)],
      tgt: "web-0*",
      timeout_ms: 120_000,
    });
    await until("both first runs", async () => await lines(cut) === 2, 60_000);
    Deno.kill(peel.pid, "SIGKILL");
    await peel.status;
    peel = await startPeel(base, ns.url, "web-01");
    await until(
      "web-01's return",
      async () => (await returnOf(nc, second, "web-01").catch(() => null)) !== null,
      60_000,
    );
    await Deno.writeTextFile(`${dir.path}/release-second`, "");
    await master.tracker.whenDone(second);
    const job = await jobOf(nc, second);
    assert.equal(job.status, "partial");
    assert.equal(job.unknown, 1);
    const ret = await returnOf(nc, second, "web-01");
    assert.equal(ret.outcome, "unknown");
    assert.equal(ret.error, "The peel restarted while running cmd.run; its outcome is unknown");
    assert.equal(await lines(cut), 2, "the job cut short did not run again");

    // Asked again after the restart about the job it finished before: the return it kept on
    // disk, not a second run.
    const acks: Msg[] = [];
    const sub = nc.subscribe("test-inbox.>", { callback: (_e, m) => acks.push(m) });
    nc.publish(
      subjects.cmd("web-01"),
      encode({
        jid: first,
        fun: "cmd.run",
        args: [`echo ran >> ${once}`],
        timeout_ms: 30_000,
        deadline: new Date(Date.now() + 30_000).toISOString(),
      }),
      { reply: ackReplySubject(`test-inbox.${first}`, "web-01", "answer") },
    );
    await until("the ack", () => acks.length === 1);
    sub.unsubscribe();
    assert.equal(acks[0]!.subject, `test-inbox.${first}.web-01.ok`);
    assert.equal(await lines(once), 1, "the finished job did not run again");
    assert.match(peel.output(), /"job journal loaded".*"jobs":2,"returns":1,"interrupted":1/);

    // A peel that was down when the job went out, and connects while it runs, runs it.
    await peel.stop();
    const late = `${dir.path}/late`;
    const third = await dispatch(nc, {
      fun: "cmd.run",
      args: [held(late, `${dir.path}/release-third`)],
      tgt: "web-0*",
      timeout_ms: 120_000,
    });
    peel = await startPeel(base, ns.url, "web-01");
    await until("both late runs", async () => await lines(late) === 2, 60_000);
    await Deno.writeTextFile(`${dir.path}/release-third`, "");
    await master.tracker.whenDone(third);
    const caught = await jobOf(nc, third);
    assert.equal(caught.status, "complete", JSON.stringify(caught));
    assert.equal(await lines(late), 2, "both peels ran it, once each");
  } finally {
    await other.stop();
    await peel.stop();
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("job faults - nats-server restarted mid-job and while idle: the next job reaches every peel", async () => {
  await using store = await tempDir("zester-nats-store-");
  let ns = await startNatsServer({ storeDir: store.path });
  const port = ns.port;
  const restart = async () => {
    await ns.stop();
    ns = await startNatsServer({ storeDir: store.path, port });
  };
  // This client reconnects too (up to the reconnect wait plus its TLS jitter): read once it has.
  const stored = (jid: string): Promise<Job> => until(`job ${jid} readable`, () => jobOf(nc, jid));
  await using dir = await tempDir();
  const master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
  const peels: Daemon[] = [];
  const nc = await client(ns.url);
  const ids = ["web-01", "web-02", "web-03"];
  try {
    for (const id of ids) peels.push(await startPeel(`${dir.path}/peels`, ns.url, id));
    await waitForPeels(nc, ids);

    const during = await dispatch(nc, {
      fun: "cmd.run",
      args: ["sleep 2; echo done"],
      tgt: "*",
      timeout_ms: 60_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    await restart();
    await master.tracker.whenDone(during);
    let job = await stored(during);
    assert.equal(job.status, "complete", JSON.stringify(job));
    assert.equal(job.returned, 3);

    await restart();
    // As soon as a master takes jobs again: the peels may still be reconnecting.
    const next = await until(
      "a master taking jobs",
      () => dispatch(nc, { fun: "test.ping", tgt: "*" }),
    );
    await master.tracker.whenDone(next);
    job = await stored(next);
    assert.equal(job.status, "complete", JSON.stringify(job));
    assert.equal(job.returned, 3);
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    await master.stop();
    await ns.stop();
  }
});

Deno.test("job faults - nats-server restarted while a target is away: its grace starts again from the master's reconnect", async () => {
  await using store = await tempDir("zester-nats-store-");
  let ns = await startNatsServer({ storeDir: store.path });
  const port = ns.port;
  await using dir = await tempDir();
  const master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
  const nc = await client(ns.url);
  const base = `${dir.path}/peels`;
  const up = await startPeel(base, ns.url, "web-01");
  const away = await startPeel(base, ns.url, "web-02");
  let back: NatsConnection | undefined;
  try {
    await waitForPeels(nc, ["web-01", "web-02"]);
    await away.stop();
    const t0 = Date.now();
    const jid = await dispatch(nc, { fun: "test.ping", tgt: "web-0*", timeout_ms: 60_000 });
    await new Promise((r) => setTimeout(r, 500));
    await ns.stop();
    await new Promise((r) => setTimeout(r, 3_000));
    ns = await startNatsServer({ storeDir: store.path, port });
    // web-02 comes back past the grace counted from dispatch, within the one from the reconnect
    // (a raw connection standing in for it: a peel's start would blur the timing).
    await new Promise((r) => setTimeout(r, t0 + ABSENT_GRACE_MS + 500 - Date.now()));
    back = await client(ns.url);
    const asked = Promise.withResolvers<void>();
    back.subscribe(subjects.cmd("web-02"), { callback: () => asked.resolve() });
    await back.flush();
    await Promise.race([
      asked.promise,
      master.tracker.whenDone(jid).then(() => jobOf(nc, jid)).then((job) => {
        throw new Error(`The job ended before web-02 was back: ${JSON.stringify(job)}`);
      }),
    ]);
    assert.ok(master.tracker.has(jid), "the job still waits for web-02");
  } finally {
    if (back) await closeClient(back);
    await up.stop();
    await closeClient(nc);
    await master.stop();
    await ns.stop();
  }
});
