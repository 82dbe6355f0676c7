/**
 * The systemd units of `deploy/systemd/`: systemd accepts them, the Deno flags they document are
 * those `lib/config/permissions.ts` derives from the example configs, and each unit's hardening
 * is the one chosen for it (the peel's leaves its broker able to apply states).
 */
import assert from "node:assert/strict";
import {
  DAEMON_V8_FLAGS,
  loadConfig,
  MASTER_CONFIG_PATH,
  MASTER_ENV,
  MasterConfig,
  masterPermissionFlags,
  PEEL_CONFIG_PATH,
  PeelConfig,
  peelPermissionFlags,
} from "../../lib/config/mod.ts";
import { targets } from "../../deploy/compile.ts";
import { tempDir } from "../harness/mod.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** Where the units expect a checkout. */
const INSTALLED = "/usr/lib/zester";
const UNITS = ["zester-master.service", "zester-peel.service", "zester-nats.service"];

/** `Key=value` lines of a unit (each key's values in order), and its comment lines. */
async function unit(name: string) {
  const text = await Deno.readTextFile(`${DEPLOY}systemd/${name}`);
  const keys = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, [...keys.get(m[1]!) ?? [], m[2]!]);
  }
  const one = (k: string) => keys.get(k)?.at(-1);
  return { text, keys, one };
}

function systemdAnalyze(): string | undefined {
  for (const d of ["/usr/bin", "/bin"]) {
    try {
      if (Deno.statSync(`${d}/systemd-analyze`).isFile) return `${d}/systemd-analyze`;
    } catch { /* next */ }
  }
  return undefined;
}

Deno.test({
  name: "systemd units - systemd-analyze verify accepts each unit, no unknown key or bad value",
  ignore: systemdAnalyze() === undefined,
  fn: async () => {
    await using root = await tempDir();
    await Deno.mkdir(`${root.path}/etc/systemd/system`, { recursive: true });
    for (const name of UNITS) {
      const { text, keys } = await unit(name);
      // Programs the units run, as stubs: verify checks that they are executable.
      for (const cmd of [...keys.get("ExecStart") ?? [], ...keys.get("ExecReload") ?? []]) {
        const bin = cmd.split(" ")[0]!;
        await Deno.mkdir(`${root.path}${bin.replace(/\/[^/]+$/, "")}`, { recursive: true });
        await Deno.writeTextFile(`${root.path}${bin}`, "#!/bin/sh\n", { mode: 0o755 });
      }
      await Deno.writeTextFile(`${root.path}/etc/systemd/system/${name}`, text);
    }
    for (const name of UNITS) {
      const out = await new Deno.Command(systemdAnalyze()!, {
        args: [
          "verify",
          `--root=${root.path}`,
          "--recursive-errors=no",
          `/etc/systemd/system/${name}`,
        ],
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(stderr, "", name);
      assert.equal(out.code, 0, name);
    }
  },
});

Deno.test("systemd units - ExecStart runs the compiled binary; the checkout line has the flags permissions.ts derives", async () => {
  const install = (flags: string[]) => flags.map((f) => f.replaceAll(ROOT, INSTALLED));
  const cases = [
    {
      name: "zester-master.service",
      binary: "zester-master",
      entry: "master/main.ts",
      configPath: MASTER_CONFIG_PATH,
      flags: masterPermissionFlags(
        await loadConfig(`${DEPLOY}config/master.yaml`, MasterConfig),
        MASTER_CONFIG_PATH,
      ),
    },
    {
      name: "zester-peel.service",
      binary: "zester-peel",
      entry: "peel/main.ts",
      configPath: PEEL_CONFIG_PATH,
      flags: peelPermissionFlags(
        await loadConfig(`${DEPLOY}config/peel.yaml`, PeelConfig),
        PEEL_CONFIG_PATH,
      ),
    },
  ];
  const built = (await targets()).map((t) => t.name);
  for (const c of cases) {
    const { text, one } = await unit(c.name);
    assert.ok(built.includes(c.binary), `deno task compile builds ${c.binary}`);
    assert.equal(one("ExecStart"), `/usr/bin/${c.binary} --config ${c.configPath}`);
    const line = /^# From a checkout: ExecStart=(.*)$/m.exec(text)?.[1];
    assert.ok(line, `${c.name} documents the checkout command`);
    assert.deepEqual(line.split(" "), [
      "/usr/bin/deno",
      "run",
      "--config",
      `${INSTALLED}/deno.json`,
      ...install(c.flags),
      DAEMON_V8_FLAGS,
      `${INSTALLED}/${c.entry}`,
      "--config",
      c.configPath,
    ]);
    assert.doesNotMatch(line, /(^| )(-A|--allow-all)( |$)/);
  }
});

Deno.test("systemd units - the master's unit sets MASTER_ENV, the peel's none of it", async () => {
  const wanted = Object.entries(MASTER_ENV).map(([k, v]) => `${k}=${v}`);
  assert.deepEqual((await unit("zester-master.service")).keys.get("Environment"), wanted);
  assert.equal((await unit("zester-peel.service")).keys.get("Environment"), undefined);
});

Deno.test("systemd units - master and nats-server run as zester, fully hardened; the peel keeps its broker able to apply states", async () => {
  for (const name of ["zester-master.service", "zester-nats.service"]) {
    const { one } = await unit(name);
    assert.equal(one("User"), "zester", name);
    for (
      const [k, v] of Object.entries({
        NoNewPrivileges: "yes",
        ProtectSystem: "strict",
        ProtectHome: "yes",
        PrivateTmp: "yes",
        RestrictSUIDSGID: "yes",
        CapabilityBoundingSet: "",
        LimitNOFILE: "65536",
      })
    ) assert.equal(one(k), v, `${name} ${k}`);
  }
  const nats = await unit("zester-nats.service");
  assert.equal(nats.one("StateDirectory"), "zester/nats");
  assert.equal(nats.one("ReadWritePaths"), "/etc/zester/jwt", "the resolver's account JWTs");

  const peel = await unit("zester-peel.service");
  assert.equal(peel.one("User"), "root");
  for (const k of ["NoNewPrivileges", "RestrictSUIDSGID", "ProtectSystem", "ProtectHome"]) {
    assert.equal(peel.one(k), undefined, `the broker inherits ${k}: the peel unit must not set it`);
    assert.match(
      peel.text,
      new RegExp(`^# - (\\w+, )*${k}[:,]`, "m"),
      `the unit says why ${k} is not set`,
    );
  }
  assert.equal(peel.one("ProtectKernelTunables"), undefined, "sysctl.present writes /proc/sys");
  assert.equal(peel.one("PrivateTmp"), "yes");
  assert.equal(peel.one("LimitNOFILE"), "65536");

  const sysusers = await Deno.readTextFile(`${DEPLOY}sysusers.d/zester.conf`);
  assert.match(sysusers, /^u zester - .* \/usr\/sbin\/nologin$/m);
  const tmpfiles = await Deno.readTextFile(`${DEPLOY}tmpfiles.d/zester.conf`);
  for (
    const [dir, mode, owner] of [
      ["/etc/zester/jwt", "0700", "zester"],
      ["/var/lib/zester/nats", "0750", "zester"],
      ["/var/lib/zester/peel", "0700", "root"],
      ["/var/backups/zester", "0700", "root"],
    ]
  ) {
    assert.match(tmpfiles, new RegExp(`^d ${dir} +${mode} ${owner} `, "m"), dir);
  }
});
