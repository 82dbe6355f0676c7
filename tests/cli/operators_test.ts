/**
 * The operators' CLI on a live fleet: `zester peel list|show`, `zester master list` and
 * `zester job active`.
 */
import assert from "node:assert/strict";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { VERSION } from "../../lib/version/mod.ts";
import {
  client,
  closeClient,
  masterConfig,
  startNatsServer,
  startPeel,
  tempDir,
  until,
  waitForPeels,
  zesterAt,
} from "../harness/mod.ts";

Deno.test("operators cli - peel list and show, master list, job active", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const d = dir.path;
  const cfg = `${d}/cli.yaml`;
  const zester = (...args: string[]) => zesterAt(cfg, ns.url, ...args);
  const master = await Master.start(
    await masterConfig(ns.url, d, { id: "master-ops" }),
    new Logger({ level: "error", sink: () => {} }),
  );
  const nc = await client(ns.url);
  try {
    await using _web = await startPeel(`${d}/peels`, ns.url, "web-01");
    const db = await startPeel(`${d}/peels`, ns.url, "db-01");
    await waitForPeels(nc, ["web-01", "db-01"]);
    await db.stop();

    const list = await zester("peel", "list", "-t", "2");
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split("\n");
    assert.match(lines[0]!, /^PEEL +CONNECTED +LAST SEEN +VERSION$/);
    assert.match(lines[1]!, /^db-01 +no +\d{4}-\d\d-\d\dT[\d:.]+Z +-$/);
    assert.match(
      lines[2]!,
      new RegExp(`^web-01 +yes +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +${VERSION}$`),
    );
    assert.equal(lines.length, 3);

    const down = await zester("peel", "list", "--status", "disconnected", "--format", "json");
    assert.equal(down.code, 0, down.stderr);
    const rows = JSON.parse(down.stdout);
    assert.deepEqual(rows.map((r: { id: string; connected: boolean }) => [r.id, r.connected]), [
      ["db-01", false],
    ]);
    assert.ok(Date.now() - Date.parse(rows[0].last_seen) < 60_000, rows[0].last_seen);
    const bad = await zester("peel", "list", "--status", "gone");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Allowed choices are connected, disconnected/);

    const show = await zester("peel", "show", "web-01");
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^Peel: +web-01$/m);
    assert.match(show.stdout, /^Connected: +yes$/m);
    assert.match(show.stdout, new RegExp(`^Version: +${VERSION}$`, "m"));
    assert.match(show.stdout, /^Last seen: +\d{4}-/m);
    assert.match(show.stdout, /^os\.family: +\S+$/m);
    assert.match(show.stdout, /^hostname: +\S+$/m);
    const gone = await zester("peel", "show", "db-01", "-t", "2");
    assert.equal(gone.code, 1);
    assert.match(gone.stdout, /^Connected: +no$/m);
    const unknown = await zester("peel", "show", "nope");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Peel "nope" not found: no facts stored for it/);

    const masters = await zester("master", "list");
    assert.equal(masters.code, 0, masters.stderr);
    assert.match(
      masters.stdout,
      /^MASTER +STARTED +LAST BEAT +ACTIVE JOBS\nmaster-ops +\d{4}-.*Z +\d{4}-.*Z +\d+\n$/,
    );

    // Held until released: on a loaded machine each CLI start takes seconds, and a fixed sleep
    // could end before the second listing.
    const release = `${d}/release`;
    const sent = await zester(
      "web-01",
      "cmd.run",
      `while [ ! -e ${release} ]; do sleep 0.1; done`,
      "--async",
    );
    assert.equal(sent.code, 0, sent.stderr);
    const jid = /job ID: (\S+)/.exec(sent.stdout)![1]!;
    const active = await zester("job", "active");
    assert.equal(active.code, 0, active.stderr);
    assert.match(active.stdout, new RegExp(`^${jid} +cmd\\.run +web-01 +(pending|running) `, "m"));
    const salt = await zester("jobs.active", "--format", "json");
    // `peel show db-01` above left a test.version job waiting for the stopped peel.
    const listed = JSON.parse(salt.stdout) as { jid: string; fun: string }[];
    assert.deepEqual(listed.filter((j) => j.fun === "cmd.run").map((j) => j.jid), [jid]);
    await Deno.writeTextFile(release, "");
    await zester("job", "wait", jid);
    // The test.version job ends once the stopped peel has had its reconnect grace.
    await until(
      "no active job",
      async () => (await zester("job", "active")).stdout.trim() === "No jobs found.",
      30_000,
    );
  } finally {
    await closeClient(nc);
    await master.stop();
  }
});
