import assert from "node:assert/strict";
import {
  ConfigError,
  daemonFlags,
  type DaemonSpec,
  FlagError,
  loadDaemonConfig,
  MASTER_DAEMON,
  MasterConfig,
  parseConfig,
  parseDaemonArgs,
  PEEL_DAEMON,
  PeelConfig,
  PLANNED_KEYS,
  type PlannedNotice,
} from "../../lib/config/mod.ts";
import { tempDir } from "../harness/mod.ts";

const NATS = "nats_url: nats://127.0.0.1:4222\n";

function parseWith<T>(spec: DaemonSpec<T>, yaml: string, notices: PlannedNotice[] = []): T {
  return parseConfig(yaml, "f.yaml", spec.schema, {
    planned: spec.planned,
    onPlanned: (n) => notices.push(n),
  });
}

Deno.test("config - a planned key is accepted, validated and reported with its line and feature", () => {
  const notices: PlannedNotice[] = [];
  const cfg = parseWith(
    MASTER_DAEMON,
    `${NATS}gitfs:\n  interval: 5m\nreactor:\n  workers: 8\n  dir: /srv/r\n`,
    notices,
  );
  assert.deepEqual(cfg.nats_url, ["nats://127.0.0.1:4222"]);
  assert.ok(!("gitfs" in cfg) && !("reactor" in cfg));
  assert.deepEqual(notices, [
    { key: "gitfs.interval", source: "f.yaml:3", waitsFor: "GitFS" },
    { key: "reactor.dir", source: "f.yaml:6", waitsFor: "the reactor" },
    { key: "reactor.workers", source: "f.yaml:5", waitsFor: "the reactor" },
  ]);
  const peel: PlannedNotice[] = [];
  parseWith(
    PEEL_DAEMON,
    `id: web-01\n${NATS}enroll_ca: /etc/ca.pem\nmaster_urls: [https://m:8443]\n`,
    peel,
  );
  assert.deepEqual(peel.map((n) => n.key), ["master_urls", "enroll_ca"]);
  // A planned key's value is still checked, naming file, line and field.
  assert.throws(() => parseWith(MASTER_DAEMON, `${NATS}reactor: {workers: many}\n`), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /^Invalid config "f\.yaml:2": field "reactor\.workers": expected an integer >= 1, got "many"/,
    );
    return true;
  });
});

Deno.test("config - an unknown key is refused naming file, line and field, in planned sections too", () => {
  assert.throws(() => parseWith(PEEL_DAEMON, `id: a\n${NATS}\nhealth_adr: x\n`), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /^Invalid config "f\.yaml:4": field "health_adr": expected no such key/,
    );
    assert.equal(e.line, 4);
    assert.equal(e.field, "health_adr");
    return true;
  });
  assert.throws(
    () => parseWith(MASTER_DAEMON, `${NATS}reactor:\n  workers: 2\n  wrkers: 3\n`),
    /Invalid config "f\.yaml:4": field "reactor\.wrkers": expected no such key \(known keys: enabled, dir, workers/,
  );
  assert.throws(
    () =>
      parseConfig(
        `id: a\n${NATS}broker:\n  exec:\n    - path: /bin/x\n      argv: []\n`,
        "p.yaml",
        PeelConfig,
      ),
    /Invalid config "p\.yaml:6": field "broker\.exec\[0\]\.argv": expected no such key/,
  );
});

Deno.test("config - planned keys are not also built: a feature that lands moves its keys", () => {
  for (const p of PLANNED_KEYS) {
    const schema = p.daemon === "master" ? MasterConfig : PeelConfig;
    const top = p.key.split(".")[0]!;
    assert.ok(
      !(top in schema.shape!),
      `"${p.key}" is built in ${p.daemon}.yaml now: remove it from PLANNED_KEYS`,
    );
  }
});

async function withConfig<T>(
  spec: DaemonSpec<T>,
  yaml: string,
  args: string[],
): Promise<{ config: T; planned: PlannedNotice[] }> {
  await using dir = await tempDir();
  const path = `${dir.path}/c.yaml`;
  await Deno.writeTextFile(path, yaml);
  return await loadDaemonConfig(spec, parseDaemonArgs(spec, ["--config", path, ...args]));
}

Deno.test("daemon flags - each flag overrides the file's value", async () => {
  const file =
    `nats_url: nats://127.0.0.1:4222\nstates_dir: /a\nsettings_dir: /b\nlog_level: info\n` +
    `storage_replicas: 1\njob_timeout: 1m\n`;
  const { config: m } = await withConfig(MASTER_DAEMON, file, [
    "--nats-url",
    "tls://n1:4222,tls://n2:4222",
    "--states-dir=/srv/s",
    "--settings-dir",
    "/srv/t",
    "--log-level",
    "debug",
    "--log-format=text",
    "--storage-replicas",
    "3",
    "--job-timeout",
    "90s",
    "--insecure",
    "--id",
    "m1",
  ]);
  assert.deepEqual(
    [
      m.nats_url,
      m.states_dir,
      m.settings_dir,
      m.log_level,
      m.log_format,
      m.storage_replicas,
      m.job_timeout,
      m.insecure,
      m.id,
    ],
    [
      ["tls://n1:4222", "tls://n2:4222"],
      "/srv/s",
      "/srv/t",
      "debug",
      "text",
      3,
      90_000,
      true,
      "m1",
    ],
  );
  const { config: p, planned } = await withConfig(
    PEEL_DAEMON,
    `id: web-01\n${NATS}data_dir: /var/a\nfacts_interval: 5m\n`,
    [
      "--id",
      "123",
      "--nats-url",
      "nats://127.0.0.1:5222",
      "--data-dir",
      "/var/b",
      "--facts-interval",
      "30",
      "--facts-file",
      "/etc/f",
      "--states-cache",
      "/var/c",
    ],
  );
  assert.deepEqual(
    [p.id, p.nats_url, p.data_dir, p.facts_interval, p.facts_file],
    ["123", ["nats://127.0.0.1:5222"], "/var/b", 30_000, "/etc/f"],
  );
  assert.deepEqual(planned, [{
    key: "states_cache",
    source: "--states-cache",
    waitsFor: "a state cache outside data_dir",
  }]);
  // The file alone, without flags.
  const { config: plain } = await withConfig(PEEL_DAEMON, `id: web-01\n${NATS}`, []);
  assert.equal(plain.id, "web-01");
});

Deno.test("daemon flags - unknown flags, stray words and missing values are refused", () => {
  for (
    const [args, want] of [
      [["--nats-ulr", "x"], /^Unknown flag "--nats-ulr"$/],
      [["--broker", "x"], /^Unknown flag "--broker"$/],
      [["web-01"], /^Unexpected argument "web-01"$/],
      [["--data-dir"], /^Missing value for flag --data-dir: expected a string$/],
      [["--id", "a", "--id", "b"], /^Flag --id given twice$/],
    ] as const
  ) {
    assert.throws(() => parseDaemonArgs(PEEL_DAEMON, args), (e) => {
      assert.ok(e instanceof FlagError, String(e));
      assert.match(e.message, want);
      return true;
    });
  }
  assert.ok(parseDaemonArgs(MASTER_DAEMON, ["--help"]).help);
});

Deno.test("daemon flags - a bad value names the flag", async () => {
  for (
    const [spec, args, want] of [
      [PEEL_DAEMON, ["--id", "web.01"], /^Invalid flag --id: expected a peel id/],
      [
        MASTER_DAEMON,
        ["--storage-replicas", "seven"],
        /^Invalid flag --storage-replicas: expected an integer >= 1 and <= 5, got "seven"$/,
      ],
      [MASTER_DAEMON, ["--log-level", "loud"], /^Invalid flag --log-level: expected one of/],
      [MASTER_DAEMON, ["--nats-url", "http://x"], /^Invalid flag --nats-url: expected a NATS URL/],
      [
        MASTER_DAEMON,
        ["--reactor-workers", "0"],
        /^Invalid flag --reactor-workers: expected an integer >= 1, got "0"$/,
      ],
    ] as const
  ) {
    await assert.rejects(
      withConfig(spec as DaemonSpec<unknown>, `id: web-01\n${NATS}`, [...args]),
      (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, want);
        return true;
      },
    );
  }
});

Deno.test("daemon flags - derived from the schemas: scalar and list keys only, documented names", () => {
  const master = daemonFlags(MASTER_DAEMON).map((f) => f.flag);
  const peel = daemonFlags(PEEL_DAEMON).map((f) => f.flag);
  for (
    const f of [
      "--nats-url",
      "--nats-ca",
      "--states-dir",
      "--settings-dir",
      "--health-addr",
      "--log-level",
      "--log-format",
      "--api-docs",
      "--gitfs-remotes",
      "--reactor",
      "--reactor-dir",
      "--reactor-workers",
      "--reactor-max-chain-depth",
      "--reactor-enable-chaining",
      "--reactor-default-throttle",
      "--reactor-source-rate-limit",
      "--reactor-max-event-age",
      "--reactor-storm-rate",
      "--reactor-breaker-cooldown",
      "--enroll-addr",
      "--enroll-tls-cert",
      "--enroll-tls-key",
    ]
  ) assert.ok(master.includes(f), `master lacks ${f}`);
  for (
    const f of [
      "--id",
      "--nats-url",
      "--nats-ca",
      "--states-cache",
      "--health-addr",
      "--log-level",
      "--log-format",
      "--data-dir",
      "--master-url",
      "--master-urls",
      "--enroll-ca",
    ]
  ) assert.ok(peel.includes(f), `peel lacks ${f}`);
  for (const f of ["--broker", "--schedule", "--nodegroups", "--job-timeouts", "--api-tokens"]) {
    assert.ok(!master.includes(f) && !peel.includes(f), `${f} is a map: no flag`);
  }
});
