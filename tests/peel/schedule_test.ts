/**
 * The peel's scheduler on a real nats-server, master and peel: runs on time, `maxrunning`,
 * `splay`, `run_on_start`, `schedule.*`, bad entries reported by file and field while the peel
 * runs on, runs while NATS is away recorded as jobs once it is back; and a cron entry at a minute
 * boundary under a moved clock.
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "nats";
import { BUCKETS } from "../../lib/bus/mod.ts";
import { type ExecReturn, readJobRecord } from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import type { ExecCall } from "../../peel/exec.ts";
import { Scheduler } from "../../peel/scheduler.ts";
import { Master } from "../../master/master.ts";
import {
  client,
  closeClient,
  type Daemon,
  masterConfig,
  startNatsServer,
  startPeel,
  tempDir,
  zesterAt,
} from "../harness/mod.ts";

const quiet = () => new Logger({ level: "error", sink: () => {} });

interface LogLine {
  time: string;
  level: string;
  msg: string;
  schedule?: string;
  jid?: string;
  error?: string;
  [k: string]: unknown;
}

/** The peel's JSON log lines with message `msg` (and schedule `schedule`, when given). */
function logLines(d: Daemon, msg: string, schedule?: string): LogLine[] {
  return d.output().split("\n").flatMap((l) => {
    try {
      const rec = JSON.parse(l) as LogLine;
      return rec.msg === msg && (schedule === undefined || rec.schedule === schedule) ? [rec] : [];
    } catch {
      return [];
    }
  });
}

const at = (l: LogLine) => Date.parse(l.time);

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!await cond()) {
    if (Date.now() > end) throw new Error(`Condition not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function recorded(nc: NatsConnection, jid: string): Promise<boolean> {
  const kv = await nc.jetstream().views.kv(BUCKETS.jobs.name);
  return (await readJobRecord(kv, jid).catch(() => undefined)) !== undefined;
}

Deno.test("schedule - on time, maxrunning, splay, run_on_start, schedule.*, bad entries; runs become jobs", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
  const nc = await client(ns.url);
  const cli = `${dir.path}/cli.yaml`;
  let peel: Daemon | undefined;
  try {
    peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01", {
      extra: {
        schedule: {
          tick: { function: "test.echo", args: ["tick"], seconds: 1, return_job: true },
          slow: { function: "test.sleep", args: [2.5], seconds: 1 },
          startup: { function: "test.ping", hours: 1, run_on_start: true, return_job: true },
          splayed: {
            function: "test.version",
            hours: 1,
            run_on_start: true,
            splay: { start: 2, end: 3 },
          },
          badcron: { function: "test.ping", cron: "61 * * * *" },
          nofun: { function: "nope.missing", seconds: 5 },
          negative: { function: "test.ping", seconds: -5 },
        },
      },
    });
    const config = peel.configPath;
    // Until every run the checks below count has happened (about 6 s on an idle machine).
    await until(() =>
      logLines(peel!, "running scheduled job", "tick").length >= 4 &&
      logLines(peel!, "scheduled job skipped: maxrunning reached", "slow").length >= 2 &&
      logLines(peel!, "running scheduled job", "slow").length >= 2 &&
      logLines(peel!, "running scheduled job", "splayed").length === 1 &&
      logLines(peel!, "schedule entry ignored").length >= 3
    );
    const loaded = at(logLines(peel, "schedule loaded")[0]!);

    // Bad entries: each named by file and field; the peel and the good entries run on.
    const ignored = logLines(peel, "schedule entry ignored").map((l) => l.error!);
    for (const field of ["badcron.cron", "nofun.function", "negative.seconds"]) {
      assert.ok(
        ignored.some((e) => e.startsWith(`Invalid config "${config}": field "schedule.${field}"`)),
        `${field} in ${JSON.stringify(ignored)}`,
      );
    }
    assert.equal(ignored.length, 3);
    const ping = await zesterAt(cli, ns.url, "web-01", "test.ping");
    assert.equal(ping.code, 0, ping.stderr);

    // On time: every second from the schedule's start (the first run a second after it).
    const ticks = logLines(peel, "running scheduled job", "tick").map(at);
    assert.ok(ticks.length >= 4, `ticks: ${ticks.length}`);
    assert.ok(Math.abs(ticks[0]! - loaded - 1000) < 300, `first tick ${ticks[0]! - loaded} ms`);
    ticks.slice(1).forEach((t, i) => {
      assert.ok(Math.abs(t - ticks[i]! - 1000) < 300, `tick gap ${t - ticks[i]!} ms`);
    });

    // maxrunning 1: a 2.5 s sleep every second runs one at a time; the others are skipped.
    const slow = logLines(peel, "running scheduled job", "slow").map(at);
    assert.ok(slow.length >= 2, `slow runs: ${slow.length}`);
    slow.slice(1).forEach((t, i) => assert.ok(t - slow[i]! >= 2_500, `overlap ${t - slow[i]!}`));
    assert.ok(logLines(peel, "scheduled job skipped: maxrunning reached", "slow").length >= 2);

    // run_on_start: at once; with splay {start: 2, end: 3}: between 2 and 3 s after the start.
    const startup = logLines(peel, "running scheduled job", "startup");
    assert.equal(startup.length, 1);
    assert.ok(at(startup[0]!) - loaded < 300, `startup after ${at(startup[0]!) - loaded} ms`);
    const splayed = logLines(peel, "running scheduled job", "splayed");
    assert.equal(splayed.length, 1);
    const delay = at(splayed[0]!) - loaded;
    assert.ok(delay >= 2_000 && delay < 3_300, `splayed after ${delay} ms`);

    // return_job: the runs are jobs of user "schedule", in `zester job list` and `job show`.
    const tickJid = logLines(peel, "running scheduled job", "tick")[0]!.jid!;
    await until(() => recorded(nc, tickJid));
    const list = await zesterAt(cli, ns.url, "job", "list", "--function", "test.echo");
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${tickJid}\\s+test\\.echo\\s+web-01\\s+complete\\s+1/1`));
    const show = await zesterAt(cli, ns.url, "job", "show", tickJid);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /User:\s+schedule/);
    assert.match(show.stdout, /Schedule:\s+tick/);
    assert.match(show.stdout, /tick/);
    // Without return_job, no job is recorded.
    const slowJid = logLines(peel, "running scheduled job", "slow")[0]!.jid!;
    assert.equal(await recorded(nc, slowJid), false);

    // schedule.*: list, disable_job (no more runs), run_job (a run now, recorded as a job).
    const listed = await zesterAt(cli, ns.url, "web-01", "schedule.list", "--out", "json");
    assert.equal(listed.code, 0, listed.stderr);
    const { result } = JSON.parse(listed.stdout)["web-01"] as {
      result: { enabled: boolean; jobs: Record<string, Record<string, unknown>> };
    };
    assert.equal(result.enabled, true);
    const jobs = result.jobs;
    assert.deepEqual(Object.keys(jobs).sort(), ["slow", "splayed", "startup", "tick"]);
    assert.equal(jobs.tick!.seconds, 1);
    assert.equal(jobs.slow!.maxrunning, 1);
    assert.equal(typeof jobs.tick!.next_fire_time, "string");
    const off = await zesterAt(cli, ns.url, "web-01", "schedule.disable_job", "tick");
    assert.equal(off.code, 0, off.stdout + off.stderr);
    const before = logLines(peel, "running scheduled job", "tick").length;
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(logLines(peel, "running scheduled job", "tick").length, before);
    const run = await zesterAt(
      cli,
      ns.url,
      "web-01",
      "schedule.run_job",
      "startup",
      "--out",
      "json",
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const runJid = (JSON.parse(run.stdout)["web-01"] as { result: { jid: string } }).result.jid;
    await until(() => recorded(nc, runJid));
    const missing = await zesterAt(cli, ns.url, "web-01", "schedule.run_job", "nothere");
    assert.equal(missing.code, 1);
    assert.match(missing.stdout + missing.stderr, /No schedule job named "nothere"/);
    assert.equal(peel.output().includes("cannot start peel"), false);
  } finally {
    await peel?.stop();
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("schedule - runs while NATS is stopped, and its return_job runs become jobs once it is back", async () => {
  await using store = await tempDir("zester-nats-store-");
  let ns = await startNatsServer({ storeDir: store.path });
  const port = ns.port;
  await using dir = await tempDir();
  const master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
  let nc = await client(ns.url);
  let peel: Daemon | undefined;
  try {
    peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01", {
      extra: {
        schedule: {
          away: { function: "test.echo", args: ["away"], seconds: 1, return_job: true },
        },
      },
    });
    const first = await (async () => {
      await until(() => logLines(peel!, "running scheduled job", "away").length > 0);
      return logLines(peel!, "running scheduled job", "away")[0]!.jid!;
    })();
    await until(() => recorded(nc, first));
    await closeClient(nc);

    await ns.stop();
    const stopped = Date.now();
    const runsAway = () =>
      logLines(peel!, "running scheduled job", "away").filter((l) => at(l) > stopped)
        .map((l) => l.jid!);
    // Kept in the peel's data dir until recorded.
    const outbox = `${dir.path}/peels/web-01/data/schedule-outbox`;
    const kept = async () => {
      const names = [];
      for await (const e of Deno.readDir(outbox)) names.push(e.name);
      return names;
    };
    let during: string[] = [];
    await until(async () => {
      during = runsAway();
      const names = await kept().catch(() => [] as string[]);
      return during.length >= 3 && during.every((jid) => names.includes(jid));
    });

    ns = await startNatsServer({ storeDir: store.path, port });
    nc = await client(ns.url);
    for (const jid of during) await until(() => recorded(nc, jid), 30_000);
    const show = await zesterAt(`${dir.path}/cli.yaml`, ns.url, "job", "show", during[0]!);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /Function:\s+test\.echo/);
    assert.match(show.stdout, /User:\s+schedule/);
    assert.match(show.stdout, /Status:\s+complete/);
    assert.match(show.stdout, /away/);
  } finally {
    await peel?.stop();
    await closeClient(nc).catch(() => {});
    await master.stop();
    await ns.stop();
  }
});

Deno.test("schedule - a cron entry fires at the next minute boundary of the scheduler's clock", async () => {
  // The scheduler's clock is 1.5 s before a minute boundary; timers run in real time.
  const real = Date.now();
  const offset = (Math.ceil(real / 60_000) * 60_000 + 60_000 - 1_500) - real;
  const now = () => Date.now() + offset;
  const calls: { call: ExecCall; at: number }[] = [];
  const scheduler = new Scheduler({
    sources: () => [{
      file: "peel.yaml",
      schedule: { minutely: { function: "test.ping", cron: "* * * * *" } },
    }],
    isFunction: () => true,
    run: (call) => {
      calls.push({ call, at: now() });
      return Promise.resolve({} as ExecReturn);
    },
    returnJob: () => Promise.resolve(),
    log: quiet(),
    now,
  });
  await scheduler.start();
  try {
    const boundary = Math.ceil(now() / 60_000) * 60_000;
    assert.equal(scheduler.list().jobs.minutely!.next_fire_time, new Date(boundary).toISOString());
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(calls.length, 0, "not before the boundary");
    await until(() => calls.length === 1, 2_000);
    assert.equal(calls[0]!.call.fun, "test.ping");
    assert.ok(
      calls[0]!.at >= boundary && calls[0]!.at < boundary + 500,
      `${calls[0]!.at - boundary}`,
    );
    assert.equal(
      scheduler.list().jobs.minutely!.next_fire_time,
      new Date(boundary + 60_000).toISOString(),
    );
  } finally {
    await scheduler.stop();
  }
});
