/**
 * The starter policy shipped in `deploy/config/peel.yaml`, enforced by a real broker: what a
 * job on a host that uses it can and cannot get.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { type Chunk, plan, runPlan } from "../../lib/state/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { BrokerClient, BrokerError } from "../../peel/broker/mod.ts";
import { stateHost } from "../../peel/modules/mod.ts";
import { tempDir, writeDevLauncher, writeYaml } from "../harness/mod.ts";

const STARTER = new URL("../../deploy/config/peel.yaml", import.meta.url).pathname;

/** A broker enforcing the shipped policy, with only its launcher and audit log moved. */
async function starterBroker(base: string): Promise<BrokerClient> {
  const raw = parse(await Deno.readTextFile(STARTER));
  raw.broker.launcher = `${base}/zester-broker`;
  raw.broker.audit_log = `${base}/broker-audit.log`;
  await writeYaml(`${base}/peel.yaml`, raw);
  const launcher = await writeDevLauncher(`${base}/zester-broker`, `${base}/peel.yaml`);
  return new BrokerClient({
    launcher,
    idleTimeoutMs: 60_000,
    log: new Logger({ level: "error", sink: () => {} }),
  });
}

async function denied(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.code, "denied", `${what}: ${e.message}`);
    return true;
  }, what);
}

Deno.test("starter policy - no secret is readable, nothing root-equivalent is writable", async () => {
  await using dir = await tempDir();
  const c = await starterBroker(dir.path);
  try {
    for (
      const path of [
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/sudoers",
        "/etc/sudoers.d/admins",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/zester/peel.yaml",
        "/etc/zester/peel.creds",
        "/etc/zester/tls/ca.pem",
        "/etc/ssl/private/site.key",
        "/root/.ssh/authorized_keys",
        "/var/lib/zester/peel/returns",
      ]
    ) {
      await denied(c.request("read", { path }), `read ${path}`);
      await denied(c.request("stat", { path }), `stat ${path}`);
    }
    for (
      const path of [
        "/etc/systemd/system/evil.service",
        "/etc/apt/apt.conf.d/99evil",
        "/etc/sudoers.d/evil",
        "/etc/cron.d/evil",
      ]
    ) {
      await denied(c.request("write", { path, data: "x" }), `write ${path}`);
    }
    await denied(c.request("run", { argv: ["/bin/sh", "-c", "id"] }), "a shell command");
    await denied(c.request("run", { argv: ["/usr/bin/systemctl", "start", "ssh"] }), "systemctl");
    await denied(
      c.request("run", { argv: ["/usr/sbin/nginx", "-g", "load_module /tmp/x.so;"] }),
      "nginx with other arguments",
    );
    await denied(c.request("service.start", { unit: "ssh" }), "a unit not in services");
    const log = await c.request("stat", { path: "/var/log/nginx/access.log" }) as {
      exists: boolean;
    };
    assert.equal(typeof log.exists, "boolean", "what it grants stays usable");
  } finally {
    await c.close();
  }
});

Deno.test("starter policy - pkg.installed in test mode queries apt through the broker", async () => {
  await using dir = await tempDir();
  const c = await starterBroker(dir.path);
  const host = stateHost({
    broker: c,
    facts: { os: { family: "debian" } },
    render: (t) => Promise.resolve(t),
  });
  const installed = async (name: string) => {
    const chunk: Chunk = {
      id: name,
      sls: "web",
      module: "pkg",
      fun: "installed",
      name,
      args: {},
      requisites: {},
      index: 0,
    };
    return (await runPlan(plan([chunk]), { test: true, host }))[0]!;
  };
  try {
    const bash = await installed("bash");
    assert.deepEqual([bash.result, bash.comment], [true, "All packages are already installed"]);
    const none = await installed("zester-no-such-package");
    assert.deepEqual(
      [none.result, none.comment],
      [null, "Would install zester-no-such-package with apt"],
    );
  } finally {
    await c.close();
  }
});

Deno.test("starter policy - the modules it allows work in test mode, nothing in them reaches root", async () => {
  await using dir = await tempDir();
  const c = await starterBroker(dir.path);
  const host = stateHost({
    broker: c,
    facts: { os: { family: "debian" } },
    render: (t) => Promise.resolve(t),
  });
  const dry = async (fn: string, name: string, args: Record<string, unknown> = {}) => {
    const [module, fun] = fn.split(".");
    const chunk: Chunk = {
      id: name,
      sls: "web",
      module: module!,
      fun: fun!,
      name,
      args,
      requisites: {},
      index: 0,
    };
    return (await runPlan(plan([chunk]), { test: true, host }))[0]!;
  };
  try {
    const cases: [string, string, Record<string, unknown>][] = [
      ["pkgrepo.managed", "deb https://nginx.org/packages/debian bookworm nginx", {
        file: "/etc/apt/sources.list.d/zester-test-nginx.list",
      }],
      ["user.present", "deploy", { home: "/home/deploy", groups: ["deploy"] }],
      ["group.present", "deploy", {}],
      ["sysctl.present", "net.core.somaxconn", { value: 4096 }],
      ["timezone.system", "Etc/UTC", {}],
      ["file.managed", "/etc/nginx/zester-test.conf", { content: "x", backup: "minion" }],
    ];
    for (const [fn, name, args] of cases) {
      const r = await dry(fn, name, args);
      assert.notEqual(r.result, false, `${fn} ${name}: ${r.comment}`);
    }
    for (const fn of ["cron.present", "ssh_auth.present"]) {
      const r = await dry(fn, "AAAAC3NzaC1lZDI1NTE5AAAAIZesterZesterZester", { user: "deploy" });
      assert.ok(!/Denied/.test(r.comment), `${fn} passes the policy: ${r.comment}`);
    }
    const refused: [string, Record<string, unknown>, RegExp][] = [
      ["user.add", { name: "deploy", groups: ["sudo"] }, /group "sudo" is not in accounts.groups/],
      ["user.add", { name: "deploy", uid: 0 }, /uid 0 is root's/],
      ["user.mod", { name: "root", shell: "/bin/sh" }, /user "root" is not in accounts.users/],
      ["cron.write", { user: "root", text: "* * * * * id\n" }, /crontab of "root"/],
      ["sysctl.set", { key: "kernel.core_pattern", value: "|/tmp/x" }, /not in sysctl/],
      ["pkgrepo.set", {
        manager: "apt",
        id: "evil",
        uri: "https://evil.example/debian",
        suite: "sid",
      }, /not in repos/],
      ["pkg.install", { manager: "apt", names: ["x"], skip_verify: true }, /allow_unverified/],
      ["archive.extract", {
        url: "https://evil.example/site.tgz",
        hash: { alg: "sha256", hex: "0".repeat(64) },
        format: "tar",
        dest: "/var/www/site",
      }, /not in fetch/],
      ["git.clone", {
        url: "https://evil.example/site.git",
        target: "/var/www/site",
      }, /not in git.repos/],
      ["pip.install", { bin_env: "/opt/venv", specs: ["flask"] }, /pip.envs/],
      ["ssh.keyscan", { host: "github.com" }, /not in keyscan/],
      ["git.config_set", {
        repo: "/var/www/site",
        key: "user.name",
        values: ["x"],
      }, /git.targets/],
      ["git.config_set", {
        repo: "/var/www/site",
        key: "core.hooksPath",
        values: ["/tmp"],
      }, /not in git.config_allow/],
    ];
    for (const [op, args, re] of refused) {
      await assert.rejects(c.request(op, args), (e) => {
        assert.ok(e instanceof BrokerError && e.code === "denied", `${op}: ${e}`);
        assert.match(e.message, re);
        return true;
      });
    }
  } finally {
    await c.close();
  }
});
