import assert from "node:assert/strict";
import {
  CliConfig,
  ConfigError,
  DAEMON_V8_FLAGS,
  formatDuration,
  loadConfig,
  MASTER_ENV,
  MasterConfig,
  masterPermissionFlags,
  parseConfig,
  parseDuration,
  PeelConfig,
  peelPermissionFlags,
  V8_FLAGS,
} from "../../lib/config/mod.ts";
import { tempDir } from "../harness/temp_dir.ts";

Deno.test("config - peel defaults", () => {
  const cfg = parseConfig("id: web-01\nnats_url: nats://127.0.0.1:4222\n", "peel.yaml", PeelConfig);
  assert.equal(cfg.id, "web-01");
  assert.deepEqual(cfg.nats_url, ["nats://127.0.0.1:4222"]);
  assert.equal(cfg.facts_interval, 300_000);
  assert.equal(cfg.broker.idle_timeout, 30_000);
  assert.equal(cfg.log_level, "info");
});

Deno.test("config - nats_url is required by master and peel; the CLI defaults to loopback", () => {
  assert.throws(
    () => parseConfig("", "master.yaml", MasterConfig),
    /Invalid config "master\.yaml": field "nats_url": expected a NATS URL or a list of them, got nothing/,
  );
  assert.throws(
    () => parseConfig("id: web-01\n", "peel.yaml", PeelConfig),
    /field "nats_url": expected a NATS URL or a list of them, got nothing/,
  );
  assert.deepEqual(parseConfig("", "config.yaml", CliConfig).master.urls, [
    "nats://127.0.0.1:4222",
  ]);
});

Deno.test("config - bad peel id names the field", () => {
  assert.throws(() => parseConfig("id: web.01\n", "/etc/zester/peel.yaml", PeelConfig), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.field, "id");
    assert.equal(e.line, 1);
    assert.match(
      e.message,
      /^Invalid config "\/etc\/zester\/peel\.yaml:1": field "id": expected a peel id/,
    );
    return true;
  });
  assert.throws(() => parseConfig(`id: ${"a".repeat(129)}\n`, "p.yaml", PeelConfig), /field "id"/);
  assert.throws(() => parseConfig("id: -web\n", "p.yaml", PeelConfig), /field "id"/);
});

Deno.test("config - unknown key and wrong type fail with the field name", () => {
  assert.throws(
    () => parseConfig("id: a\nnats_ulr: x\n", "peel.yaml", PeelConfig),
    /field "nats_ulr": expected no such key/,
  );
  assert.throws(
    () =>
      parseConfig(
        "nats_url: nats://127.0.0.1:4222\njob_timeout: [1]\n",
        "master.yaml",
        MasterConfig,
      ),
    /field "job_timeout": expected a duration such as 30s or 5m, got a list/,
  );
  assert.throws(
    () =>
      parseConfig(
        "nats_url: nats://127.0.0.1:4222\nlog_level: loud\n",
        "master.yaml",
        MasterConfig,
      ),
    /field "log_level": expected one of "debug", "info", "warn", "error"/,
  );
  assert.throws(
    () =>
      parseConfig(
        "id: a\nnats_url: nats://127.0.0.1:4222\nbroker: {idle_timeout: soon}\n",
        "peel.yaml",
        PeelConfig,
      ),
    /field "broker.idle_timeout"/,
  );
  assert.throws(
    () => parseConfig("nats_url: 'http://x'\n", "master.yaml", MasterConfig),
    /field "nats_url": expected a NATS URL/,
  );
});

Deno.test("config - YAML syntax errors name file, line and column", () => {
  assert.throws(() => parseConfig("id: a\ndata_dir: /x\nid: b\n", "peel.yaml", PeelConfig), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^Cannot parse config "peel\.yaml:3:1": Map keys must be unique/);
    assert.equal(e.line, 3);
    return true;
  });
});

Deno.test("config - missing file is a clear error", async () => {
  await assert.rejects(
    loadConfig("/nonexistent/zester/peel.yaml", PeelConfig),
    /Cannot read config "\/nonexistent\/zester\/peel\.yaml"/,
  );
});

Deno.test("config - basket: Salt's mine_functions shapes; bad entries name file and field", () => {
  const peel = (basket: string) =>
    parseConfig(
      `id: web-01\nnats_url: nats://127.0.0.1:4222\nbasket:\n${basket}`,
      "peel.yaml",
      PeelConfig,
    )
      .basket;
  assert.deepEqual(
    parseConfig("id: a\nnats_url: nats://127.0.0.1:4222\n", "p", PeelConfig).basket,
    {
      interval: 3_600_000,
      functions: [],
    },
  );
  const b = peel(`  interval: 5
  functions:
    network.ip_addrs: []
    network.ip_addrs6: {interface: eth0}
    test.arg: [a, b, {c: d}]
    web_ips: {mine_function: network.ip_addrs, cidr: 10.0.0.0/8}
    ip_list: [{mine_function: grains.get}, ip_interfaces]
    test.ping:
`);
  assert.equal(b.interval, 300_000);
  assert.deepEqual(b.functions, [
    { name: "network.ip_addrs", fun: "network.ip_addrs", args: [], kwargs: {} },
    {
      name: "network.ip_addrs6",
      fun: "network.ip_addrs6",
      args: [],
      kwargs: { interface: "eth0" },
    },
    { name: "test.arg", fun: "test.arg", args: ["a", "b"], kwargs: { c: "d" } },
    { name: "web_ips", fun: "network.ip_addrs", args: [], kwargs: { cidr: "10.0.0.0/8" } },
    { name: "ip_list", fun: "grains.get", args: ["ip_interfaces"], kwargs: {} },
    { name: "test.ping", fun: "test.ping", args: [], kwargs: {} },
  ]);
  assert.equal(peel("  interval: 30s\n").interval, 30_000);
  const bad: [string, RegExp][] = [
    [
      "  functions: {network.ip_addrs: 5}\n",
      /Invalid config "peel\.yaml:\d+": field "basket\.functions\.network\.ip_addrs": expected a list of arguments or a map of keyword arguments, got number 5/,
    ],
    [
      "  functions: {ips: {mine_function: Not-A-Function}}\n",
      /field "basket\.functions\.ips\.mine_function": expected a function name such as network\.ip_addrs/,
    ],
    [
      "  functions: {my alias: []}\n",
      /field "basket\.functions\.my alias": expected a function name such as network\.ip_addrs \(or an alias with mine_function: naming one\), got "my alias"/,
    ],
    [
      "  functions: {test.ping: {allow_tgt: 'web*'}}\n",
      /field "basket\.functions\.test\.ping\.allow_tgt": expected no such key/,
    ],
    ["  functions: {mine.update: []}\n", /expected a function other than mine\.\* and basket\.\*/],
    [
      "  interval: soon\n",
      /field "basket\.interval": expected minutes, or a duration such as 30s or 5m, got "soon"/,
    ],
    ["  interval: 0\n", /field "basket\.interval": expected at least one second, got number 0/],
    ["  every: 5\n", /field "basket\.every": expected no such key/],
  ];
  for (const [yaml, re] of bad) {
    assert.throws(() => peel(yaml), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, re);
      assert.equal(e.file, "peel.yaml");
      assert.match(e.field ?? "", /^basket\./);
      return true;
    });
  }
});

Deno.test("config - durations", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.equal(parseDuration("45"), 45_000);
  assert.equal(parseDuration(1.5), 1500);
  assert.throws(() => parseDuration("5 minutes"), /Cannot parse duration "5 minutes"/);
  assert.throws(() => parseDuration(""), /Cannot parse duration ""/);
  assert.equal(formatDuration(850), "850ms");
  assert.equal(formatDuration(999.996), "1s");
  assert.equal(formatDuration(1500), "1.5s");
  assert.equal(formatDuration(59_999), "1m");
  assert.equal(formatDuration(119_700), "2m");
  assert.equal(formatDuration(125_000), "2m5s");
});

Deno.test("config - CLI config shape", () => {
  const cfg = parseConfig(
    "master:\n  urls: [nats://10.0.0.1:4222]\n  creds_file: ~/.zester/admin.creds\n",
    "config.yaml",
    CliConfig,
  );
  assert.deepEqual(cfg.master.urls, ["nats://10.0.0.1:4222"]);
  assert.throws(() => parseConfig("masters: {}\n", "config.yaml", CliConfig), /field "masters"/);
});

Deno.test("config - peel permission flags grant only what the config names", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/peel.yaml`;
  const cfg = parseConfig(
    `id: web-01\nnats_url: nats://127.0.0.1:4999\ndata_dir: ${dir.path}/data\nbroker: {launcher: /opt/zb}\n`,
    path,
    PeelConfig,
  );
  const flags = peelPermissionFlags(cfg, path);
  assert.ok(flags.includes("--allow-net=127.0.0.1:4999,127.0.0.1:9090"), "NATS and health_addr");
  assert.ok(flags.includes(`--allow-write=${dir.path}/data`));
  assert.ok(flags.includes("--allow-run=/opt/zb"));
  assert.ok(
    !flags.some((f) =>
      f === "-A" || f === "--allow-all" || /^--allow-(run|write|read|net)$/.test(f)
    ),
  );
  assert.ok(
    flags.includes("--allow-env=LOG_TOKENS,LOG_STREAM"),
    "only npm:yaml's two debug switches",
  );
  assert.ok(!flags.some((f) => f.startsWith("--allow-ffi")));
});

Deno.test("config - the shipped example peel.yaml is valid and denies shell commands", async () => {
  const path = new URL("../../deploy/config/peel.yaml", import.meta.url).pathname;
  const cfg = await loadConfig(path, PeelConfig);
  assert.equal(cfg.broker.cmd_run, "deny");
  assert.ok(cfg.broker.exec.every((e) => e.args !== "any"), "every exec entry has argument rules");
  assert.deepEqual(cfg.broker.exec, [
    { path: "/usr/sbin/nginx", args: [["-t"], ["-s", "reload"]] },
  ]);
  assert.deepEqual(cfg.broker.packages, ["apt"]);
  assert.deepEqual(cfg.broker.services, ["nginx.service", "php*-fpm.service"]);
});

Deno.test("config - the default broker policy denies everything", () => {
  const cfg = parseConfig("id: a\nnats_url: nats://127.0.0.1:4222\n", "peel.yaml", PeelConfig);
  assert.deepEqual(
    [
      cfg.broker.read_paths,
      cfg.broker.write_paths,
      cfg.broker.exec,
      cfg.broker.cmd_run,
      cfg.broker.run_as,
    ],
    [[], [], [], "deny", []],
  );
  assert.throws(
    () =>
      parseConfig(
        "id: a\nnats_url: nats://127.0.0.1:4222\nbroker: {write_paths: [etc]}\n",
        "peel.yaml",
        PeelConfig,
      ),
    /field "broker.write_paths\[0\]": expected an absolute path/,
  );
});

Deno.test("config - broker exec entries: a bare path means no arguments; bad entries name the field", () => {
  const broker = (yaml: string) =>
    parseConfig(
      `id: a\nnats_url: nats://127.0.0.1:4222\nbroker: ${yaml}\n`,
      "peel.yaml",
      PeelConfig,
    );
  assert.deepEqual(
    broker(
      `{exec: [/usr/bin/true, {path: /usr/bin/id, args: [["-u"]]}, {path: /bin/x, args: any}]}`,
    )
      .broker.exec,
    [
      { path: "/usr/bin/true", args: [[]] },
      { path: "/usr/bin/id", args: [["-u"]] },
      { path: "/bin/x", args: "any" },
    ],
  );
  assert.throws(
    () => broker("{exec: [true]}"),
    /field "broker.exec\[0\]": expected an absolute path/,
  );
  assert.throws(
    () => broker("{exec: [{path: /usr/bin/id, args: all}]}"),
    /field "broker.exec\[0\].args": expected one of "any"/,
  );
  assert.throws(
    () => broker("{exec: [{path: /usr/bin/id, args: [[-u, 3]]}]}"),
    /field "broker.exec\[0\].args\[0\]\[1\]": expected a string/,
  );
  assert.throws(
    () => broker("{exec: [{path: /usr/bin/id, argv: [[]]}]}"),
    /field "broker.exec\[0\].argv": expected no such key/,
  );
  assert.throws(
    () => broker("{services: [-nginx]}"),
    /field "broker.services\[0\]": expected a unit name or glob/,
  );
});

Deno.test("config - deno.json tasks that match targets run with V8_FLAGS, the daemons with DAEMON_V8_FLAGS", async () => {
  const denoJson = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  const engine = V8_FLAGS.slice("--v8-flags=".length);
  for (const task of ["master", "peel", "zester", "test", "bench"]) {
    const flags = denoJson.tasks[task]?.match(/--v8-flags=(\S+)/)?.[1]?.split(",") ?? [];
    assert.ok(flags.includes(engine), `task "${task}" lacks ${engine}`);
  }
  for (const task of ["master", "peel"]) {
    assert.match(denoJson.tasks[task]!, new RegExp(` ${DAEMON_V8_FLAGS} `), `task "${task}"`);
  }
  const env = Object.entries(MASTER_ENV).map(([k, v]) => `${k}=${v} `).join("");
  assert.ok(denoJson.tasks.master!.startsWith(`${env}deno run `), "task master sets MASTER_ENV");
});

Deno.test("config - enrollment: the master's listener and keys and the peel's master_url are granted; bad ones name the field", () => {
  const enrollment = {
    addr: "0.0.0.0:8443",
    tls_cert: "/etc/zester/tls/enroll.pem",
    tls_key: "/etc/zester/tls/enroll.key",
    account_signing_key: "/etc/zester/keys/account-signing.nk",
    operator_signing_key: "/etc/zester/keys/operator-signing.nk",
    system_creds: "/etc/zester/creds/sys.creds",
  };
  const master = MasterConfig.parse({ nats_url: "tls://nats:4222", enroll: enrollment });
  assert.equal(master.enroll?.policy, "manual");
  const flags = masterPermissionFlags(master, "/etc/zester/master.yaml");
  assert.ok(flags.includes("--allow-net=nats:4222,127.0.0.1:9091,0.0.0.0:8443"), flags.join(" "));
  const read = flags.find((f) => f.startsWith("--allow-read="))!;
  for (const f of Object.values(enrollment).filter((v) => v.startsWith("/"))) {
    assert.ok(read.includes(f), f);
  }
  assert.throws(
    () =>
      MasterConfig.parse({
        nats_url: "tls://nats:4222",
        enroll: { ...enrollment, policy: "auto-trusted" },
      }),
    /enroll\.bootstrap_token_file/,
  );
  assert.throws(
    () =>
      MasterConfig.parse({
        nats_url: "tls://nats:4222",
        enroll: { ...enrollment, addr: "8443" },
      }),
    /enroll\.addr.*host:port/,
  );

  const peel = PeelConfig.parse({
    id: "web-01",
    nats_url: "tls://nats:4222",
    nats_ca: "/etc/zester/ca.pem",
    master_url: "https://master.example.com:8443",
    enroll_token_file: "/etc/zester/enroll.token",
  });
  const pf = peelPermissionFlags(peel, "/etc/zester/peel.yaml");
  assert.ok(
    pf.includes("--allow-net=nats:4222,127.0.0.1:9090,master.example.com:8443"),
    pf.join(" "),
  );
  assert.ok(
    pf.some((f) => f.startsWith("--allow-read=") && f.includes("/etc/zester/enroll.token")),
  );
  assert.throws(
    () => PeelConfig.parse({ id: "w", nats_url: "tls://n:4222", master_url: "https://m:8443" }),
    /nats_ca/,
  );
  assert.throws(
    () =>
      PeelConfig.parse({
        id: "w",
        nats_url: "tls://n:4222",
        nats_ca: "/ca",
        master_url: "http://m:8443",
      }),
    /master_url.*https/,
  );
});
