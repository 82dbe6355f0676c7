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
      const r = await zester(cfg, ns.url, "*", "test.ping", "--static");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "web-01:\n    True\nweb-02:\n    True\n");
      // Without --static, each peel as it returns.
      const live = await zester(cfg, ns.url, "*", "test.ping");
      assert.deepEqual(live.stdout.split(/(?=web)/).sort(), [
        "web-01:\n    True\n",
        "web-02:\n    True\n",
      ]);
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

    await t.step("Salt's output spellings: --out, --out=, txt, raw, nested, --static", async () => {
      const json = await zester(cfg, ns.url, "web-01", "test.ping", "--out=json");
      assert.equal(json.code, 0, json.stderr);
      assert.equal(JSON.parse(json.stdout)["web-01"].result, true);
      const yaml = await zester(cfg, ns.url, "web-01", "test.ping", "--out", "yaml");
      assert.match(yaml.stdout, /^web-01:\n {2}returned: true\n/);
      const txt = await zester(cfg, ns.url, "*", "test.ping", "--out", "txt", "--static");
      assert.equal(txt.stdout, "web-01: True\nweb-02: True\n");
      const raw = await zester(cfg, ns.url, "web-01", "test.echo", "it's", "--out", "raw");
      assert.match(
        raw.stdout,
        /^\{'web-01': \{'returned': True, 'fun': 'test\.echo', 'success': True, 'result': 'it\\'s'/,
      );
      const nested = await zester(cfg, ns.url, "*", "test.ping", "--out", "nested", "--static");
      assert.equal(nested.stdout, "web-01:\n    True\nweb-02:\n    True\n");
      // Without --static, one JSON object per peel as it returns; with it, one for all.
      const both = await zester(cfg, ns.url, "*", "test.ping", "--out", "json", "--static");
      assert.deepEqual(Object.keys(JSON.parse(both.stdout)), ["web-01", "web-02"]);
      const each = await zester(cfg, ns.url, "*", "test.ping", "--out", "json");
      const objects = each.stdout.trim().split(/\n(?=\{)/).map((o) => JSON.parse(o));
      assert.deepEqual(objects.map((o) => Object.keys(o)[0]).sort(), ["web-01", "web-02"]);
    });

    await t.step("--async prints the job id; job wait follows it to its end", async () => {
      const r = await zester(cfg, ns.url, "*", "cmd.run", "sleep 1; echo done", "--async");
      assert.equal(r.code, 0, r.stderr);
      const jid = /^Executed command with job ID: (\w{27})$/.exec(r.stdout.trim())?.[1];
      assert.ok(jid, r.stdout);
      const w = await zester(cfg, ns.url, "job", "wait", jid);
      assert.equal(w.code, 0, w.stderr);
      assert.equal(w.stdout, "web-01:\n    done\nweb-02:\n    done\n", "in target order");
    });

    await t.step("-t is how long the CLI waits, not how long the command may run", async () => {
      const mark = `${dir.path}/peels/web-01/files/after-sleep`;
      const r = await zester(cfg, ns.url, "web-01", "cmd.run", `sleep 3; touch ${mark}`, "-t", "1");
      assert.equal(r.code, 0, r.stderr);
      assert.ok(await Deno.stat(mark), "the command ran to its end");
      const short = await zester(
        cfg,
        ns.url,
        "web-01",
        "test.sleep",
        "5",
        "--job-timeout",
        "1s",
        "--out",
        "json",
      );
      assert.equal(short.code, 1);
      // What was left of the second when the peel started it (less on a busy machine).
      assert.match(JSON.parse(short.stdout)["web-01"].error, /^Timed out after (1|0\.\d)s$/);
    });

    await t.step("job list filters; job show prints the returned data", async () => {
      const list = await zester(cfg, ns.url, "job", "list");
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^JID\s+FUNCTION\s+TARGET\s+STATE/);
      assert.match(list.stdout, /cmd\.run\s+web-02\s+failed\s+1\/1/);
      const failed = await zester(
        cfg,
        ns.url,
        "job",
        "list",
        "--status",
        "failed",
        "--out",
        "json",
      );
      assert.ok(JSON.parse(failed.stdout).every((j: { status: string }) => j.status === "failed"));
      const cmds = JSON.parse(
        (await zester(cfg, ns.url, "job", "list", "--function", "cmd.*", "--format", "json"))
          .stdout,
      );
      assert.ok(cmds.length >= 2 && cmds.every((j: { fun: string }) => j.fun === "cmd.run"));
      const web02 = await zester(cfg, ns.url, "job", "list", "--target", "web-02", "-n", "1");
      assert.equal(web02.stdout.trim().split("\n").length, 2, web02.stdout);
      const none = await zester(cfg, ns.url, "job", "list", "--since", "2099-01-01T00:00:00Z");
      assert.equal(none.stdout, "No jobs found.\n");
      const jobs = JSON.parse(
        (await zester(cfg, ns.url, "job", "list", "--format", "json", "--since", "1h")).stdout,
      );
      const echo = jobs.find((j: { fun: string }) => j.fun === "test.echo");
      const show = await zester(cfg, ns.url, "job", "show", echo.jid);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, new RegExp(`^JID: +${echo.jid}\nFunction: +test.echo\n`));
      assert.match(show.stdout, /\nStatus: +complete\n/);
      assert.match(show.stdout, /\nPEEL\s+SUCCESS\s+DURATION\s+RETCODE\s+ERROR\nweb-01\s+true/);
      assert.match(show.stdout, /\nweb-01:\n {4}(hello world|it's)\n/);
      const salt = await zester(cfg, ns.url, "jobs.lookup_jid", echo.jid);
      assert.equal(salt.stdout, show.stdout, "Salt's runner name shows the same");
      const missing = await zester(cfg, ns.url, "job", "show", "2hPx1FNsSgJMqVn5bLSTXeBQMpO");
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /Job "2hPx1FNsSgJMqVn5bLSTXeBQMpO" not found/);
    });

    await t.step("a peel that is down is reported at once as not connected, exit 1", async () => {
      await peels[1]!.stop();
      const before = new Set(master.tracker.active());
      const r = await zester(cfg, ns.url, "*", "test.ping");
      // Not held by the dead peel: the CLI is done while the master still gives web-02 its
      // ABSENT_GRACE_MS to reconnect (a wall clock would count the CLI's start on a busy machine).
      const held = master.tracker.active().filter((jid) => !before.has(jid));
      assert.equal(held.length, 1, "the job still held by the master");
      assert.equal(r.code, 1);
      assert.match(r.stdout, /web-02:\n {4}Peel did not return\. \[Not connected\]/);
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

    await t.step("a bad flag or argument list prints one usage line, not the help", async () => {
      const flag = await zester(cfg, ns.url, "*", "test.ping", "--bogus");
      assert.equal(flag.code, 2);
      assert.equal(
        flag.stderr,
        "error: unknown option '--bogus'\n" +
          "Usage: zester [options] <target> <function> [args...]  (--help for more)\n",
      );
      const sub = await zester(cfg, ns.url, "job", "list", "--status", "nope");
      assert.equal(sub.code, 2);
      assert.match(sub.stderr, /\nUsage: zester job list \[options\] {2}\(--help for more\)\n$/);
      const extra = await zester(cfg, ns.url, "web-01", "test.echo", "hello", "world");
      assert.equal(extra.code, 2);
      assert.equal(
        extra.stderr,
        "zester: Invalid arguments to test.echo: it takes 1 positional argument but 2 were " +
          "given; usage: test.echo(text)\n",
      );
      const few = await zester(cfg, ns.url, "web-01", "facts.get");
      assert.match(few.stderr, /missing "key"; usage: facts\.get\(key, default=None\)/);
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
