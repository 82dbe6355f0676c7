/**
 * Two masters side by side on a real nats-server, with real peels and the real CLI: one dies or
 * stalls while it owns a running job, and the other adopts and finishes it.
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "nats";
import { BUCKETS, decode, STREAMS, subjects } from "../../lib/bus/mod.ts";
import { activeJobIds, isTerminal, type Job, type JobStatus, readJob } from "../../lib/job/mod.ts";
import {
  client,
  closeClient,
  type Daemon,
  DENO_CONFIG,
  jobOf,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  until,
  waitForPeels,
  writeCliConfig,
} from "../harness/mod.ts";
import { V8_FLAGS } from "../../lib/config/mod.ts";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;

async function lines(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).trim().split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** The one job in `jobs` running now. */
async function runningJob(nc: NatsConnection): Promise<Job> {
  const kv = await nc.jetstream().views.kv(BUCKETS.jobs.name);
  return await until("a running job", async () => {
    const [jid] = await activeJobIds(kv);
    const job = jid === undefined ? undefined : await readJob(kv, jid);
    return job?.status === "running" && job;
  }, 30_000);
}

/** The statuses `job-events` holds for job `jid`, in order. */
async function transitions(nc: NatsConnection, jid: string): Promise<JobStatus[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(STREAMS.jobEvents.name);
  const out: JobStatus[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAMS.jobEvents.name, { seq }).catch(() => null);
    if (m?.subject === subjects.jobStatus(jid)) out.push((decode(m.data) as Job).status);
  }
  return out;
}

/** Start the real CLI, not waited for. */
async function startCli(cfg: string, natsUrl: string, args: string[]) {
  const flags = await writeCliConfig(cfg, natsUrl);
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", DENO_CONFIG, V8_FLAGS, ...flags, CLI, "--config", cfg, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("failover - a master dies or stalls mid-job: the other finishes it, once, with every return", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const masters = new Map<string, Daemon>();
  for (const id of ["master-a", "master-b"]) {
    const d = `${dir.path}/${id}`;
    await Deno.mkdir(d, { recursive: true });
    masters.set(id, await startMaster(d, ns.url, { id, heartbeat_interval: "1s" }));
  }
  const peels: Daemon[] = [];
  const nc = await client(ns.url);
  const ids = ["web-01", "web-02", "web-03"];
  try {
    for (const id of ids) peels.push(await startPeel(`${dir.path}/peels`, ns.url, id));
    await waitForPeels(nc, ids);

    await t.step(
      "a master killed: the other adopts its job, the CLI exits by its status",
      async () => {
        const runs = `${dir.path}/runs-killed`;
        const cli = await startCli(`${dir.path}/cli.yaml`, ns.url, [
          "*",
          "cmd.run",
          `echo ran >> ${runs}; sleep 3; echo done`,
          "-t",
          "60",
          "--static",
          "--out",
          "json",
        ]);
        await until("three runs started", async () => await lines(runs) === 3, 30_000);
        const job = (await runningJob(nc))!;
        const owner = masters.get(job.owner)!;
        const other = [...masters.entries()].find(([id]) => id !== job.owner)!;
        const killed = performance.now();
        Deno.kill(owner.pid, "SIGKILL");
        await owner.status;
        masters.delete(job.owner);
        await until(
          "the job to end",
          async () => isTerminal((await jobOf(nc, job.jid)).status),
          30_000,
        );
        const finishedAfter = performance.now() - killed;
        console.log(
          `orphan of a killed master finished ${finishedAfter.toFixed(0)} ms after the kill`,
        );
        const out = await cli.output();
        const stdout = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, stdout + new TextDecoder().decode(out.stderr));
        const printed = JSON.parse(stdout);
        for (const id of ids) assert.equal(printed[id].result, "done");

        const done = await jobOf(nc, job.jid);
        assert.equal(done.status, "complete");
        assert.equal(done.returned, 3);
        assert.equal(done.owner, other[0]);
        assert.ok(done.epoch! > job.epoch!, "a new epoch");
        assert.equal(await lines(runs), 3, "no peel ran it twice");
        const seen = await transitions(nc, job.jid);
        assert.deepEqual(seen, ["pending", "claimed", "running", "claimed", "running", "complete"]);
        assert.match(other[1].output(), new RegExp(`"adopted job".*"jid":"${job.jid}"`));
      },
    );

    await t.step("a master that stalls and comes back cannot overwrite the job", async () => {
      // Start a master in place of the one killed, so that two run again.
      const d = `${dir.path}/master-c`;
      await Deno.mkdir(d, { recursive: true });
      masters.set(
        "master-c",
        await startMaster(d, ns.url, { id: "master-c", heartbeat_interval: "1s" }),
      );
      const runs = `${dir.path}/runs-stalled`;
      const cli = await startCli(`${dir.path}/cli.yaml`, ns.url, [
        "*",
        "cmd.run",
        `echo ran >> ${runs}; sleep 3`,
        "-t",
        "60",
      ]);
      await until("three runs started", async () => await lines(runs) === 3, 30_000);
      const job = await runningJob(nc);
      const owner = masters.get(job.owner)!;
      Deno.kill(owner.pid, "SIGSTOP");
      try {
        await until(
          "the job to end",
          async () => isTerminal((await jobOf(nc, job.jid)).status),
          30_000,
        );
      } finally {
        Deno.kill(owner.pid, "SIGCONT");
      }
      const adopted = await jobOf(nc, job.jid);
      assert.equal((await cli.output()).code, 0);
      await owner.waitFor(/"job taken over by another master; leaving it to that one"/, 15_000);
      const after = await jobOf(nc, job.jid);
      assert.deepEqual(after, adopted, "the stale master wrote nothing");
      assert.notEqual(after.owner, job.owner);
      assert.equal(
        (await transitions(nc, job.jid)).filter((s) => isTerminal(s)).length,
        1,
        "one end",
      );
      assert.equal(await lines(runs), 3, "no peel ran it twice");
    });
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    for (const m of masters.values()) await m.stop();
  }
});
