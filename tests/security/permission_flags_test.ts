/**
 * Paths and hosts from config become permission flags, and Deno splits a flag's list on commas:
 * a value with a comma or a control character would grant more than the config meant.
 */
import assert from "node:assert/strict";
import {
  CliConfig,
  cliPermissionFlags,
  MasterConfig,
  masterPermissionFlags,
  parseConfig,
  PeelConfig,
  peelPermissionFlags,
  PermissionGrantError,
} from "../../lib/config/mod.ts";

Deno.test("permission flags - a comma in a data dir cannot widen the peel's writes", () => {
  const cfg = parseConfig(
    `id: web-01\nnats_url: nats://127.0.0.1:4222\ndata_dir: "/var/lib/zester/peel,/"\n`,
    "peel.yaml",
    PeelConfig,
  );
  assert.throws(
    () => peelPermissionFlags(cfg, "/etc/zester/peel.yaml"),
    (e) =>
      e instanceof PermissionGrantError &&
      /access to "\/var\/lib\/zester\/peel,\/"/.test(e.message),
  );
});

Deno.test("permission flags - newlines, commas in config paths and launchers are refused", () => {
  const master = parseConfig(
    `nats_url: nats://127.0.0.1:4222\nstates_dir: "/srv/states\\n--allow-all"\n`,
    "master.yaml",
    MasterConfig,
  );
  assert.throws(
    () => masterPermissionFlags(master, "/etc/zester/master.yaml"),
    PermissionGrantError,
  );
  const peel = parseConfig(
    `id: a\nnats_url: nats://127.0.0.1:4222\nbroker: {launcher: "/usr/lib/zb,/bin/sh"}\n`,
    "peel.yaml",
    PeelConfig,
  );
  assert.throws(() => peelPermissionFlags(peel, "/etc/zester/peel.yaml"), /run access/);
  assert.throws(
    () => cliPermissionFlags(CliConfig.parse({}), "/usr/lib/zb,/bin/sh"),
    PermissionGrantError,
  );
  assert.throws(
    () =>
      peelPermissionFlags(
        parseConfig("id: a\nnats_url: nats://127.0.0.1:4222\n", "p", PeelConfig),
        "/etc/p,/",
      ),
    /read access/,
  );
});
