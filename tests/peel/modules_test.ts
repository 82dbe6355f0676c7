/**
 * State modules: file ones against a real broker and a temp dir; pkg and service decisions
 * against a recording broker (the commands they would send are the output under test).
 */
import assert from "node:assert/strict";
import { type Chunk, plan, runPlan } from "../../lib/state/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { BrokerClient } from "../../peel/broker/mod.ts";
import type { Broker } from "../../peel/functions/mod.ts";
import { stateHost } from "../../peel/modules/mod.ts";
import { devBrokerPolicy, tempDir, writeDevLauncher, writeYaml } from "../harness/mod.ts";

function chunk(name: string, fn: string, args: Record<string, unknown> = {}): Chunk {
  const [module, fun] = fn.split(".");
  return { id: name, sls: "t", module: module!, fun: fun!, name, args, requisites: {}, index: 0 };
}

async function apply(broker: Broker, c: Chunk, test = false, facts = {}) {
  const host = stateHost({
    broker,
    facts,
    source: () => Promise.reject(new Error("no tree")),
    render: (t) => Promise.resolve(t),
  });
  return (await runPlan(plan([c]), { test, host }))[0]!;
}

Deno.test("modules - file.symlink, file.append, file.replace through the broker", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  await Deno.mkdir(`${base}/files`);
  await writeYaml(`${base}/peel.yaml`, { id: "m", broker: devBrokerPolicy(base) });
  const launcher = await writeDevLauncher(`${base}/zester-broker`, `${base}/peel.yaml`);
  const b = new BrokerClient({
    launcher,
    idleTimeoutMs: 60_000,
    log: new Logger({ level: "error", sink: () => {} }),
  });
  try {
    const f = `${base}/files`;
    const link = await apply(b, chunk(`${f}/link`, "file.symlink", { target: `${f}/conf` }));
    assert.equal(link.result, true);
    assert.equal(await Deno.readLink(`${f}/link`), `${f}/conf`);
    assert.deepEqual(
      (await apply(b, chunk(`${f}/link`, "file.symlink", { target: `${f}/conf` }))).changes,
      {},
    );

    await Deno.writeTextFile(`${f}/conf`, "a=1\nb=2\n");
    const app = await apply(b, chunk(`${f}/conf`, "file.append", { text: ["c=3", "a=1"] }));
    assert.equal(app.result, true);
    assert.equal(await Deno.readTextFile(`${f}/conf`), "a=1\nb=2\nc=3\n");
    assert.deepEqual(
      (await apply(b, chunk(`${f}/conf`, "file.append", { text: "c=3" }))).changes,
      {},
    );

    const dry = await apply(
      b,
      chunk(`${f}/conf`, "file.replace", { pattern: "^b=(\\d)", repl: "b=\\1\\1" }),
      true,
    );
    assert.equal(dry.result, null);
    assert.match(String(dry.changes.diff), /-b=2\n\+b=22/);
    assert.equal(
      await Deno.readTextFile(`${f}/conf`),
      "a=1\nb=2\nc=3\n",
      "test mode changed nothing",
    );
    await apply(b, chunk(`${f}/conf`, "file.replace", { pattern: "^b=(\\d)", repl: "b=\\1\\1" }));
    assert.equal(await Deno.readTextFile(`${f}/conf`), "a=1\nb=22\nc=3\n");

    const viaModule = await apply(b, chunk("file.touch", "module.run", { name: `${f}/made` }));
    assert.equal(viaModule.result, true, viaModule.comment);
    await Deno.stat(`${f}/made`);
  } finally {
    await b.close();
  }
});

/** A broker that answers `run` from a table and records every argv. */
function recorder(answers: Record<string, { retcode: number; stdout?: string }>) {
  const calls: string[] = [];
  const broker: Broker = {
    request(op, args) {
      if (op === "stat") {
        return Promise.resolve({ exists: String(args.path) === "/usr/bin/apt-get" });
      }
      const argv = (args.argv as string[]).join(" ");
      calls.push(argv);
      const key = Object.keys(answers).find((k) => argv.startsWith(k));
      const a = key ? answers[key]! : { retcode: 0 };
      return Promise.resolve({
        retcode: a.retcode,
        stdout: a.stdout ?? "",
        stderr: "",
        duration_ms: 1,
        timed_out: false,
        truncated: false,
      });
    },
  };
  return { broker, calls };
}

Deno.test("modules - pkg decides from the package manager, installs only what is missing", async () => {
  const debian = { os: { family: "debian" } };
  const r = recorder({
    "/usr/bin/dpkg-query -W -f=${Status}\\t${Version} bash": {
      retcode: 0,
      stdout: "install ok installed\t5.2",
    },
    "/usr/bin/dpkg-query": { retcode: 1 },
  });
  const have = await apply(r.broker, chunk("bash", "pkg.installed"), false, debian);
  assert.equal(have.result, true);
  assert.deepEqual(have.changes, {});
  const dry = await apply(r.broker, chunk("nginx", "pkg.installed"), true, debian);
  assert.equal(dry.result, null);
  assert.ok(
    !r.calls.some((c) => c.startsWith("/usr/bin/apt-get install")),
    "test mode installs nothing",
  );
  const inst = await apply(
    r.broker,
    chunk("web", "pkg.installed", { pkgs: ["nginx", "bash"] }),
    false,
    debian,
  );
  assert.equal(inst.result, true);
  assert.deepEqual(Object.keys(inst.changes), ["nginx"]);
  assert.ok(r.calls.includes("/usr/bin/apt-get install -y -q nginx"));
  const gone = await apply(r.broker, chunk("nginx", "pkg.removed"), false, debian);
  assert.deepEqual(gone.changes, {}, "not installed: nothing to remove");
  const rpm = recorder({ "/usr/bin/rpm": { retcode: 1 } });
  await apply(rpm.broker, chunk("nginx", "pkg.installed"), false, { os: { family: "redhat" } });
  assert.ok(
    rpm.calls.some((c) => /^\/usr\/bin\/(dnf|yum) install -y nginx$/.test(c)),
    rpm.calls.join("\n"),
  );
});

Deno.test("modules - service converges with systemctl and restarts on watch", async () => {
  const r = recorder({
    "/usr/bin/systemctl is-active --quiet nginx": { retcode: 3 },
    "/usr/bin/systemctl is-enabled --quiet nginx": { retcode: 0 },
  });
  const run = await apply(r.broker, chunk("nginx", "service.running"));
  assert.equal(run.result, true);
  assert.ok(r.calls.includes("/usr/bin/systemctl start nginx"));
  assert.ok(!r.calls.includes("/usr/bin/systemctl enable nginx"));
  const host = stateHost({
    broker: r.broker,
    source: () => Promise.reject(),
    render: (t) => Promise.resolve(t),
  });
  const restart = await host.watchFn!(chunk("nginx", "service.running"))!(
    chunk("nginx", "service.running"),
    { test: false },
  );
  assert.deepEqual(restart.changes, { restart: true });
  assert.ok(r.calls.includes("/usr/bin/systemctl restart nginx"));
});

Deno.test("modules - cmd.run with stateful: true reads changed= and comment= from its output", async () => {
  const quiet = recorder({
    "/bin/sh -c check": { retcode: 0, stdout: "checking\nchanged=no comment='all good'\n" },
  });
  const q = await apply(quiet.broker, chunk("check", "cmd.run", { stateful: true }));
  assert.deepEqual([q.result, q.comment, q.changes], [true, "all good", {}]);
  const busy = recorder({
    "/bin/sh -c fix": { retcode: 0, stdout: 'fixing\nchanged=yes comment="fixed it"\n' },
  });
  const b = await apply(busy.broker, chunk("fix", "cmd.run", { stateful: true }));
  assert.equal(b.comment, "fixed it");
  assert.equal((b.changes as { stdout: string }).stdout, "fixing");
  const plain = await apply(quiet.broker, chunk("check", "cmd.run"));
  assert.equal(
    (plain.changes as { retcode: number }).retcode,
    0,
    "without stateful, output is changes",
  );
  const dry = await apply(quiet.broker, chunk("check", "cmd.run"), true);
  assert.equal(dry.result, null);
});
