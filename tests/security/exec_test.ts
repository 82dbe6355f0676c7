/**
 * Attacks on the broker's command execution, against a real broker: options smuggled into
 * package-manager commands (through `run`, a package name, `APT_CONFIG`), names starting with
 * `-`, loader and interpreter variables, a cwd outside the policy, arguments an exec entry does
 * not allow. Each denial must be in the audit log.
 */
import assert from "node:assert/strict";
import { type Chunk, plan, runPlan } from "../../lib/state/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { BrokerClient, BrokerError, type RunResult } from "../../peel/broker/mod.ts";
import { stateHost } from "../../peel/modules/mod.ts";
import { packageArgv } from "../../peel/broker/ops/pkg.ts";
import { serviceArgv } from "../../peel/broker/ops/service.ts";
import { devBrokerPolicy, tempDir, writeDevLauncher, writeYaml } from "../harness/mod.ts";

const quiet = new Logger({ level: "error", sink: () => {} });

async function broker(base: string, policy: Record<string, unknown>): Promise<BrokerClient> {
  await Deno.mkdir(`${base}/files`, { recursive: true });
  await writeYaml(`${base}/peel.yaml`, {
    id: "exec-peel",
    broker: { ...devBrokerPolicy(base), cmd_run: "deny", ...policy },
  });
  const launcher = await writeDevLauncher(`${base}/zester-broker`, `${base}/peel.yaml`);
  return new BrokerClient({ launcher, idleTimeoutMs: 60_000, log: quiet });
}

async function refused(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function auditLines(base: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(`${base}/broker-audit.log`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

/** Apply one state through `b` as a peel would. */
async function apply(b: BrokerClient, name: string, fn: string, test: boolean) {
  const [module, fun] = fn.split(".");
  const c: Chunk = {
    id: name,
    sls: "t",
    module: module!,
    fun: fun!,
    name,
    args: {},
    requisites: {},
    index: 0,
  };
  const host = stateHost({
    broker: b,
    facts: { os: { family: "debian" } },
    render: (t) => Promise.resolve(t),
  });
  return (await runPlan(plan([c]), { test, host }))[0]!;
}

Deno.test("exec - apt -o through run is refused although packages lists apt", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await broker(base, { packages: ["apt"] });
  try {
    // Everything apt-get would touch is redirected into the temp dir.
    for (const d of ["lists/partial", "parts", "cache"]) {
      await Deno.mkdir(`${base}/apt/${d}`, { recursive: true });
    }
    const marker = `${base}/pre-invoke-ran`;
    await refused(
      c.request("run", {
        argv: [
          "/usr/bin/apt-get",
          "-o",
          `APT::Update::Pre-Invoke::=touch ${marker}`,
          "-o",
          `Dir::State::Lists=${base}/apt/lists`,
          "-o",
          "Dir::Etc::sourcelist=/dev/null",
          "-o",
          `Dir::Etc::sourceparts=${base}/apt/parts`,
          "-o",
          `Dir::Cache=${base}/apt/cache`,
          "update",
        ],
      }),
      "denied",
      /"\/usr\/bin\/apt-get" is not in the exec list/,
    );
    assert.equal(await exists(marker), false, "the Pre-Invoke command never ran");
  } finally {
    await c.close();
  }
});

Deno.test("exec - an apt option given as a package name or version is refused", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await broker(base, { packages: ["apt"] });
  try {
    // pkg.latest asks apt-cache for the candidate: as an option, this name writes apt's cache
    // (37 MB of it) wherever it says, as root.
    const owned = `${base}/owned`;
    // In test mode the name is never queried (Salt's test mode predicts an install); applied,
    // the broker refuses it.
    const predicted = await apply(c, `-oDir::Cache::pkgcache=${owned}`, "pkg.latest", true);
    assert.equal(predicted.result, null, predicted.comment);
    assert.match(predicted.comment, /is not a package name, applying will fail/);
    const s = await apply(c, `-oDir::Cache::pkgcache=${owned}`, "pkg.latest", false);
    assert.equal(s.result, false, s.comment);
    assert.match(s.comment, /field "args.names\[0\]": expected a package name/);
    assert.equal(await exists(owned), false, "apt-cache never saw the option");
    await refused(
      c.request("pkg.install", {
        manager: "apt",
        names: ["-oAPT::Update::Pre-Invoke::=touch /tmp/x"],
      }),
      "bad_request",
      /field "args.names\[0\]": expected a package name/,
    );
    await refused(
      c.request("pkg.install", { manager: "apt", names: ["bash"], versions: { bash: "-s" } }),
      "bad_request",
      /field "args.versions.bash": expected a version/,
    );
    await refused(
      c.request("pkg.install", { manager: "apt", names: ["bash-"] }),
      "bad_request",
      /not ending in -/,
    );
  } finally {
    await c.close();
  }
});

Deno.test("exec - APT_CONFIG in a child's environment is refused", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const owned = `${base}/owned`;
  await Deno.mkdir(`${base}/files`, { recursive: true });
  await Deno.writeTextFile(`${base}/files/apt.conf`, `Dir::Cache::pkgcache "${owned}";\n`);
  const attack = {
    argv: ["/usr/bin/apt-cache", "policy", "bash"],
    env: { APT_CONFIG: `${base}/files/apt.conf` },
  };
  const c = await broker(base, { packages: ["apt"] });
  try {
    await refused(c.request("run", attack), "denied", /not in the exec list/);
    await refused(
      c.request("pkg.query", { manager: "apt", names: ["bash"], env: attack.env }),
      "bad_request",
      /field "args.env": expected no such key/,
    );
  } finally {
    await c.close();
  }
  const d = await broker(base, { exec: [{ path: "/usr/bin/apt-cache", args: "any" }] });
  try {
    await refused(
      d.request("run", attack),
      "denied",
      /environment variable "APT_CONFIG" is not allowed \(not in env_allow\)/,
    );
  } finally {
    await d.close();
  }
  assert.equal(await exists(owned), false, "apt-cache never read the planted config");
});

Deno.test("exec - package and unit names starting with - are refused", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await broker(base, { packages: ["apt"], exec: ["/usr/bin/systemctl"] });
  try {
    const s = await apply(c, "--host=evil", "service.running", false);
    assert.equal(s.result, false);
    assert.match(s.comment, /field "args.unit": expected a unit name/);
    for (const name of ["-y", "--purge", "-"]) {
      await refused(
        c.request("pkg.remove", { manager: "apt", names: ["bash", name] }),
        "bad_request",
        /field "args.names\[1\]": expected a package name/,
      );
      await refused(
        c.request("pkg.query", { manager: "apt", names: [name] }),
        "bad_request",
        /field "args.names\[0\]"/,
      );
    }
    for (const unit of ["--root=/tmp", "-H", "-"]) {
      await refused(
        c.request("service.stop", { unit }),
        "bad_request",
        /field "args.unit": expected a unit name/,
      );
    }
    const audit = await auditLines(base);
    assert.ok(
      !JSON.stringify(audit).includes('"/usr/bin/systemctl"'),
      "systemctl never ran with the name",
    );
  } finally {
    await c.close();
  }
});

Deno.test("exec - loader and interpreter variables are refused unless env_allow names them", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await broker(base, { exec: ["/usr/bin/env"], env_allow: ["APP_MODE"] });
  try {
    const names = [
      "GCONV_PATH",
      "BASH_ENV",
      "PATH",
      "PERL5OPT",
      "PYTHONPATH",
      "NODE_OPTIONS",
      "SYSTEMD_PAGER",
      "SYSTEMD_EDITOR",
      "LD_PRELOAD",
    ];
    for (const name of names) {
      await refused(
        c.request("run", { argv: ["/usr/bin/env"], env: { [name]: `${base}/files/evil` } }),
        "denied",
        new RegExp(`environment variable "${name}" is not allowed \\(not in env_allow\\)`),
      );
    }
    const ok = await c.request("run", {
      argv: ["/usr/bin/env"],
      env: { APP_MODE: "x" },
    }) as RunResult;
    assert.deepEqual(ok.stdout.trim().split("\n").sort(), [
      "APP_MODE=x",
      "LANG=C.UTF-8",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
  } finally {
    await c.close();
  }
});

Deno.test("exec - a cwd outside the allowed paths is refused, also through a symlink", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await broker(base, { exec: ["/usr/bin/pwd"] });
  try {
    await Deno.mkdir(`${base}/outside`);
    await Deno.mkdir(`${base}/files/work`, { recursive: true });
    await Deno.symlink(`${base}/outside`, `${base}/files/out`);
    await refused(
      c.request("run", { argv: ["/usr/bin/pwd"], cwd: "/root" }),
      "denied",
      /cwd of "\/root" is outside the allowed paths/,
    );
    await refused(
      c.request("run", { argv: ["/usr/bin/pwd"], cwd: `${base}/outside` }),
      "denied",
      /outside the allowed paths/,
    );
    await refused(
      c.request("run", { argv: ["/usr/bin/pwd"], cwd: `${base}/files/out` }),
      "denied",
      /resolves to ".*\/outside", outside the allowed paths/,
    );
    await refused(
      c.request("run", { argv: ["/usr/bin/pwd"], cwd: "files" }),
      "bad_request",
      /is not absolute/,
    );
    const r = await c.request("run", {
      argv: ["/usr/bin/pwd"],
      cwd: `${base}/files/work`,
    }) as RunResult;
    assert.equal(r.stdout.trim(), await Deno.realPath(`${base}/files/work`));
  } finally {
    await c.close();
  }
});

Deno.test("exec - an exec entry's argument rules allow their forms and refuse any other", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await broker(base, {
    exec: [
      { path: "/usr/bin/id", args: [["-u"], ["-u", "-n"]] },
      { path: "/usr/bin/echo", args: [["safe-*"]] },
      { path: "/bin/sh", args: [["-c", "echo fixed"]] },
      "/usr/bin/true",
    ],
  });
  const run = async (...argv: string[]) =>
    (await c.request("run", { argv }) as RunResult).stdout.trim();
  try {
    assert.equal(await run("/usr/bin/id", "-u"), "0");
    assert.equal(await run("/usr/bin/id", "-u", "-n"), "root");
    assert.equal(await run("/usr/bin/echo", "safe-1 2"), "safe-1 2");
    assert.equal(await run("/bin/sh", "-c", "echo fixed"), "fixed");
    assert.equal(await run("/usr/bin/true"), "");
    for (
      const argv of [
        ["/usr/bin/id", "-un"],
        ["/usr/bin/id"],
        ["/usr/bin/id", "-u", "-n", "root"],
        ["/usr/bin/echo", "-e", "safe-1"],
        ["/usr/bin/echo", "unsafe"],
        ["/bin/sh", "-c", "echo fixed; id"],
        ["/usr/bin/true", "--version"],
      ]
    ) {
      await refused(
        c.request("run", { argv }),
        "denied",
        new RegExp(
          `arguments ${JSON.stringify(argv.slice(1)).replace(/[[\]]/g, "\\$&")} of "${
            argv[0]
          }" match no rule`,
        ),
      );
    }
  } finally {
    await c.close();
  }
});

Deno.test("exec - the audit log has one outcome per operation, with each denial and its reason", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await broker(base, {
    packages: ["apt"],
    services: ["zester-test.service"],
    exec: [{ path: "/usr/bin/id", args: [["-u"]] }],
  });
  const attempts: [string, Record<string, unknown>][] = [
    ["run", { argv: ["/usr/bin/apt-get", "-o", "x=y", "update"] }],
    ["run", { argv: ["/usr/bin/id", "-un"] }],
    ["run", { argv: ["/usr/bin/id", "-u"], env: { BASH_ENV: "/x", APP: "secret-value" } }],
    ["run", { argv: ["/usr/bin/id", "-u"], cwd: "/root" }],
    ["pkg.install", { manager: "dnf", names: ["nginx"] }],
    ["pkg.install", { manager: "apt", names: ["-oX=y"] }],
    ["service.restart", { unit: "ssh" }],
    ["service.start", { unit: "-H" }],
  ];
  try {
    for (const [op, args] of attempts) {
      await assert.rejects(c.request(op, args), BrokerError);
    }
    await c.request("run", { argv: ["/usr/bin/id", "-u"] });
  } finally {
    await c.close();
  }
  const lines = await auditLines(base);
  assert.deepEqual(
    lines.filter((a) => a.phase === "intent").map((a) => [a.op, a.args]),
    [["run", { argv: ["/usr/bin/id", "-u"] }]],
    "only the allowed operation records an intent, before it runs",
  );
  const audit = lines.filter((a) => a.phase === "done");
  assert.equal(audit.length, attempts.length + 1, "one outcome per operation");
  assert.deepEqual(
    audit.map((a) => [a.op, a.decision, a.code]),
    [
      ["run", "deny", "denied"],
      ["run", "deny", "denied"],
      ["run", "deny", "denied"],
      ["run", "deny", "denied"],
      ["pkg.install", "deny", "denied"],
      ["pkg.install", "error", "bad_request"],
      ["service.restart", "deny", "denied"],
      ["service.start", "error", "bad_request"],
      ["run", "allow", undefined],
    ],
  );
  const [apt, args, env, cwd, dnf, name, unit, dash] = audit;
  assert.deepEqual(apt!.args, { argv: ["/usr/bin/apt-get", "-o", "x=y", "update"] });
  assert.match(String(args!.reason), /arguments \["-un"\] of "\/usr\/bin\/id" match no rule/);
  assert.deepEqual(env!.args, { argv: ["/usr/bin/id", "-u"], env: ["BASH_ENV", "APP"] });
  assert.match(String(env!.reason), /"BASH_ENV" is not allowed/);
  assert.ok(!JSON.stringify(audit).includes("secret-value"), "values are never audited");
  assert.deepEqual(cwd!.args, { argv: ["/usr/bin/id", "-u"], cwd: "/root" });
  assert.deepEqual(dnf!.args, { manager: "dnf", names: ["nginx"] });
  assert.match(String(dnf!.reason), /package manager "dnf" is not in packages/);
  assert.deepEqual(name!.args, { manager: "apt", names: ["-oX=y"] });
  assert.deepEqual(unit!.args, { unit: "ssh" });
  assert.match(String(unit!.reason), /unit "ssh.service" is not in services/);
  assert.match(String(dash!.reason), /field "args.unit"/);
});

Deno.test("exec - pkg.query reads this machine's dpkg; pkg.install builds its argv (apt-get -s)", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const dpkg = new Deno.Command("/usr/bin/dpkg-query", {
    args: ["-W", "-f=${Version}", "bash"],
    stdout: "piped",
  }).outputSync();
  const version = new TextDecoder().decode(dpkg.stdout);
  const c = await broker(base, { packages: ["apt"] });
  try {
    const q = await c.request("pkg.query", {
      manager: "apt",
      names: ["bash", "zester-no-such-package"],
      candidate: true,
    }) as { packages: Record<string, { installed: string | null; candidate: string | null }> };
    assert.equal(q.packages.bash?.installed, version);
    assert.equal(typeof q.packages.bash?.candidate, "string");
    assert.deepEqual(q.packages["zester-no-such-package"], { installed: null, candidate: null });
    const same = await c.request("pkg.install", {
      manager: "apt",
      names: ["bash"],
      versions: { bash: version },
      simulate: true,
    }) as RunResult;
    assert.equal(same.retcode, 0, same.stderr);
    assert.match(same.stdout, /bash is already the newest version/);
    const none = await c.request("pkg.install", {
      manager: "apt",
      names: ["bash"],
      versions: { bash: "0.0-zester" },
      simulate: true,
    }) as RunResult;
    assert.notEqual(none.retcode, 0);
    assert.match(none.stderr, /Version '0.0-zester' for 'bash' was not found/);
    await refused(
      c.request("pkg.remove", { manager: "apt", names: ["bash"], versions: { bash: version } }),
      "bad_request",
      /pkg.remove takes no versions/,
    );
  } finally {
    await c.close();
  }
});

Deno.test("exec - the broker builds package and unit commands with the names after --", () => {
  assert.deepEqual(packageArgv("apt", "remove", [{ name: "nginx" }]), [
    "/usr/bin/apt-get",
    "remove",
    "-y",
    "-q",
    "--",
    "nginx",
  ]);
  assert.deepEqual(packageArgv("apt", "upgrade", [{ name: "bash", version: "5.2" }]).slice(-2), [
    "--",
    "bash=5.2",
  ]);
  assert.deepEqual(packageArgv("dnf", "install", [{ name: "nginx", version: "1.24" }]), [
    "/usr/bin/dnf",
    "install",
    "-y",
    "--",
    "nginx-1.24",
  ]);
  assert.deepEqual(packageArgv("yum", "upgrade", [{ name: "nginx" }]), [
    "/usr/bin/yum",
    "update",
    "-y",
    "--",
    "nginx",
  ]);
  assert.deepEqual(serviceArgv("restart", "nginx.service"), [
    "/usr/bin/systemctl",
    "--no-ask-password",
    "restart",
    "--",
    "nginx.service",
  ]);
});

Deno.test("exec - service operations: units from services globs; status fails clearly without systemd", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await broker(base, { services: ["zester-test", "zester-php*-fpm.service"] });
  const systemd = (await Deno.readTextFile("/proc/1/comm").catch(() => "")).trim() === "systemd";
  try {
    await refused(
      c.request("service.start", { unit: "ssh" }),
      "denied",
      /unit "ssh.service" is not in services/,
    );
    await refused(
      c.request("service.start", { unit: "zester-test.socket" }),
      "denied",
      /unit "zester-test.socket" is not in services/,
    );
    const t0 = Date.now();
    const status = c.request("service.status", { unit: "zester-test" }, { timeoutMs: 30_000 });
    if (systemd) {
      const s = await status as { unit: string; active: boolean };
      assert.deepEqual([s.unit, s.active], ["zester-test.service", false]);
    } else {
      await refused(status, "failed", /Cannot query unit "zester-test.service": .+/);
    }
    assert.ok(Date.now() - t0 < 20_000, "status answers without hanging");
    const r = await c.request("service.restart", { unit: "zester-php8.2-fpm" }) as RunResult;
    assert.notEqual(r.retcode, 0, "no such unit here, but the glob allowed it");
  } finally {
    await c.close();
  }
});
