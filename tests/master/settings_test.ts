/**
 * Settings end to end: the master publishes its settings tree to `settings-files`, each peel
 * compiles its own settings with its facts, states and `pillar.*` read them, masters target on
 * them (`-I`, `I@`), a change reaches the next run without a restart, their `schedule:` and
 * `mine_functions:` join the peel's, the master's merge options reach the peels, and a peel whose
 * settings source is gone uses its last-known-good copy and says so.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { BUCKETS } from "../../lib/bus/mod.ts";
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
  until,
  waitForPeels,
  zesterAt,
} from "../harness/mod.ts";

const TOP = `base:
  '*':
    - common
  'G@role:web':
    - match: compound
    - web
`;
const WEB = "app:\n  port: {{ 9000 + 90 }}\n  hosts: [web]\n";

Deno.test("settings - compiled on peels, read by states and pillar.*, targeted with -I, changed live, last-known-good when the source is gone", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const d = dir.path;
  const settingsDir = `${d}/settings`;
  await Deno.mkdir(`${d}/states`, { recursive: true });
  await Deno.mkdir(settingsDir, { recursive: true });
  await Deno.writeTextFile(`${settingsDir}/top.zy`, TOP);
  await Deno.writeTextFile(
    `${settingsDir}/common.zy`,
    "app:\n  name: shop\n  port: 80\n  hosts: [a, b]\n  files: {{ grains['files_dir'] }}\n",
  );
  await Deno.writeTextFile(`${settingsDir}/web.zy`, WEB);
  await Deno.writeTextFile(
    `${d}/states/app.zy`,
    `port:
  file.managed:
    - name: {{ pillar['app']['files'] }}/port
    - contents: "{{ salt['pillar.get']('app:port') }} {{ pillar.app.hosts | join(',') }}"
`,
  );
  const startMaster = async (extra: Record<string, unknown> = {}) =>
    Master.start(
      await masterConfig(ns.url, d, { settings_dir: settingsDir, ...extra }),
      new Logger({ level: "error", sink: () => {} }),
    );
  let master = await startMaster();
  const peels = new Map<string, Daemon>();
  const nc = await client(ns.url);
  const cfg = `${d}/cli.yaml`;
  const zester = (...args: string[]) => zesterAt(cfg, ns.url, ...args);
  const json = async (...args: string[]) => {
    const r = await zester(...args, "--format", "json", "--static");
    return { ...r, out: r.stdout ? JSON.parse(r.stdout) : undefined };
  };
  const portFile = (id: string) => `${d}/peels/${id}/files/port`;
  try {
    for (const [id, role] of [["web-01", "web"], ["db-01", "db"]] as const) {
      const base = `${d}/peels/${id}`;
      await Deno.mkdir(`${base}/files`, { recursive: true });
      await Deno.writeTextFile(
        `${base}/facts.yaml`,
        stringify({ role, files_dir: `${base}/files` }),
      );
      // peel.yaml's entry "tick" is replaced by the settings' of the same name.
      const schedule = { tick: { function: "test.ping", hours: 1 } };
      peels.set(id, await startPeel(`${d}/peels`, ns.url, id, { extra: { schedule } }));
    }
    await waitForPeels(nc, ["web-01", "db-01"]);

    await t.step("pillar.get and settings.items as functions, compiled per peel", async () => {
      const r = await json("*", "pillar.get", "app:port");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(r.out["web-01"].result, 9090);
      assert.equal(r.out["db-01"].result, 80);
      const merged = await json("db-01", "pillar.get", "app", "{user: www, port: 1}", "merge=True");
      assert.deepEqual(merged.out["db-01"].result, {
        user: "www",
        name: "shop",
        port: 80,
        hosts: ["a", "b"],
        files: `${d}/peels/db-01/files`,
      });
      const shown = await json("settings", "show", "web-01");
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual(shown.out["web-01"].result.app.hosts, ["web"]);
    });

    await t.step("-I, I@ and J@ target on the settings peels compiled", async () => {
      await until("settings in the index", async () => {
        const r = await zester("-I", "app:port:9090", "--preview", "--format", "json");
        return JSON.stringify(JSON.parse(r.stdout)) === '["web-01"]';
      });
      const r = await json("-I", "app:port:9090", "test.ping");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.deepEqual(Object.keys(r.out), ["web-01"]);
      const c = await zester(
        "I@app:hosts:a and not J@app:name:^x",
        "--preview",
        "--format",
        "json",
      );
      assert.deepEqual(JSON.parse(c.stdout), ["db-01"]);
    });

    await t.step("state.apply reads the settings; inline pillar= goes over them", async () => {
      const r = await zester("*", "state.apply", "app");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(await Deno.readTextFile(portFile("web-01")), "9090 web\n");
      assert.equal(await Deno.readTextFile(portFile("db-01")), "80 a,b\n");
      const inline = await zester(
        "web-01",
        "state.apply",
        "app",
        `pillar={"app": {"port": 7777}}`,
      );
      assert.equal(inline.code, 0, inline.stderr + inline.stdout);
      assert.equal(await Deno.readTextFile(portFile("web-01")), "7777 web\n");
    });

    await t.step("a settings change reaches the next apply without a restart", async () => {
      await Deno.writeTextFile(`${settingsDir}/web.zy`, WEB.replace("+ 90", "+ 91"));
      await until("the new port", async () => {
        const r = await json("web-01", "pillar.get", "app:port");
        return r.out?.["web-01"]?.result === 9091;
      });
      const r = await zester("web-01", "state.apply", "app");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(await Deno.readTextFile(portFile("web-01")), "9091 web\n");
      await until("the index to follow", async () => {
        const p = await zester("-I", "app:port:9091", "--preview", "--format", "json");
        return JSON.stringify(JSON.parse(p.stdout)) === '["web-01"]';
      });
    });

    await t.step("an error in a settings file names it in the job's return", async () => {
      await Deno.writeTextFile(`${settingsDir}/web.zy`, "app:\n  port: {{ 1 + }}\n");
      await until("the error to reach the peel", async () => {
        const r = await json("web-01", "state.apply", "app");
        return /web\.zy:2/.test(r.out?.["web-01"]?.error ?? "");
      });
      const r = await json("web-01", "pillar.items");
      assert.match(r.out["web-01"].error, /^Cannot compile settings "web\.zy:2": /);
      assert.equal(r.code, 1);
      await Deno.writeTextFile(`${settingsDir}/web.zy`, WEB);
      const refreshed = await json("settings", "refresh", "web-01");
      assert.equal(refreshed.code, 0, refreshed.stderr + refreshed.stdout);
      await until("the fix", async () => {
        const p = await json("web-01", "pillar.get", "app:port");
        return p.out?.["web-01"]?.result === 9090;
      });
    });

    await t.step(
      "schedule and mine_functions from settings; merge options from master.yaml",
      async () => {
        await Deno.writeTextFile(
          `${settingsDir}/web.zy`,
          WEB + [
            "schedule:",
            "  tick: {function: test.echo, args: [from settings], hours: 2}",
            "  sweep: {function: test.ping, minutes: 30}",
            "mine_functions:",
            "  role_of: {mine_function: grains.get, key: role}",
            "",
          ].join("\n"),
        );
        await until("the settings' schedule", async () => {
          const r = await json("web-01", "schedule.list");
          const jobs = r.out?.["web-01"]?.result?.jobs ?? {};
          return jobs.tick?.function === "test.echo" && jobs.sweep?.function === "test.ping";
        });
        const db = await json("db-01", "schedule.list");
        assert.equal(db.out["db-01"].result.jobs.tick.function, "test.ping", "peel.yaml's own");
        await until("the settings' basket entry", async () => {
          const r = await zester("basket", "get", "web-01", "role_of", "--format", "json");
          return JSON.parse(r.stdout)["web-01"] === "web";
        });
        await master.stop();
        master = await startMaster({ settings_merge_lists: true });
        await until("lists merged", async () => {
          const r = await json("web-01", "pillar.get", "app:hosts");
          return JSON.stringify(r.out?.["web-01"]?.result) === '["a","b","web"]';
        });
        await master.stop();
        master = await startMaster();
        await until("lists replaced again", async () => {
          const r = await json("web-01", "pillar.get", "app:hosts");
          return JSON.stringify(r.out?.["web-01"]?.result) === '["web"]';
        });
      },
    );

    await t.step(
      "without settings-files the peel uses its last-known-good copy and says so",
      async () => {
        await peels.get("web-01")!.stop();
        const jsm = await nc.jetstreamManager();
        await jsm.streams.delete(`KV_${BUCKETS.settingsFiles.name}`);
        const peel = await startPeel(`${d}/peels`, ns.url, "web-01");
        peels.set("web-01", peel);
        await peel.waitFor(/settings source unavailable/);
        const r = await json("web-01", "pillar.get", "app:port");
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.equal(r.out["web-01"].result, 9090);
        assert.match(
          r.out["web-01"].warnings[0],
          /^Settings source unavailable \(cannot read settings-files: .*\): using the last-known-good settings compiled at \d{4}-/,
        );
        const text = await zester("web-01", "state.apply", "app");
        assert.equal(text.code, 0, text.stderr + text.stdout);
        assert.match(text.stdout, /WARNING: Settings source unavailable/);
        await peel.waitFor(/using last-known-good settings/);
      },
    );
  } finally {
    for (const p of peels.values()) await p.stop();
    await closeClient(nc);
    await master.stop();
  }
});
