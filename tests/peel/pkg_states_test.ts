/**
 * Package states and functions through a real broker: `pkg.*` against this machine's apt in
 * test mode (and its read-only queries for real), `pkgrepo.*` for real under a temp
 * `system_root`, the commands the broker would build, and what the policy refuses.
 */
import assert from "node:assert/strict";
import { Logger } from "../../lib/log/mod.ts";
import type { BrokerClient } from "../../peel/broker/mod.ts";
import { FUNCTIONS } from "../../peel/functions/mod.ts";
import { holdArgv, packageArgv, refreshArgv } from "../../peel/broker/ops/pkg.ts";
import { tempDir } from "../harness/mod.ts";
import { converges, refusesArgument, snapshot, stateBench } from "../harness/states.ts";

const KEY =
  "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBFzester\n-----END PGP PUBLIC KEY BLOCK-----\n";

function bashVersion(): string {
  const out = new Deno.Command("/usr/bin/dpkg-query", {
    args: ["-W", "-f=${Version}", "bash"],
    stdout: "piped",
  }).outputSync();
  return new TextDecoder().decode(out.stdout);
}

async function call(broker: BrokerClient, fun: string, args: unknown[] = []) {
  return await FUNCTIONS.get(fun)!(
    {
      peelId: "bench",
      jid: "jid-1",
      facts: () => ({ os: { family: "debian" } }),
      broker,
      signal: new AbortController().signal,
      timeoutMs: 60_000,
      log: new Logger({ level: "error", sink: () => {} }),
    },
    args,
    {},
  );
}

Deno.test("pkg states - hold, refresh and skip_verify against apt in test mode", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path, { packages: ["apt"] });
  try {
    const hold = await b.apply("pkg.installed", "bash", { hold: true, refresh: true }, true);
    assert.deepEqual(
      [hold.result, hold.comment, hold.changes],
      [null, "Would hold bash with apt", { bash: { old: "install", new: "hold" } }],
    );
    const free = await b.apply("pkg.installed", "bash", { hold: false }, true);
    assert.deepEqual([free.result, free.changes], [true, {}], "bash is not held here");
    const pinned = await b.apply("pkg.installed", "x", {
      pkgs: [{ bash: bashVersion() }, "zester-no-such-package"],
    }, true);
    assert.deepEqual(pinned.changes, {
      "zester-no-such-package": { old: "", new: "installed" },
    });
    const gone = await b.apply("pkg.removed", "x", {
      pkgs: ["zester-no-such-package", "zester-no-such-other"],
    });
    assert.deepEqual([gone.result, gone.comment], [true, "All packages are already removed"]);
    const unverified = await b.apply("pkg.installed", "zester-no-such-package", {
      skip_verify: true,
    });
    assert.deepEqual(
      [unverified.result, unverified.comment],
      [false, "Denied by policy: skip_verify needs allow_unverified_packages"],
    );
    // A pillar placeholder as a package name: Salt's test mode on apt predicts an install; so do
    // we, saying the real run will be refused. Applying it fails.
    const placeholder = "nginx-custom (can be a list)";
    const predicted = await b.apply("pkg.installed", placeholder, {}, true);
    assert.deepEqual([predicted.result, predicted.changes], [null, {
      [placeholder]: { old: "", new: "installed" },
    }]);
    assert.match(predicted.comment, /"nginx-custom \(can be a list\)" is not a package name/);
    const applied = await b.apply("pkg.installed", placeholder, {});
    assert.deepEqual(applied.result, false);
    assert.match(applied.comment, /expected a package name/);
    await refusesArgument(b, "pkg.installed", "bash", { hold: "please" }, "hold");
    await refusesArgument(b, "pkg.installed", "bash", { pkgs: "bash" }, "pkgs");
  } finally {
    await b.close();
  }
  const ops = (await b.audit()).map((a) => `${a.op} ${a.decision}`);
  assert.ok(ops.includes("pkg.query allow"));
  assert.ok(ops.includes("pkg.install deny"));
  assert.ok(!ops.some((o) => /^pkg\.(refresh|hold|unhold|remove)/.test(o)), ops.join("\n"));
});

Deno.test("pkg functions - version, latest_version, list_pkgs read this machine's dpkg", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path, { packages: ["apt"] });
  try {
    const v = bashVersion();
    assert.equal((await call(b.broker, "pkg.version", ["bash"])).result, v);
    assert.deepEqual((await call(b.broker, "pkg.version", ["bash", "zester-no-such"])).result, {
      bash: v,
      "zester-no-such": "",
    });
    assert.equal(typeof (await call(b.broker, "pkg.latest_version", ["bash"])).result, "string");
    const all = (await call(b.broker, "pkg.list_pkgs")).result as Record<string, string>;
    assert.equal(all.bash, v);
    assert.ok(Object.keys(all).length > 50);
    await assert.rejects(call(b.broker, "pkg.version"), /pkg.version needs at least one package/);
  } finally {
    await b.close();
  }
  await using none = await tempDir();
  const denied = await stateBench(none.path);
  try {
    await assert.rejects(
      call(denied.broker, "pkg.version", ["bash"]),
      /package manager "apt" is not in packages/,
    );
    await assert.rejects(
      call(denied.broker, "pkg.refresh_db"),
      /package manager "apt" is not in packages/,
    );
  } finally {
    await denied.close();
  }
});

Deno.test("pkg - the broker builds refresh, hold and unverified install commands itself", () => {
  assert.deepEqual(refreshArgv("apt"), ["/usr/bin/apt-get", "update", "-q"]);
  assert.deepEqual(refreshArgv("dnf"), ["/usr/bin/dnf", "-q", "-y", "makecache"]);
  assert.deepEqual(holdArgv("apt", true, ["nginx"]), [
    "/usr/bin/apt-mark",
    "hold",
    "--",
    "nginx",
  ]);
  assert.deepEqual(holdArgv("dnf", false, ["nginx"]), [
    "/usr/bin/dnf",
    "-q",
    "-y",
    "versionlock",
    "delete",
    "--",
    "nginx",
  ]);
  assert.deepEqual(
    packageArgv("apt", "install", [{ name: "x" }], { skipVerify: true }).slice(-3),
    ["--allow-unauthenticated", "--", "x"],
  );
  assert.deepEqual(packageArgv("yum", "install", [{ name: "x" }], { skipVerify: true }), [
    "/usr/bin/yum",
    "install",
    "-y",
    "--nogpgcheck",
    "--",
    "x",
  ]);
});

Deno.test("pkgrepo states - apt source and key under system_root, only for the policy's repos", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/root`;
  await Deno.mkdir(`${root}/etc/apt/sources.list.d`, { recursive: true });
  await Deno.writeTextFile(
    `${root}/etc/apt/sources.list.d/debian.list`,
    "deb http://deb.debian.org/debian bookworm main\n",
  );
  const b = await stateBench(dir.path, {
    packages: ["apt"],
    repos: ["https://nginx.org/packages/*"],
    system_root: root,
  });
  const watched = () => snapshot(root);
  const line = "deb [arch=amd64] https://nginx.org/packages/debian bookworm nginx";
  try {
    const args = { file: "/etc/apt/sources.list.d/nginx.list", key_text: KEY, refresh: false };
    const first = await converges(b, "pkgrepo.managed", line, args, watched);
    assert.deepEqual(first.changes, {
      "/etc/apt/keyrings/nginx.asc": "New key",
      "/etc/apt/sources.list.d/nginx.list": "New file",
    });
    assert.equal(first.comment, `Configured package repo '${line}'`);
    assert.equal(
      await Deno.readTextFile(`${root}/etc/apt/sources.list.d/nginx.list`),
      "deb [arch=amd64 signed-by=/etc/apt/keyrings/nginx.asc] https://nginx.org/packages/debian bookworm nginx\n",
    );
    assert.equal(await Deno.readTextFile(`${root}/etc/apt/keyrings/nginx.asc`), KEY);
    assert.equal((await Deno.stat(`${root}/etc/apt/keyrings/nginx.asc`)).mode! & 0o777, 0o644);
    const mainline = `${line} mainline`;
    const edit = await converges(b, "pkgrepo.managed", mainline, args, watched);
    assert.match(
      String(edit.changes["/etc/apt/sources.list.d/nginx.list"]),
      /\+deb .* bookworm nginx mainline$/m,
    );
    const dry = await b.apply("pkgrepo.managed", mainline, { ...args, refresh: true }, true);
    assert.deepEqual(dry.changes, {}, "nothing to change, nothing refreshed");

    const foreign = await b.apply("pkgrepo.managed", line, {
      ...args,
      file: "/etc/apt/sources.list.d/debian.list",
    });
    assert.equal(foreign.result, false);
    assert.match(foreign.comment, /"http:\/\/deb.debian.org\/debian" is not in repos/);
    const elsewhere = await b.apply("pkgrepo.managed", "deb https://evil.example/debian sid main", {
      refresh: false,
    });
    assert.match(
      elsewhere.comment,
      /Denied by policy: repository "https:\/\/evil.example\/debian" is not in repos/,
    );
    const dropForeign = await b.apply(
      "pkgrepo.absent",
      "deb http://deb.debian.org/debian bookworm main",
      {
        file: "/etc/apt/sources.list.d/debian.list",
      },
    );
    assert.equal(dropForeign.result, false);
    assert.ok(await Deno.stat(`${root}/etc/apt/sources.list.d/debian.list`));

    const absent = await converges(b, "pkgrepo.absent", mainline, args, watched);
    assert.deepEqual(absent.changes, {
      "/etc/apt/sources.list.d/nginx.list": "removed",
      "/etc/apt/keyrings/nginx.asc": "removed",
    });
    await refusesArgument(b, "pkgrepo.managed", "nginx.org/debian", args, "name");
    await refusesArgument(
      b,
      "pkgrepo.managed",
      line,
      { ...args, file: "/etc/apt/evil.list" },
      "file",
    );
    await refusesArgument(
      b,
      "pkgrepo.managed",
      line,
      { ...args, key_text: "not a key" },
      "key_text",
    );
    await refusesArgument(
      b,
      "pkgrepo.managed",
      line,
      { file: args.file, key_url: "https://nginx.org/keys/nginx_signing.key", refresh: false },
      "key_url",
    );
    await refusesArgument(
      b,
      "pkgrepo.managed",
      `${line} [opt=1]`.replace("[arch=amd64]", "[trusted=yes]"),
      args,
      "name",
    );
  } finally {
    await b.close();
  }
  const audit = await b.audit();
  assert.ok(audit.some((a) => a.op === "pkgrepo.set" && a.decision === "allow"));
  assert.ok(audit.some((a) => a.op === "pkgrepo.set" && a.decision === "deny"));
  assert.ok(!audit.some((a) => a.op === "pkg.refresh"), "refresh: False refreshes nothing");
});

Deno.test("pkgrepo states - a yum repository under system_root", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/root`;
  await Deno.mkdir(root);
  const b = await stateBench(dir.path, {
    packages: ["yum"],
    repos: ["https://repo.example.com/*"],
    system_root: root,
  }, { os: { family: "redhat" } });
  try {
    await converges(b, "pkgrepo.managed", "example", {
      humanname: "Example $releasever",
      baseurl: "https://repo.example.com/el9/$basearch/",
      gpgkey: "https://repo.example.com/RPM-GPG-KEY",
      refresh: false,
    }, () => snapshot(root));
    assert.equal(
      await Deno.readTextFile(`${root}/etc/yum.repos.d/example.repo`),
      "[example]\nname=Example $releasever\nbaseurl=https://repo.example.com/el9/$basearch/\n" +
        "enabled=1\ngpgcheck=1\ngpgkey=https://repo.example.com/RPM-GPG-KEY\n",
    );
    await refusesArgument(b, "pkgrepo.managed", "example", { refresh: false }, "baseurl");
    const badKey = await b.apply("pkgrepo.managed", "example", {
      baseurl: "https://repo.example.com/el9/",
      gpgkey: "https://keys.evil.example/k",
      refresh: false,
    });
    assert.match(badKey.comment, /key URL "https:\/\/keys.evil.example\/k" is not in repos/);
  } finally {
    await b.close();
  }
});
