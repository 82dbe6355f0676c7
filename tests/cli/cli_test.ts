/** The `zester` CLI as operators run it: a subprocess with its own permission flags. */
import assert from "node:assert/strict";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import {
  client,
  closeClient,
  type Daemon,
  masterConfig,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
  zesterAt,
} from "../harness/mod.ts";

const zester = zesterAt;

Deno.test("cli - run, formats, exit status, job list and show", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path),
    new Logger({ level: "error", sink: () => {} }),
  );
  const peels: Daemon[] = [];
  const nc = await client(ns.url);
  const cfg = `${dir.path}/cli.yaml`;
  try {
    for (const id of ["web-01", "web-02"]) {
      peels.push(await startPeel(`${dir.path}/peels`, ns.url, id));
    }
    await waitForPeels(nc, ["web-01", "web-02"]);

    await t.step("text output per peel, exit 0", async () => {
      const r = await zester(cfg, ns.url, "*", "test.ping");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "web-01:\n    True\nweb-02:\n    True\n");
    });

    await t.step("json output with args and kwargs", async () => {
      const r = await zester(cfg, ns.url, "web-01", "test.echo", "hello world", "--format", "json");
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out["web-01"].result, "hello world");
      assert.equal(out["web-01"].success, true);
      assert.equal(out["web-01"].returned, true);
    });

    await t.step("a failed command exits 1 and shows the exit code", async () => {
      const r = await zester(
        cfg,
        ns.url,
        "web-02",
        "cmd.run",
        "echo nope; exit 3",
        "--format",
        "yaml",
      );
      assert.equal(r.code, 1);
      assert.match(r.stdout, /retcode: 3/);
      assert.match(r.stdout, /result: nope/);
    });

    await t.step("job list and job show read KV", async () => {
      const list = await zester(cfg, ns.url, "job", "list");
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^JID\s+FUNCTION\s+TARGET\s+STATE/);
      assert.match(list.stdout, /cmd\.run\s+web-02\s+failed\s+1\/1/);
      const jobs = JSON.parse(
        (await zester(cfg, ns.url, "job", "list", "--format", "json")).stdout,
      );
      const ping = jobs.find((j: { fun: string }) => j.fun === "test.ping");
      const show = await zester(cfg, ns.url, "job", "show", ping.jid);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, new RegExp(`"jid": "${ping.jid}"`));
      assert.match(show.stdout, /Returns:\nPEEL\s+SUCCESS\s+DURATION/);
      assert.match(show.stdout, /web-01\s+true/);
      const missing = await zester(cfg, ns.url, "job", "show", "2hPx1FNsSgJMqVn5bLSTXeBQMpO");
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /Job "2hPx1FNsSgJMqVn5bLSTXeBQMpO" not found/);
    });

    await t.step("a peel that is down is listed as not returned, exit 1", async () => {
      await peels[1]!.stop();
      const r = await zester(cfg, ns.url, "*", "test.ping", "--timeout", "2s");
      assert.equal(r.code, 1);
      assert.match(r.stdout, /web-02:\n {4}Peel did not return\. \[No response\]/);
      assert.match(r.stdout, /Did not return \(1\): web-02/);
    });

    await t.step("--preview and single-matcher flags", async () => {
      const all = await zester(cfg, ns.url, "*", "--preview");
      assert.equal(all.code, 0, all.stderr);
      assert.equal(all.stdout, "web-01\nweb-02\n\n2 peel(s) matched\n");
      const g = await zester(cfg, ns.url, "-G", "id:web-02", "--preview", "--format", "json");
      assert.deepEqual(JSON.parse(g.stdout), ["web-02"]);
      const e = await zester(cfg, ns.url, "-E", "web-0[01]", "test.ping");
      assert.equal(e.code, 0, e.stderr);
      assert.equal(e.stdout, "web-01:\n    True\n");
      const none = await zester(cfg, ns.url, "G@role:nothing", "--preview");
      assert.equal(none.code, 2);
      assert.match(none.stdout, /No peels matched the target\./);
      const bad = await zester(cfg, ns.url, "web-* and (", "test.ping");
      assert.equal(bad.code, 2);
      assert.match(
        bad.stderr,
        /zester: Cannot parse target "web-\* and \(": unbalanced parenthesis at 10/,
      );
      const two = await zester(cfg, ns.url, "-E", "-L", "x", "--preview");
      assert.equal(two.code, 2);
      assert.match(two.stderr, /choose one target type, not pcre and list/);
    });

    await t.step("usage errors exit 2 with a message", async () => {
      const none = await zester(cfg, ns.url, "db-*", "test.ping");
      assert.equal(none.code, 2);
      assert.match(none.stderr, /zester: No peels matched the target "db-\*"/);
      const badTimeout = await zester(cfg, ns.url, "*", "test.ping", "--timeout", "soon");
      assert.equal(badTimeout.code, 2);
      assert.match(badTimeout.stderr, /expected a duration/);
      const badFun = await zester(cfg, ns.url, "*", "Ping!");
      assert.equal(badFun.code, 2);
      assert.match(badFun.stderr, /field "fun": expected a function name/);
    });
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("cli - no reachable NATS is a clear error", async () => {
  await using dir = await tempDir();
  const r = await zester(`${dir.path}/cli.yaml`, "nats://127.0.0.1:1", "*", "test.ping");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /zester: Cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
});
