/**
 * `zester backup create` and `zester backup restore` against a live store: a fleet runs jobs
 * and writes facts and state files; the backup is taken, the nats-server stopped, its store
 * deleted and the server started again empty; the restore brings back the same jobs (`zester job
 * show` prints the same), facts and state files, and a job after the restore works.
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "nats";
import { BUCKETS, openBucket } from "../../lib/bus/mod.ts";
import { backupPermissionFlags, CliConfig } from "../../lib/config/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { runJob } from "../../cli/commands/run.ts";
import {
  client,
  closeClient,
  type Daemon,
  masterConfig,
  runZester,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
  writeCliConfig,
} from "../harness/mod.ts";

const quiet = () => new Logger({ level: "error", sink: () => {} });

/** Every key of `bucket` and its value, as text. */
async function snapshot(nc: NatsConnection, bucket: typeof BUCKETS[keyof typeof BUCKETS]) {
  const kv = await openBucket(nc, bucket);
  const out: Record<string, string> = {};
  for await (const k of await kv.keys()) {
    const e = await kv.get(k);
    if (e && e.operation === "PUT") out[k] = new TextDecoder().decode(e.value);
  }
  return out;
}

Deno.test("backup - a live store backed up, wiped and restored keeps its jobs, facts and state files", async () => {
  await using dir = await tempDir();
  await using store = await tempDir();
  await Deno.mkdir(`${dir.path}/states`, { recursive: true });
  await Deno.writeTextFile(
    `${dir.path}/states/hello.zy`,
    "hello:\n  test.succeed_without_changes\n",
  );
  let ns = await startNatsServer({ storeDir: store.path });
  const { port } = ns;
  const admin = await writeCliConfig(`${dir.path}/admin.yaml`, ns.url, "admin");
  await writeCliConfig(`${dir.path}/backup.yaml`, ns.url, "backup");
  const restoreFlags = await writeCliConfig(`${dir.path}/restore.yaml`, ns.url, "restore");
  const backupDir = `${dir.path}/backup/1`;
  const backupFlags = backupPermissionFlags(
    CliConfig.parse({ master: { urls: [ns.url] } }),
    `${dir.path}/backup`,
  );

  let master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
  let nc = await client(ns.url);
  let peel: Daemon | undefined = await startPeel(`${dir.path}/peels`, ns.url, "web-01");
  const jids: string[] = [];
  const shown: string[] = [];
  let facts: Record<string, string>;
  let states: Record<string, string>;
  try {
    await waitForPeels(nc, ["web-01"]);
    for (const words of [["echo before the backup"], ["exit 3"]]) {
      const o = await runJob(nc, {
        tgt: "web-01",
        fun: "cmd.run",
        words,
        waitMs: 10_000,
        user: "t",
      });
      jids.push(o.jid);
    }
    for (const jid of jids) {
      const r = await runZester(admin, ["-c", `${dir.path}/admin.yaml`, "job", "show", jid]);
      assert.equal(r.stderr, "");
      shown.push(`${r.code}\n${r.stdout}`);
    }
    assert.match(shown[0]!, /^0\n[^]*before the backup/);
    assert.match(shown[1]!, /^1\n/, "the failed job shows as failed");
    facts = await snapshot(nc, BUCKETS.facts);
    states = await snapshot(nc, BUCKETS.stateFiles);
    assert.ok(facts["web-01"], "the peel's facts are stored");
    assert.ok(Object.keys(states).some((k) => k.includes("hello")), "the state tree is stored");

    const denied = await runZester(restoreFlags, [
      "-c",
      `${dir.path}/backup.yaml`,
      "backup",
      "create",
      backupDir,
    ]);
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /zester backup create needs .*--allow-write=/);
    const made = await runZester(backupFlags, [
      "-c",
      `${dir.path}/backup.yaml`,
      "backup",
      "create",
      backupDir,
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /KV_jobs: \d+ messages/);
    assert.match(made.stdout, /job-events: \d+ messages/);
    assert.doesNotMatch(made.stdout, /master-heartbeat/, "heartbeats are live state");
  } finally {
    await peel.stop();
    await closeClient(nc);
    await master.stop();
  }

  // Lose the store.
  await ns.stop();
  await Deno.remove(`${store.path}/jetstream`, { recursive: true });
  ns = await startNatsServer({ storeDir: store.path, port });
  nc = await client(ns.url);
  try {
    const restore = (...extra: string[]) =>
      runZester(restoreFlags, [
        "-c",
        `${dir.path}/restore.yaml`,
        "backup",
        "restore",
        backupDir,
        ...extra,
      ]);
    const r = await restore();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /KV_jobs: \d+ messages/);
    // Before any master runs: the data is the backup's.
    assert.deepEqual(await snapshot(nc, BUCKETS.facts), facts);
    assert.deepEqual(await snapshot(nc, BUCKETS.stateFiles), states);
    for (const [i, jid] of jids.entries()) {
      const show = await runZester(admin, ["-c", `${dir.path}/admin.yaml`, "job", "show", jid]);
      assert.equal(`${show.code}\n${show.stdout}`, shown[i], show.stderr);
    }
    const again = await restore();
    assert.equal(again.code, 2);
    assert.match(again.stderr, /Cannot restore into streams that hold messages: "KV_facts"/);

    master = await Master.start(await masterConfig(ns.url, dir.path), quiet());
    peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01");
    await waitForPeels(nc, ["web-01"]);
    const after = await runJob(nc, {
      tgt: "web-01",
      fun: "cmd.run",
      words: ["echo after the restore"],
      waitMs: 10_000,
      user: "t",
    });
    assert.equal(after.status, "complete");
    assert.match(JSON.stringify(after.returns.get("web-01")), /after the restore/);
  } finally {
    await peel?.stop();
    await closeClient(nc);
    await master.stop();
    await ns.stop();
  }
});
