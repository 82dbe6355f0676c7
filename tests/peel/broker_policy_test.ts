/**
 * The broker's policy, enforced by a real broker process: what a peel (or a job, or anyone who
 * has taken over the peel process) cannot get the broker to do.
 */
import assert from "node:assert/strict";
import { BrokerClient, type RunResult } from "../../peel/broker/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import {
  auditRecords,
  brokerAt,
  devBrokerPolicy,
  rejectsWith,
  tempDir,
  writeDevLauncher,
  writeYaml,
} from "../harness/mod.ts";

const quiet = new Logger({ level: "error", sink: () => {} });

const denied = (p: Promise<unknown>, re: RegExp) => rejectsWith(p, "denied", re);

Deno.test("broker policy - file operations inside the allowed paths", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await brokerAt(base);
  try {
    const f = `${base}/files/app/config.ini`;
    await c.request("write", { path: f, data: "a=1\n", mode: 0o640, makedirs: true });
    assert.equal(await Deno.readTextFile(f), "a=1\n");
    assert.equal((await Deno.stat(f)).mode! & 0o777, 0o640);
    const st = await c.request("stat", { path: f }) as {
      exists: boolean;
      type: string;
      mode: number;
    };
    assert.deepEqual([st.exists, st.type, st.mode], [true, "file", 0o640]);
    const r = await c.request("read", { path: f }) as { data: Uint8Array };
    assert.equal(new TextDecoder().decode(r.data), "a=1\n");
    await c.request("write", { path: f, data: "a=2\n" });
    assert.equal((await Deno.stat(f)).mode! & 0o777, 0o640, "a rewrite keeps the mode");
    await c.request("chmod", { path: f, mode: 0o600 });
    await c.request("chown", { path: f, user: "root", group: "root" });
    await c.request("mkdir", { path: `${base}/files/d/e`, parents: true, mode: 0o750 });
    await c.request("symlink", { path: `${base}/files/link`, target: f });
    assert.equal(await Deno.readLink(`${base}/files/link`), f);
    await c.request("rename", { from: f, to: `${base}/files/app/moved.ini` });
    const gone = await c.request("stat", { path: f }) as { exists: boolean };
    assert.equal(gone.exists, false);
    await c.request("remove", { path: `${base}/files/d`, recursive: true });
    await assert.rejects(Deno.stat(`${base}/files/d`), Deno.errors.NotFound);
    // No temp files are left behind by atomic writes.
    const left = [...Deno.readDirSync(`${base}/files/app`)].map((e) => e.name);
    assert.deepEqual(left, ["moved.ini"]);
  } finally {
    await c.close();
  }
});

Deno.test("broker policy - writes outside, traversal and symlinks out are denied and audited", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  await Deno.mkdir(`${base}/outside`);
  const c = await brokerAt(base, { write_paths: [`${base}/files`], read_paths: [] });
  try {
    await denied(
      c.request("write", { path: `${base}/outside/x`, data: "x" }),
      /outside the allowed paths/,
    );
    await denied(
      c.request("write", { path: `${base}/files/../outside/x`, data: "x" }),
      /outside the allowed paths/,
    );
    await denied(
      c.request("write", { path: `${base}/files-evil/x`, data: "x" }),
      /outside the allowed/,
    );
    await Deno.symlink(`${base}/outside`, `${base}/files/escape`);
    await denied(
      c.request("write", { path: `${base}/files/escape/x`, data: "x" }),
      /resolves to ".*\/outside\/x", outside the allowed paths/,
    );
    await denied(c.request("read", { path: "/etc/shadow" }), /outside the allowed paths/);
    await denied(
      c.request("write", { path: `${base}/peel.yaml`, data: "x" }),
      /outside the allowed/,
    );
    await assert.rejects(Deno.stat(`${base}/outside/x`), Deno.errors.NotFound);
    const audit = await auditRecords(base);
    const denials = audit.filter((a) => a.decision === "deny");
    assert.ok(denials.length >= 5, JSON.stringify(audit));
    const first = denials[0]!;
    assert.equal(first.op, "write");
    assert.deepEqual(first.args, { path: `${base}/outside/x`, bytes: 1 });
    assert.match(String(first.reason), /Denied by policy/);
    assert.ok(!JSON.stringify(audit).includes('"x"'), "file contents are never audited");
  } finally {
    await c.close();
  }
});

Deno.test("broker policy - the policy and audit files cannot be written even inside write paths", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await brokerAt(base, { write_paths: [base] });
  try {
    await denied(
      c.request("write", { path: `${base}/peel.yaml`, data: "broker: {}" }),
      /belongs to the broker/,
    );
    await denied(
      c.request("remove", { path: `${base}/broker-audit.log` }),
      /belongs to the broker/,
    );
    await c.request("write", { path: `${base}/files/ok`, data: "fine" });
  } finally {
    await c.close();
  }
});

Deno.test("broker policy - commands, users and loader variables", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await brokerAt(base, {
    exec: [{ path: "/usr/bin/id", args: [["-un"]] }],
    run_as: ["nobody"],
    cmd_run: "deny",
  });
  try {
    await denied(
      c.request("run", { argv: ["/bin/sh", "-c", "id"] }),
      /shell commands \(cmd_run\) are not allowed/,
    );
    await denied(
      c.request("run", { argv: ["/usr/bin/whoami"] }),
      /"\/usr\/bin\/whoami" is not in the exec list/,
    );
    await denied(c.request("run", { argv: ["id"] }), /"id" is not in the exec list/);
    await denied(
      c.request("run", { argv: ["/usr/bin/id", "-un"], user: "daemon" }),
      /may not run as "daemon"/,
    );
    await denied(
      c.request("run", { argv: ["/usr/bin/id", "-un"], env: { LD_LIBRARY_PATH: "/tmp" } }),
      /"LD_LIBRARY_PATH" is not allowed/,
    );
    const me = await c.request("run", { argv: ["/usr/bin/id", "-un"] }) as RunResult;
    assert.equal(me.stdout.trim(), "root");
    const nobody = await c.request("run", {
      argv: ["/usr/bin/id", "-un"],
      user: "nobody",
    }) as RunResult;
    assert.equal(nobody.retcode, 0, nobody.stderr);
    assert.equal(nobody.stdout.trim(), "nobody");
  } finally {
    await c.close();
  }
});

Deno.test("broker policy - package managers only through typed operations; env only when listed", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await brokerAt(base, {
    packages: ["apt"],
    env_allow: ["LD_LIBRARY_PATH"],
    exec: ["/usr/bin/env"],
  });
  try {
    const q = await c.request("pkg.query", { manager: "apt", names: ["bash"] }) as {
      packages: Record<string, { installed: string | null }>;
    };
    assert.match(q.packages.bash?.installed ?? "", /^\d/);
    await denied(
      c.request("run", { argv: ["/usr/bin/dpkg-query", "-W", "bash"] }),
      /"\/usr\/bin\/dpkg-query" is not in the exec list/,
    );
    await denied(
      c.request("pkg.query", { manager: "dnf", names: ["bash"] }),
      /package manager "dnf" is not in packages/,
    );
    const env = await c.request("run", {
      argv: ["/usr/bin/env"],
      env: { LD_LIBRARY_PATH: "/opt/lib" },
    }) as RunResult;
    assert.match(env.stdout, /^LD_LIBRARY_PATH=\/opt\/lib$/m);
  } finally {
    await c.close();
  }
});

Deno.test("broker policy - a policy file others can write is refused; nothing policed runs", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await brokerAt(base, { cmd_run: "allow" });
  try {
    await Deno.chmod(`${base}/peel.yaml`, 0o666);
    await denied(
      c.request("run", { argv: ["/bin/sh", "-c", "true"] }),
      /no usable policy.*writable by group or others/,
    );
    const pong = await c.request("ping", {}) as { pong: boolean };
    assert.equal(pong.pong, true);
  } finally {
    await c.close();
  }
});

Deno.test("broker policy - arguments from the peel cannot name another policy", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  await writeYaml(`${base}/evil.yaml`, {
    id: "evil",
    broker: { cmd_run: "allow", write_paths: ["/"] },
  });
  await Deno.mkdir(`${base}/files`, { recursive: true });
  await writeYaml(`${base}/peel.yaml`, {
    id: "p",
    broker: { ...devBrokerPolicy(base), cmd_run: "deny" },
  });
  const launcher = await writeDevLauncher(`${base}/zester-broker`, `${base}/peel.yaml`);
  const c = new BrokerClient({
    launcher,
    idleTimeoutMs: 60_000,
    log: quiet,
    args: ["--policy", `${base}/evil.yaml`, `--config=${base}/evil.yaml`],
  });
  try {
    await denied(c.request("run", { argv: ["/bin/sh", "-c", "true"] }), /cmd_run/);
  } finally {
    await c.close();
  }
});
