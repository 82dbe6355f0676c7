/**
 * State modules: file ones against a real broker and a temp dir; pkg and service decisions
 * against a recording broker (the operations they would send are the output under test).
 */
import assert from "node:assert/strict";
import { type Chunk, plan, runPlan } from "../../lib/state/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { BrokerClient } from "../../peel/broker/mod.ts";
import type { Broker } from "../../peel/broker/mod.ts";
import { FUNCTIONS } from "../../peel/functions/mod.ts";
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

Deno.test("modules - file.managed takes Salt's arguments: source lists, source_hash, template, create", async () => {
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
  const tree: Record<string, string> = { "app/conf.tmpl": "user={{ user }} port={{ port }}\n" };
  const rendered: string[] = [];
  const host = stateHost({
    broker: b,
    tree: {
      read: (p) => tree[p],
      bytes: () => undefined,
      files: () => new Map(Object.entries(tree)),
      list: () => [],
    },
    render: (text, file, extra) => {
      rendered.push(`${file} ${extra?.sls}`);
      return Promise.resolve(
        text.replace(/\{\{ (\w+) \}\}/g, (_, k: string) => String(extra?.vars?.[k])),
      );
    },
    setting: (key) => key === "app:motd" ? "hello" : undefined,
  });
  const apply = async (name: string, args: Record<string, unknown>) =>
    (await runPlan(plan([chunk(name, "file.managed", args)]), { test: false, host }))[0]!;
  try {
    const f = `${base}/files`;
    const conf = await apply(`${f}/conf`, {
      source: ["salt://app/missing.tmpl", "salt://app/conf.tmpl"],
      template: "jinja",
      defaults: { user: "www", port: 80 },
      context: { port: 8080 },
    });
    assert.equal(conf.result, true, conf.comment);
    assert.equal(await Deno.readTextFile(`${f}/conf`), "user=www port=8080\n");
    assert.deepEqual(rendered, ["app/conf.tmpl t"]);

    // A sha256 digest that is not the source's.
    const sum = "3d3e7a9c9c5f6c0d3f4a2b6e8f7a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b";
    const bad = await apply(`${f}/hashed`, {
      source: "salt://app/conf.tmpl",
      source_hash: `sha256=${sum}`,
    });
    assert.equal(bad.result, false);
    assert.match(bad.comment, /does not match source_hash sha256=/);
    const digest = [
      ...new Uint8Array(
        await crypto.subtle.digest("SHA-256", new TextEncoder().encode(tree["app/conf.tmpl"])),
      ),
    ].map((x) => x.toString(16).padStart(2, "0")).join("");
    const good = await apply(`${f}/hashed`, {
      source: "salt://app/conf.tmpl",
      source_hash: digest,
    });
    assert.equal(good.result, true, good.comment);

    const none = await apply(`${f}/none`, { source: ["salt://a", "salt://b"] });
    assert.equal(none.result, false);
    assert.match(none.comment, /Source file not found: salt:\/\/a, salt:\/\/b/);

    const skipped = await apply(`${f}/absent`, { contents: "x", create: false });
    assert.equal(skipped.result, true);
    await assert.rejects(Deno.stat(`${f}/absent`), Deno.errors.NotFound);

    const motd = await apply(`${f}/motd`, { contents_pillar: "app:motd", contnets: "x" });
    assert.equal(await Deno.readTextFile(`${f}/motd`), "hello\n");
    assert.match(motd.comment, /'contnets' is an invalid keyword argument for 'file\.managed'$/);
  } finally {
    await b.close();
  }
});

const RAN = {
  retcode: 0,
  stdout: "",
  stderr: "",
  duration_ms: 1,
  timed_out: false,
  truncated: false,
};

/**
 * A broker that records every request as `op {args as JSON}`, answers `pkg.query` from
 * `installed` and `candidates`, `service.status` from `units`, commands from `answers` (the
 * first key the request starts with), and anything else with a successful run.
 */
function recorder(opts: {
  answers?: Record<string, { retcode: number; stdout?: string }>;
  installed?: Record<string, string>;
  candidates?: Record<string, string>;
  units?: Record<string, { active: boolean; enabled: boolean }>;
} = {}) {
  const calls: string[] = [];
  const broker: Broker = {
    request(op, args) {
      if (op === "pkg.managers") return Promise.resolve({ managers: ["apt"] });
      const call = `${op} ${JSON.stringify(args)}`;
      calls.push(call);
      if (op === "pkg.query") {
        const names = args.names as string[];
        return Promise.resolve({
          packages: Object.fromEntries(names.map((n) => [n, {
            installed: opts.installed?.[n] ?? null,
            ...(args.candidate ? { candidate: opts.candidates?.[n] ?? null } : {}),
          }])),
        });
      }
      if (op === "service.status") {
        return Promise.resolve(
          opts.units?.[String(args.unit)] ?? { active: false, enabled: false },
        );
      }
      const key = Object.keys(opts.answers ?? {}).find((k) => call.startsWith(k));
      return Promise.resolve({ ...RAN, ...(key ? opts.answers![key] : {}) });
    },
  };
  return { broker, calls };
}

Deno.test("modules - pkg decides from the package manager, installs only what is missing", async () => {
  const debian = { os: { family: "debian" } };
  const r = recorder({ installed: { bash: "5.2" } });
  const have = await apply(r.broker, chunk("bash", "pkg.installed"), false, debian);
  assert.equal(have.result, true);
  assert.deepEqual(have.changes, {});
  assert.ok(
    r.calls.includes('pkg.query {"manager":"apt","names":["bash"],"candidate":false,"held":false}'),
  );
  const dry = await apply(r.broker, chunk("nginx", "pkg.installed"), true, debian);
  assert.equal(dry.result, null);
  assert.equal(dry.comment, "Would install nginx with apt");
  assert.ok(!r.calls.some((c) => c.startsWith("pkg.install")), "test mode installs nothing");
  const inst = await apply(
    r.broker,
    chunk("web", "pkg.installed", { pkgs: ["nginx", "bash"] }),
    false,
    debian,
  );
  assert.equal(inst.result, true);
  assert.deepEqual(Object.keys(inst.changes), ["nginx"]);
  assert.ok(r.calls.includes('pkg.install {"manager":"apt","names":["nginx"],"versions":{}}'));
  const gone = await apply(r.broker, chunk("nginx", "pkg.removed"), false, debian);
  assert.deepEqual(gone.changes, {}, "not installed: nothing to remove");
  const purged = await apply(r.broker, chunk("bash", "pkg.purged"), false, debian);
  assert.deepEqual(purged.changes, { bash: { old: "5.2", new: "" } });
  assert.ok(r.calls.includes('pkg.purge {"manager":"apt","names":["bash"],"versions":{}}'));
  const rpm = recorder();
  await apply(rpm.broker, chunk("nginx", "pkg.installed"), false, { os: { family: "redhat" } });
  assert.ok(
    rpm.calls.includes('pkg.install {"manager":"yum","names":["nginx"],"versions":{}}'),
    rpm.calls.join("\n"),
  );
});

Deno.test("modules - pkg versions and latest: install what is missing, upgrade what is old", async () => {
  const debian = { os: { family: "debian" } };
  const r = recorder({
    installed: { bash: "5.2", curl: "7.88" },
    candidates: { bash: "5.3", curl: "7.88", nginx: "1.22" },
  });
  const pinned = await apply(
    r.broker,
    chunk("x", "pkg.installed", { pkgs: [{ bash: "5.3" }, { curl: "7.88" }] }),
    false,
    debian,
  );
  assert.deepEqual(pinned.changes, { bash: { old: "5.2", new: "5.3" } });
  assert.ok(
    r.calls.includes('pkg.install {"manager":"apt","names":["bash"],"versions":{"bash":"5.3"}}'),
    r.calls.join("\n"),
  );
  const latest = await apply(
    r.broker,
    chunk("x", "pkg.latest", { pkgs: ["bash", "curl", "nginx"] }),
    false,
    debian,
  );
  assert.deepEqual(latest.changes, {
    bash: { old: "5.2", new: "5.3" },
    nginx: { old: "", new: "1.22" },
  });
  assert.equal(latest.comment, "Installed nginx, bash");
  assert.ok(r.calls.includes('pkg.install {"manager":"apt","names":["nginx"],"versions":{}}'));
  assert.ok(r.calls.includes('pkg.upgrade {"manager":"apt","names":["bash"],"versions":{}}'));
  const failing = recorder({ answers: { "pkg.install": { retcode: 100, stdout: "E: no nginx" } } });
  const failed = await apply(failing.broker, chunk("nginx", "pkg.installed"), false, debian);
  assert.deepEqual([failed.result, failed.comment], [false, "apt failed: E: no nginx"]);
});

Deno.test("modules - service converges through the broker's unit operations and restarts on watch", async () => {
  const r = recorder({ units: { nginx: { active: false, enabled: true } } });
  const run = await apply(r.broker, chunk("nginx", "service.running"));
  assert.equal(run.result, true);
  assert.deepEqual(run.changes, { nginx: true });
  assert.ok(r.calls.includes('service.start {"unit":"nginx"}'));
  assert.ok(!r.calls.some((c) => c.startsWith("service.enable")));
  const dry = await apply(r.broker, chunk("nginx", "service.dead"), true);
  assert.deepEqual([dry.result, dry.comment], [true, "Service nginx is in the correct state"]);
  const host = stateHost({
    broker: r.broker,
    render: (t) => Promise.resolve(t),
  });
  const restart = await host.watchFn!(chunk("nginx", "service.running"))!(
    chunk("nginx", "service.running"),
    { test: false },
  );
  assert.deepEqual(restart.changes, { restart: true });
  assert.ok(r.calls.includes('service.restart {"unit":"nginx"}'));
  const broken = recorder({ answers: { "service.start": { retcode: 1, stdout: "no bus" } } });
  const failed = await apply(broken.broker, chunk("php8.2-fpm", "service.running"));
  assert.deepEqual([failed.result, failed.comment], [false, "Cannot start php8.2-fpm: no bus"]);
});

Deno.test("modules - cmd.run with stateful: true reads changed= and comment= from its output", async () => {
  const quiet = recorder({
    answers: {
      'run {"argv":["/bin/sh","-c","check"]': {
        retcode: 0,
        stdout: "checking\nchanged=no comment='all good'\n",
      },
    },
  });
  const q = await apply(quiet.broker, chunk("check", "cmd.run", { stateful: true }));
  assert.deepEqual([q.result, q.comment, q.changes], [true, "all good", {}]);
  const busy = recorder({
    answers: {
      'run {"argv":["/bin/sh","-c","fix"]': {
        retcode: 0,
        stdout: 'fixing\nchanged=yes comment="fixed it"\n',
      },
    },
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

Deno.test("modules - service.running with init_delay looks again after starting", async () => {
  const started = new Set<string>();
  const calls: string[] = [];
  const broker: Broker = {
    request(op, args) {
      const unit = String(args.unit);
      calls.push(`${op} ${unit}`);
      if (op === "service.start" && unit === "good") started.add(unit);
      if (op === "service.status") {
        return Promise.resolve({ active: started.has(unit), enabled: true });
      }
      return Promise.resolve(RAN);
    },
  };
  const t0 = performance.now();
  const good = await apply(broker, chunk("good", "service.running", { init_delay: 0.2 }));
  assert.deepEqual([good.result, good.changes], [true, { good: true }]);
  assert.ok(performance.now() - t0 >= 200, "waited init_delay");
  assert.deepEqual(calls, ["service.status good", "service.start good", "service.status good"]);
  const bad = await apply(broker, chunk("bad", "service.running", { init_delay: 0 }));
  assert.equal(bad.result, true, "no delay: no second look");
  const dies = await apply(broker, chunk("bad", "service.running", { init_delay: 0.01 }));
  assert.deepEqual([dies.result, dies.comment], [false, "Service bad failed to start"]);
  const wrong = await apply(broker, chunk("good", "service.running", { init_delay: "soon" }));
  assert.match(wrong.comment, /argument "init_delay" must be a non-negative number/);
});

Deno.test("modules - service execution functions answer as Salt's do", async () => {
  const r = recorder({
    units: { nginx: { active: true, enabled: true } },
    answers: { "service.restart": { retcode: 1, stdout: "no bus" } },
  });
  const ctx = {
    peelId: "p",
    jid: "j",
    facts: () => ({}),
    broker: r.broker,
    signal: new AbortController().signal,
    timeoutMs: 10_000,
    log: new Logger({ level: "error", sink: () => {} }),
  };
  const fn = (name: string) => FUNCTIONS.get(name)!;
  assert.equal((await fn("service.status")(ctx, ["nginx"], {})).result, true);
  assert.equal((await fn("service.status")(ctx, ["php-fpm"], {})).result, false);
  assert.equal((await fn("service.start")(ctx, ["nginx"], {})).result, true);
  const failed = await fn("service.restart")(ctx, ["nginx"], {});
  assert.deepEqual([failed.result, failed.success], ["no bus", false]);
  assert.ok(r.calls.includes('service.start {"unit":"nginx"}'));
  await assert.rejects(fn("service.stop")(ctx, [], {}), /service.stop needs the argument "name"/);
});
