/**
 * States end to end: the master publishes its state tree to `state-files`, peels mirror it and
 * apply it through their brokers, the CLI shows each peel's states.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { MasterConfig, parseConfig } from "../../lib/config/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import {
  client,
  closeClient,
  type Daemon,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
  zesterAt,
} from "../harness/mod.ts";

const zester = zesterAt;

Deno.test("states - published tree, state.apply and highstate on peels, test mode, direct calls", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const d = dir.path;
  const states = `${d}/states`;
  await Deno.mkdir(`${states}/motd`, { recursive: true });
  await Deno.writeTextFile(
    `${states}/motd/init.zy`,
    `{% set root = salt['grains.get']('files_dir') %}
motd:
  file.managed:
    - name: {{ root }}/motd
    - content: "Welcome to {{ grains['id'] }} ({{ grains['role'] }})"
    - mode: "0644"
`,
  );
  await Deno.writeTextFile(`${states}/motd/hello.j2`, "Hi {{ grains['id'] }} ({{ peel_id }})\n");
  await Deno.writeTextFile(
    `${states}/top.zy`,
    "base:\n  '*':\n    - motd\n  'G@role:db':\n    - match: compound\n    - dbonly\n",
  );
  await Deno.writeTextFile(
    `${states}/dbonly.zy`,
    "{% set root = salt['grains.get']('files_dir') %}\ndbflag:\n  file.touch:\n    - name: {{ root }}/db.flag\n",
  );
  const master = await Master.start(
    parseConfig(`nats_url: ${ns.url}\nstates_dir: ${states}\n`, "master.yaml", MasterConfig),
    new Logger({ level: "error", sink: () => {} }),
  );
  const peels: Daemon[] = [];
  const nc = await client(ns.url);
  const cfg = `${d}/cli.yaml`;
  try {
    for (const [id, role] of [["web-01", "web"], ["db-01", "db"]] as const) {
      const base = `${d}/peels/${id}`;
      await Deno.mkdir(`${base}/files`, { recursive: true });
      await Deno.writeTextFile(
        `${base}/facts.yaml`,
        stringify({ role, files_dir: `${base}/files` }),
      );
      peels.push(await startPeel(`${d}/peels`, ns.url, id));
    }
    await waitForPeels(nc, ["web-01", "db-01"]);

    await t.step("test=True changes nothing and reports what would change", async () => {
      const r = await zester(
        cfg,
        ns.url,
        "*",
        "state.apply",
        "motd",
        "test=True",
        "--format",
        "json",
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const out = JSON.parse(r.stdout);
      assert.equal(out["web-01"].states[0].result, null);
      assert.equal(out["web-01"].summary.failed, 0);
      await assert.rejects(Deno.stat(`${d}/peels/web-01/files/motd`), Deno.errors.NotFound);
    });

    await t.step("state.apply converges each peel, and again changes nothing", async () => {
      const r = await zester(cfg, ns.url, "*", "state.apply", "motd");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /web-01:\n-+\n {4}ID: motd\n {4}Function: file.managed/);
      assert.equal(
        await Deno.readTextFile(`${d}/peels/db-01/files/motd`),
        "Welcome to db-01 (db)\n",
      );
      const again = JSON.parse(
        (await zester(cfg, ns.url, "*", "state.apply", "motd", "--format", "json")).stdout,
      );
      assert.equal(again["web-01"].summary.changed, 0);
    });

    await t.step("highstate follows the top file per peel", async () => {
      const r = await zester(cfg, ns.url, "*", "state.highstate", "--format", "json");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out["db-01"].states.map((s: { id: string }) => s.id), ["motd", "dbflag"]);
      assert.deepEqual(out["web-01"].states.map((s: { id: string }) => s.id), ["motd"]);
      await Deno.stat(`${d}/peels/db-01/files/db.flag`);
      await assert.rejects(Deno.stat(`${d}/peels/web-01/files/db.flag`), Deno.errors.NotFound);
    });

    await t.step("a change to the tree reaches the peels", async () => {
      await Deno.writeTextFile(
        `${states}/motd/init.zy`,
        (await Deno.readTextFile(`${states}/motd/init.zy`)).replace("Welcome to", "Hello from"),
      );
      const until = Date.now() + 10_000;
      for (;;) {
        await zester(cfg, ns.url, "web-01", "state.apply", "motd");
        const text = await Deno.readTextFile(`${d}/peels/web-01/files/motd`);
        if (text.startsWith("Hello from")) break;
        if (Date.now() > until) throw new Error(`tree change not applied: ${text}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    });

    await t.step("a state function called directly, and a failing one", async () => {
      const path = `${d}/peels/web-01/files/touched`;
      const r = await zester(cfg, ns.url, "web-01", "file.touch", path);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      await Deno.stat(path);
      const denied = await zester(cfg, ns.url, "web-01", "file.touch", `${d}/outside`);
      assert.equal(denied.code, 1);
      assert.match(denied.stdout, /Result: False\n {4}Comment: Denied by policy/);
      const templated = `${d}/peels/web-01/files/templated`;
      const rendered = await zester(
        cfg,
        ns.url,
        "web-01",
        "file.managed",
        `name=${templated}`,
        "source=zester://motd/hello.j2",
        "template=jinja",
      );
      assert.equal(rendered.code, 0, rendered.stderr + rendered.stdout);
      assert.equal(await Deno.readTextFile(templated), "Hi web-01 (web-01)\n", "rendered");
      const missing = await zester(cfg, ns.url, "web-01", "state.apply", "nope");
      assert.equal(missing.code, 1);
      assert.match(missing.stdout, /No SLS "nope" in the state tree/);
    });
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("states - a peel started before any master catches up with facts and the state tree", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/states`);
  await Deno.writeTextFile(
    `${d}/states/hello.zy`,
    `hello:\n  file.touch:\n    - name: ${d}/peels/early-01/files/hello\n`,
  );
  await using peel = await startPeel(`${d}/peels`, ns.url, "early-01");
  await peel.waitFor(/state tree not available yet/);
  const master = await Master.start(
    parseConfig(`nats_url: ${ns.url}\nstates_dir: ${d}/states\n`, "master.yaml", MasterConfig),
    new Logger({ level: "error", sink: () => {} }),
  );
  const nc = await client(ns.url);
  try {
    await waitForPeels(nc, ["early-01"], 30_000);
    const until = Date.now() + 30_000;
    for (;;) {
      const r = await zester(`${d}/cli.yaml`, ns.url, "early-01", "state.apply", "hello");
      if (r.code === 0) break;
      if (Date.now() > until) throw new Error(`state tree never arrived: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 1_000));
    }
    await Deno.stat(`${d}/peels/early-01/files/hello`);
  } finally {
    await closeClient(nc);
    await master.stop();
  }
});
