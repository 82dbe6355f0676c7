/**
 * The quickstart: a whole local fleet on this machine. Starts nats-server on a free loopback
 * port with a temp store, a master, and three sandboxed peels (`web-01`, `web-02`, `db-01`;
 * `db-01` enrolls through the master's API and waits until `zester key accept` lets it in),
 * runs jobs through the real CLI, shows them, pings a thousand simulated peels against raw NATS,
 * and stops everything it started.
 *
 * Run with `deno task demo` (or the README's first command).
 * @module
 */
import { stringify } from "yaml";
import { closeBus, connectBus } from "../../lib/bus/mod.ts";
import { pingFanout } from "../../bench/ping_fanout.ts";
import { type CliRun, runZester, writeCliConfig } from "./cli.ts";
import { type Daemon, healthUrl, startMaster, startPeel } from "./fleet.ts";
import { freePort, type NatsServer, startNatsServer } from "./nats_server.ts";
import { devEnrollment, natsFiles } from "./trust.ts";

const PEELS = [
  { id: "web-01", facts: { role: "web", datacenter: "eu-west" } },
  { id: "web-02", facts: { role: "web", datacenter: "eu-west" } },
  { id: "db-01", facts: { role: "db", datacenter: "eu-central" } },
];

function banner(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

async function zester(
  cliConfig: string,
  flags: string[],
  args: string[],
  quiet = false,
): Promise<CliRun> {
  if (!quiet) {
    console.log(`$ zester ${args.map((a) => /[\s*'"]/.test(a) ? `'${a}'` : a).join(" ")}`);
  }
  const out = await runZester(flags, ["--config", cliConfig, ...args]);
  const stderr = out.stderr.split("\n").filter((l) => !/experimental feature/.test(l)).join("\n");
  if (!quiet && out.stdout.trim()) console.log(out.stdout.trimEnd());
  if (!quiet && stderr.trim()) console.error(stderr.trimEnd());
  return { ...out, stderr };
}

function expect(cond: boolean, what: string): void {
  if (!cond) throw new Error(`quickstart check failed: ${what}`);
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zester-quickstart-" });
  const daemons: Daemon[] = [];
  let nats: NatsServer | undefined;
  const cleanup = async () => {
    for (const d of daemons.reverse()) await d.stop();
    await nats?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const onSignal = () => {
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    banner("Starting nats-server (JetStream, operator mode, mutual TLS, loopback, temp store)");
    nats = await startNatsServer();
    console.log(`nats-server pid ${nats.pid} at ${nats.url}`);

    banner("Starting the master (with a small state tree and settings tree)");
    await Deno.mkdir(`${dir}/master/settings`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/master/settings/top.zy`,
      "base:\n  '*':\n    - common\n  'G@role:web':\n    - match: compound\n    - web\n",
    );
    await Deno.writeTextFile(
      `${dir}/master/settings/common.zy`,
      "app:\n  name: shop\n  datacenter: {{ grains['datacenter'] }}\n",
    );
    await Deno.writeTextFile(`${dir}/master/settings/web.zy`, "app:\n  port: 9090\n");
    await Deno.mkdir(`${dir}/master/states/motd`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/master/states/motd/init.zy`,
      [
        "{% set root = salt['grains.get']('files_dir') %}",
        "motd:",
        "  file.managed:",
        "    - name: {{ root }}/motd",
        "    - content: \"Welcome to {{ grains['id'] }}, a {{ grains['role'] }} peel\"",
        '    - mode: "0644"',
        "announce:",
        "  cmd.run:",
        "    - name: echo motd changed",
        "    - onchanges:",
        "      - file: motd",
        "",
      ].join("\n"),
    );
    const enrollPort = freePort();
    const master = await startMaster(`${dir}/master`, nats.url, {
      enroll: await devEnrollment(enrollPort),
    });
    daemons.push(master);
    console.log(`zester-master pid ${master.pid}: deno run ${master.flags.join(" ")}`);
    console.log(`health: curl -s ${await healthUrl(master)}/readyz`);
    console.log(`enrollment API on https://127.0.0.1:${enrollPort} (policy: manual)`);

    banner("Starting three sandboxed peels (db-01 enrolls: it has no creds yet)");
    for (const p of PEELS) {
      await Deno.mkdir(`${dir}/peels/${p.id}`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/peels/${p.id}/facts.yaml`,
        stringify({ ...p.facts, files_dir: `${dir}/peels/${p.id}/files` }),
      );
    }
    const enrolling = "db-01";
    const peels = await Promise.all(
      PEELS.map((p) =>
        startPeel(`${dir}/peels`, nats!.url, p.id, {
          ...p.id === enrolling && { enroll: `https://127.0.0.1:${enrollPort}`, ready: false },
        })
      ),
    );
    daemons.push(...peels);
    for (const p of peels) console.log(`zester-${p.name} pid ${p.pid}`);
    console.log(`each peel runs: deno run ${peels[0]!.flags.join(" ")}`);
    console.log("(no --allow-run but the broker launcher, no writes outside its data dir)");

    const cliConfig = `${dir}/cli.yaml`;
    const cliFlags = await writeCliConfig(cliConfig, nats.url);

    banner("Enrollment: db-01 proved it holds its key and waits for an operator");
    const newcomer = peels.find((p) => p.name === `peel ${enrolling}`)!;
    await newcomer.waitFor(/waiting for an operator/);
    const pending = await zester(cliConfig, cliFlags, ["key", "list", "--status", "pending"]);
    expect(pending.stdout.includes(enrolling), "key list shows db-01 pending");
    await zester(cliConfig, cliFlags, ["key", "accept", enrolling]);
    await newcomer.waitFor(/"peel ready"/);
    console.log(`${enrolling} downloaded its creds (0600, in its data dir) and connected`);

    banner("Waiting for every peel's facts to reach the master");
    const until = Date.now() + 30_000;
    for (;;) {
      const r = await zester(cliConfig, cliFlags, ["*", "test.ping", "--timeout", "5s"]);
      if (r.code === 0 && PEELS.every((p) => r.stdout.includes(`${p.id}:`))) break;
      if (Date.now() > until) throw new Error("peels did not all register within 30 s");
      await new Promise((r) => setTimeout(r, 500));
    }

    banner("A command on the web peels, run by each peel's broker");
    const run = await zester(cliConfig, cliFlags, [
      "web-*",
      "cmd.run",
      "echo hello from $(hostname) && id -un",
    ]);
    expect(run.code === 0, "cmd.run exits 0");

    banner("A fact lookup");
    const fact = await zester(cliConfig, cliFlags, ["*", "facts.get", "role"]);
    expect(fact.code === 0 && fact.stdout.includes("db"), "facts.get role shows db");

    banner("Facts collected by a peel (and its broker, for what the sandbox cannot read)");
    const os = await zester(cliConfig, cliFlags, ["db-01", "facts.get", "os"]);
    expect(os.code === 0 && os.stdout.includes("kernel: Linux"), "facts.get os shows the kernel");
    await zester(cliConfig, cliFlags, ["db-01", "facts.get", "cpu"]);

    banner("Settings, compiled by each peel from the master's tree, and targeting on them (-I)");
    const settingsUntil = Date.now() + 15_000;
    for (;;) {
      const r = await zester(cliConfig, cliFlags, ["-I", "app:port:9090", "--preview"], true);
      if (r.stdout.includes("2 peel(s) matched")) break;
      if (Date.now() > settingsUntil) throw new Error("settings did not reach the master in 15 s");
      await new Promise((r) => setTimeout(r, 300));
    }
    const pillar = await zester(cliConfig, cliFlags, ["-I", "app:port:9090", "pillar.get", "app"]);
    expect(
      pillar.code === 0 && pillar.stdout.includes("web-02:") && !pillar.stdout.includes("db-01:"),
      "-I app:port:9090 runs on the web peels only",
    );

    banner("States: a dry run, then apply (the broker writes only where its policy allows)");
    const dry = await zester(cliConfig, cliFlags, ["web-01", "state.apply", "motd", "test=True"]);
    expect(
      dry.code === 0 && dry.stdout.includes("Result: None"),
      "test=True reports, changes nothing",
    );
    const applied = await zester(cliConfig, cliFlags, ["*", "state.apply", "motd"]);
    expect(
      applied.code === 0 && applied.stdout.includes("Succeeded: 2 (changed=2)"),
      "motd applied",
    );
    banner("Applying again changes nothing");
    const again = await zester(cliConfig, cliFlags, ["db-01", "state.apply", "motd"]);
    expect(again.stdout.includes("Succeeded: 2 (changed=0)"), "second apply is idempotent");

    banner("A failing command: non-zero exit status");
    const fail = await zester(cliConfig, cliFlags, ["db-01", "cmd.run", "exit 3"]);
    expect(fail.code === 1, "a failing command makes zester exit 1");

    banner("A peel that is down: reported at once as not connected, and zester exits 1");
    await peels.find((p) => p.name === "peel db-01")!.stop();
    const down = await zester(cliConfig, cliFlags, ["*", "test.ping"]);
    expect(
      down.code === 1 && down.stdout.includes("[Not connected]") &&
        down.stdout.includes("Did not return (1): db-01"),
      "db-01 is not connected",
    );

    banner("Recent jobs");
    const list = await zester(cliConfig, cliFlags, ["job", "list", "--format", "json"], true);
    const jobs = JSON.parse(list.stdout) as { jid: string; fun: string; tgt: string }[];
    const cmdJob = jobs.find((j) => j.fun === "cmd.run" && j.tgt === "web-*");
    expect(cmdJob !== undefined, "job list has the cmd.run job");
    await zester(cliConfig, cliFlags, ["job", "list"]);

    banner("One job in detail");
    const show = await zester(cliConfig, cliFlags, ["job", "show", cmdJob!.jid]);
    expect(show.stdout.includes("hello from"), "job show prints what the peels returned");

    banner("A thousand simulated peels: test.ping through Zester, and raw NATS doing the same");
    console.log(
      "(bench/fleet.ts runs the peel's real command loop, each simulated peel with its own\n" +
        " connection; `deno task bench` measures this and more, and writes BENCHMARKS.md)",
    );
    // The simulated peels share the harness's unlimited user: they stand in for a thousand peels.
    const f = natsFiles(nats.url, "test")!;
    const auth = {
      credsFile: f.nats_creds,
      caFile: f.nats_ca,
      certFile: f.nats_cert,
      keyFile: f.nats_key,
    };
    const nc = await connectBus({ servers: [nats.url], name: "zester-quickstart", ...auth });
    try {
      const { figures: [fig] } = await pingFanout(nc, nats.url, [1000], 3, 2, { auth });
      console.log(
        `test.ping to ${fig!.peels} peels: ${fig!.zester_ms} ms through Zester (every return ` +
          `stored and confirmed), ${fig!.floor_ms} ms as bare request/reply (ratio ${fig!.ratio})`,
      );
      expect(fig!.lost === 0, "every simulated peel returned");
    } finally {
      await closeBus(nc, 2_000);
    }

    banner("Done: stopping everything");
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  console.log("quickstart finished: all processes stopped");
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`quickstart failed: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
