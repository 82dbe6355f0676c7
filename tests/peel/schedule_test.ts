/**
 * The peel's scheduler on a real nats-server, master and peel: runs on time, `maxrunning`,
 * `splay`, `run_on_start`, `schedule.*`, bad entries reported by file and field while the peel
 * runs on, runs while NATS is away recorded as jobs once it is back, also for a peel started while
 * NATS is down (peel.yaml's entries, and its kept settings' once it has connected before); and a
 * cron entry at a minute boundary under a moved clock.
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "nats";
import { BUCKETS } from "../../lib/bus/mod.ts";
import { type ExecReturn, readJobRecord } from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import type { ExecCall } from "../../peel/exec.ts";
import { Scheduler } from "../../peel/scheduler.ts";
import { Master } from "../../master/master.ts";
import { register } from "../../deploy/dev/trust.ts";
import {
  client,
  closeClient,
  type Daemon,
  freePort,
  masterConfig,
  type NatsServer,
  startNatsServer,
  startPeel,
  tempDir,
  until,
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
    await until(
      "every counted run",
      () =>
        logLines(peel!, "running scheduled job", "tick").length >= 4 &&
        logLines(peel!, "scheduled job skipped: maxrunning reached", "slow").length >= 2 &&
        logLines(peel!, "running scheduled job", "slow").length >= 2 &&
        logLines(peel!, "running scheduled job", "splayed").length === 1 &&
        logLines(peel!, "schedule entry ignored").length >= 3,
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

    // On time: each run on a whole second from the schedule's start, never early, one per second
    // at most; a loaded machine may fire a timer late, but lateness does not add up (a run that
    // falls a whole interval behind is skipped, as in Salt).
    const ticks = logLines(peel, "running scheduled job", "tick").map(at);
    assert.ok(ticks.length >= 4, `ticks: ${ticks.length}`);
    const seconds = ticks.map((t) => {
      const second = Math.floor((t - loaded + 100) / 1000);
      const late = t - loaded - second * 1000;
      assert.ok(second >= 1 && late < 900, `a tick at ${t - loaded} ms from the start`);
      return second;
    });
    seconds.slice(1).forEach((n, i) => assert.ok(n > seconds[i]!, `ticks at ${seconds}`));

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
    await until("the tick recorded", () => recorded(nc, tickJid));
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
    await until("the run recorded", () => recorded(nc, runJid));
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
      await until(
        "a scheduled run",
        () => logLines(peel!, "running scheduled job", "away").length > 0,
      );
      return logLines(peel!, "running scheduled job", "away")[0]!.jid!;
    })();
    await until("the first run recorded", () => recorded(nc, first));
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
    await until("three runs kept in the outbox", async () => {
      during = runsAway();
      const names = await kept().catch(() => [] as string[]);
      return during.length >= 3 && during.every((jid) => names.includes(jid));
    });

    ns = await startNatsServer({ storeDir: store.path, port });
    nc = await client(ns.url);
    for (const jid of during) await until(`run ${jid} recorded`, () => recorded(nc, jid), 30_000);
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

Deno.test("schedule - a peel started while NATS is down runs its schedule from peel.yaml and its kept settings; runs become jobs once NATS is up", async () => {
  await using store = await tempDir("zester-nats-store-");
  await using dir = await tempDir();
  const port = freePort();
  const url = `tls://127.0.0.1:${port}`;
  // The development trust the server started later uses, so that the peel gets its creds now.
  await register(url);
  const settings = `${dir.path}/settings`;
  await Deno.mkdir(settings);
  await Deno.writeTextFile(`${settings}/top.zy`, "base:\n  '*':\n    - sched\n");
  await Deno.writeTextFile(
    `${settings}/sched.zy`,
    "schedule:\n  kept: {function: test.echo, args: [kept], seconds: 1, return_job: true}\n",
  );
  const schedule = {
    local: { function: "test.echo", args: ["local"], seconds: 1, return_job: true },
  };
  const startOffline = () =>
    startPeel(`${dir.path}/peels`, url, "web-01", { ready: false, extra: { schedule } });
  const outbox = `${dir.path}/peels/web-01/data/schedule-outbox`;
  /** Runs of `name` logged since `since`, at least `n` of them, each kept in the outbox. */
  const offlineRuns = async (peel: Daemon, name: string, since: number, n = 2) => {
    const runs = () =>
      logLines(peel, "running scheduled job", name).filter((l) => at(l) >= since).map((l) =>
        l.jid!
      );
    await until(`${n} runs`, () => runs().length >= n);
    const kept = [...Deno.readDirSync(outbox)].map((e) => e.name);
    for (const jid of runs()) assert.ok(kept.includes(jid), `${name} run ${jid} kept`);
    return runs();
  };
  /** Start nats-server and a master; every run in `jids` becomes a job with user `schedule`. */
  const upAndRecorded = async (jids: string[]) => {
    const ns = await startNatsServer({ storeDir: store.path, port });
    const master = await Master.start(
      await masterConfig(ns.url, dir.path, { settings_dir: settings }),
      quiet(),
    );
    const nc = await client(ns.url);
    try {
      for (const jid of jids) await until(`run ${jid} recorded`, () => recorded(nc, jid), 30_000);
      const show = await zesterAt(`${dir.path}/cli.yaml`, ns.url, "job", "show", jids[0]!);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /Function:\s+test\.echo/);
      assert.match(show.stdout, /User:\s+schedule/);
      assert.match(show.stdout, /Status:\s+complete/);
    } finally {
      await closeClient(nc);
    }
    return { ns, master };
  };

  let peel: Daemon | undefined = await startOffline();
  let up: { ns: NatsServer; master: Master } | undefined;
  try {
    // Never connected: peel.yaml's schedule runs; the settings' is not known yet.
    const first = await offlineRuns(peel, "local", 0);
    assert.equal(logLines(peel, "running scheduled job", "kept").length, 0);
    up = await upAndRecorded(first);
    await peel.waitFor(/"peel ready"/);
    // Connected: the settings' entry runs too, and the settings are kept in the data dir.
    await until(
      "a kept run logged",
      () => logLines(peel!, "running scheduled job", "kept").length > 0,
    );
    await peel.stop();
    await up.master.stop();
    await up.ns.stop();
    up = undefined;

    await register(url);
    const restarted = Date.now();
    peel = await startOffline();
    const local = await offlineRuns(peel, "local", restarted);
    const kept = await offlineRuns(peel, "kept", restarted);
    assert.ok(!peel.output().includes('"peel ready"'), "NATS is still down");
    up = await upAndRecorded([...kept, ...local]);
  } finally {
    await peel?.stop();
    await up?.master.stop();
    await up?.ns.stop();
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
    await until("the call at the boundary", () => calls.length === 1, 2_000);
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
