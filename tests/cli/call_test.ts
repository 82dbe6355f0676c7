/** `zester call --local`: the whole state pipeline against a temp root, through a real broker. */
import assert from "node:assert/strict";
import { CliConfig, cliPermissionFlags } from "../../lib/config/mod.ts";
import { runCall, runZester, tempDir, writeDevLauncher, writeYaml } from "../harness/mod.ts";

function call(args: string[]) {
  return runCall(args);
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      const st = await Deno.lstat(p);
      out[p] = `${st.mode?.toString(8)} ${
        e.isFile ? await Deno.readTextFile(p) : e.isDirectory ? "dir" : "link"
      }`;
      if (e.isDirectory) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

Deno.test("call --local - apply, idempotent second run, dry run changes nothing, errors", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const root = `${d}/root`;
  await Deno.mkdir(`${d}/tree/app`, { recursive: true });
  await Deno.mkdir(root);
  await Deno.writeTextFile(
    `${d}/tree/app/init.zy`,
    `{% from "app/map.jinja" import app with context %}
include:
  - .files
${root}/etc:
  file.directory:
    - mode: 0755
conf:
  file.managed:
    - name: ${root}/etc/app.conf
    - source: salt://app/app.conf.j2
    - template: jinja
    - mode: "0640"
    - require:
      - file: ${root}/etc
restart:
  cmd.run:
    - name: echo restarted >> ${root}/restarts
    - onchanges:
      - file: conf
`,
  );
  await Deno.writeTextFile(
    `${d}/tree/app/map.jinja`,
    `{% set defaults = {'port': 80, 'user': 'www'} %}
{% set app = defaults %}
{% do app.update({'port': salt['pillar.get']('app:port', 80)}) if false %}
`,
  );
  await Deno.writeTextFile(
    `${d}/tree/app/files.zy`,
    `${root}/old:\n  file.absent: []\n${root}/flag:\n  file.touch: []\n`,
  );
  await Deno.writeTextFile(
    `${d}/tree/app/app.conf.j2`,
    "port={{ pillar['app']['port'] }}\nos={{ grains['os_family'] }}\n",
  );
  await Deno.writeTextFile(`${root}/old`, "remove me");
  await writeYaml(`${d}/facts.yaml`, { os: { family: "debian" } });
  await writeYaml(`${d}/settings.yaml`, { app: { port: 8080 } });
  await writeYaml(`${d}/policy.yaml`, {
    id: "local",
    broker: { audit_log: `${d}/audit.log`, write_paths: [root], cmd_run: "allow" },
  });
  const base = [
    "state.apply",
    "app",
    "--file-root",
    `${d}/tree`,
    "--facts",
    `${d}/facts.yaml`,
    "--settings-root",
    `${d}/settings.yaml`,
    "--policy",
    `${d}/policy.yaml`,
  ];

  // Dry run first: nothing on disk changes, byte for byte.
  const before = await snapshot(root);
  const dry = await call([...base, "--test", "--format", "json"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(await snapshot(root), before);
  const dryStates = JSON.parse(dry.stdout).local.states;
  assert.equal(dryStates.find((s: { id: string }) => s.id === "conf").result, null);

  const first = await call([...base, "--format", "json"]);
  assert.equal(first.code, 0, first.stderr);
  const run = JSON.parse(first.stdout).local;
  assert.deepEqual(Object.keys(run.states[0]).sort(), [
    "changes",
    "comment",
    "duration_ms",
    "function",
    "id",
    "name",
    "result",
    "run_num",
  ]);
  assert.deepEqual(run.states.map((s: { run_num: number }) => s.run_num), [0, 1, 2, 3, 4]);
  assert.equal(run.summary.failed, 0);
  assert.equal(await Deno.readTextFile(`${root}/etc/app.conf`), "port=8080\nos=Debian\n");
  assert.equal((await Deno.stat(`${root}/etc/app.conf`)).mode! & 0o777, 0o640);
  assert.equal(await Deno.readTextFile(`${root}/restarts`), "restarted\n");
  await assert.rejects(Deno.stat(`${root}/old`), Deno.errors.NotFound);

  const second = await call([...base, "--format", "json"]);
  const again = JSON.parse(second.stdout).local;
  assert.equal(again.summary.changed, 0, "a second apply changes nothing");
  assert.equal(
    await Deno.readTextFile(`${root}/restarts`),
    "restarted\n",
    "onchanges did not fire",
  );

  const text = await call(base);
  assert.match(text.stdout, /^local:\n----------\n {4}ID: /);
  assert.match(text.stdout, /Summary\n-------------\nSucceeded: 5 \(changed=0\)\nFailed: 0/);
});

Deno.test("call --local - template, YAML and policy errors", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/tree`);
  await writeYaml(`${d}/policy.yaml`, {
    id: "local",
    broker: { audit_log: `${d}/audit.log`, write_paths: [`${d}/ok`] },
  });
  const base = (
    ref: string,
  ) => ["state.apply", ref, "--file-root", `${d}/tree`, "--policy", `${d}/policy.yaml`];
  await Deno.writeTextFile(`${d}/tree/badtpl.zy`, "a:\n  test.nop: []\n{{ foo( }}\n");
  const tpl = await call(base("badtpl"));
  assert.equal(tpl.code, 2);
  assert.match(tpl.stderr, /Cannot render "badtpl\.zy:3"/);
  await Deno.writeTextFile(`${d}/tree/badyaml.zy`, "a:\n  test.nop: []\n b: [\n");
  const yml = await call(base("badyaml"));
  assert.equal(yml.code, 2);
  assert.match(yml.stderr, /Cannot parse YAML: .*\(badyaml\.zy:\d+\)/);
  await Deno.writeTextFile(
    `${d}/tree/denied.zy`,
    `${d}/elsewhere:\n  file.managed:\n    - content: x\n`,
  );
  const denied = await call([...base("denied"), "--format", "json"]);
  assert.equal(denied.code, 1);
  const s = JSON.parse(denied.stdout).local.states[0];
  assert.equal(s.result, false);
  assert.match(s.comment, /Denied by policy/);
  await assert.rejects(Deno.stat(`${d}/elsewhere`), Deno.errors.NotFound);
  const missing = await call(base("nope"));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /No SLS "nope" in the state tree/);
});

Deno.test("call --local - a formula-shaped tree: map.jinja, import with context, filter_by, pillar", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const root = `${d}/root`;
  await Deno.mkdir(`${d}/tree/nginx`, { recursive: true });
  await Deno.mkdir(root);
  await Deno.writeTextFile(
    `${d}/tree/nginx/map.jinja`,
    `{% set os_map = salt['grains.filter_by']({
    'Debian': {'conf_dir': '${root}/debian', 'user': 'www-data'},
    'RedHat': {'conf_dir': '${root}/redhat', 'user': 'nginx'},
  }, grain='os_family', merge=salt['pillar.get']('nginx:lookup')) %}
{% set nginx = os_map %}
{% do nginx.update({'workers': salt['pillar.get']('nginx:workers', 1)}) %}
`,
  );
  await Deno.writeTextFile(
    `${d}/tree/nginx/init.zy`,
    `{% from "nginx/map.jinja" import nginx with context %}
{% set sites = salt['pillar.get']('nginx:sites', {}) %}
nginx_conf_dir:
  file.directory:
    - name: {{ nginx.conf_dir }}
    - makedirs: True
{% for site, cfg in sites.items() %}
site_{{ site }}:
  file.managed:
    - name: {{ nginx.conf_dir }}/{{ site }}.conf
    - contents_pillar: ignored
    - content: "server_name {{ cfg.host }}; user {{ nginx.user }}; workers {{ nginx.workers }}; {{ 'TLS' if cfg.tls is sameas true else 'plain' }}"
    - require:
      - file: nginx_conf_dir
{% endfor %}
`,
  );
  await writeYaml(`${d}/facts.yaml`, { os: { family: "debian", name: "Debian" } });
  await writeYaml(`${d}/settings.yaml`, {
    nginx: {
      workers: 4,
      lookup: { user: "nginx-custom" },
      sites: {
        shop: { host: "shop.example.com", tls: true },
        blog: { host: "blog.example.com", tls: false },
      },
    },
  });
  await writeYaml(`${d}/policy.yaml`, {
    id: "local",
    broker: { audit_log: `${d}/audit.log`, write_paths: [root] },
  });
  const r = await call([
    "state.apply",
    "nginx",
    "--file-root",
    `${d}/tree`,
    "--facts",
    `${d}/facts.yaml`,
    "--settings-root",
    `${d}/settings.yaml`,
    "--policy",
    `${d}/policy.yaml`,
    "--format",
    "json",
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const states = JSON.parse(r.stdout).local.states;
  assert.deepEqual(states.map((s: { id: string }) => s.id), [
    "nginx_conf_dir",
    "site_shop",
    "site_blog",
  ]);
  assert.equal(
    await Deno.readTextFile(`${root}/debian/shop.conf`),
    "server_name shop.example.com; user nginx-custom; workers 4; TLS\n",
  );
  assert.equal(
    await Deno.readTextFile(`${root}/debian/blog.conf`),
    "server_name blog.example.com; user nginx-custom; workers 4; plain\n",
  );
});

Deno.test("call --local - highstate from the top file, matched against local facts", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/tree`);
  await Deno.mkdir(`${d}/root`);
  await Deno.writeTextFile(
    `${d}/tree/top.zy`,
    "base:\n  '*':\n    - common\n  'G@role:db':\n    - match: compound\n    - db\n  'G@role:web':\n    - web\n",
  );
  for (const name of ["common", "db", "web"]) {
    await Deno.writeTextFile(
      `${d}/tree/${name}.zy`,
      `${name}:\n  file.touch:\n    - name: ${d}/root/${name}\n`,
    );
  }
  await writeYaml(`${d}/facts.yaml`, { role: "db" });
  await writeYaml(`${d}/policy.yaml`, {
    id: "local",
    broker: { audit_log: `${d}/audit.log`, write_paths: [`${d}/root`] },
  });
  const args = [
    "--file-root",
    `${d}/tree`,
    "--facts",
    `${d}/facts.yaml`,
    "--policy",
    `${d}/policy.yaml`,
    "--format",
    "json",
  ];
  const r = await call(["state.highstate", ...args]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.deepEqual(JSON.parse(r.stdout).local.states.map((s: { id: string }) => s.id), [
    "common",
    "db",
  ]);
  assert.deepEqual([...Deno.readDirSync(`${d}/root`)].map((e) => e.name).sort(), ["common", "db"]);
  const none = await call([
    "state.highstate",
    "--file-root",
    `${d}/root`,
    "--policy",
    `${d}/policy.yaml`,
  ]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /No top\.zy or top\.sls in the state tree/);
});

Deno.test("call --local - with no policy file every privileged operation is denied, test states run", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/tree`);
  await Deno.writeTextFile(
    `${d}/tree/app.zy`,
    `hello:\n  test.succeed_with_changes: []\n${d}/x:\n  file.touch: []\n`,
  );
  const args = ["state.apply", "app", "--file-root", `${d}/tree`, "--format", "json"];
  const r = await call([...args, "--policy", `${d}/missing.yaml`]);
  assert.equal(r.code, 1, r.stderr);
  const states = JSON.parse(r.stdout).local.states;
  assert.equal(states[0].result, true);
  assert.equal(states[1].result, false);
  assert.match(states[1].comment, /Denied: no usable policy/);
  await assert.rejects(Deno.stat(`${d}/x`), Deno.errors.NotFound);
});

Deno.test("call --local - a broker that enforces another policy than --policy names refuses", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/tree`);
  await Deno.writeTextFile(`${d}/tree/app.zy`, `${d}/x:\n  file.touch: []\n`);
  for (const name of ["installed", "asked"]) {
    await writeYaml(`${d}/${name}.yaml`, {
      id: "local",
      broker: { audit_log: `${d}/${name}.log`, write_paths: [d] },
    });
  }
  const launcher = await writeDevLauncher(`${d}/zester-broker`, `${d}/installed.yaml`);
  const r = await runZester(cliPermissionFlags(CliConfig.parse({}), launcher), [
    "call",
    "--local",
    "--launcher",
    launcher,
    "state.apply",
    "app",
    "--file-root",
    `${d}/tree`,
    "--policy",
    `${d}/asked.yaml`,
    "--format",
    "json",
  ]);
  assert.equal(r.code, 1, r.stderr);
  const [state] = JSON.parse(r.stdout).local.states;
  assert.match(state.comment, /enforces ".*installed\.yaml".*not ".*asked\.yaml"/);
  await assert.rejects(Deno.stat(`${d}/x`), Deno.errors.NotFound);
});

Deno.test("call --local - mine.get and basket() return {} with a warning, without NATS", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/tree`);
  await Deno.writeTextFile(
    `${d}/tree/peers.zy`,
    `peers:
  test.succeed_without_changes:
    - name: "{{ salt['mine.get']('*', 'network.ip_addrs') | json }} {{ basket('web*', 'x') | json }}"
`,
  );
  const r = await call([
    "state.show_sls",
    "peers",
    "--file-root",
    `${d}/tree`,
    "--policy",
    `${d}/missing.yaml`,
    "--format",
    "json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout)[0].name, "{} {}");
  assert.match(
    r.stderr,
    /warning: the basket is not available with call --local; mine.get\("\*", "network.ip_addrs"\) returns \{\}/,
  );
});

Deno.test("call --local - a settings tree with its top file, Jinja in it, inline pillar= over it", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/tree`, { recursive: true });
  await Deno.mkdir(`${d}/settings/apps`, { recursive: true });
  await Deno.writeTextFile(
    `${d}/tree/show.zy`,
    "show:\n  test.succeed_without_changes:\n    - name: \"{{ salt['pillar.get']('app:port') }} {{ pillar.app.family }} {{ pillar.other | default('none') }}\"\n",
  );
  await Deno.writeTextFile(
    `${d}/settings/top.sls`,
    "base:\n  '*':\n    - apps\n  'os:family:redhat':\n    - match: grain\n    - other\n",
  );
  await Deno.writeTextFile(
    `${d}/settings/apps/init.sls`,
    "include:\n  - .port\napp:\n  family: {{ grains['os_family'] }}\n",
  );
  await Deno.writeTextFile(`${d}/settings/apps/port.sls`, "app:\n  port: 8080\n");
  await Deno.writeTextFile(`${d}/settings/other.sls`, "other: yes\n");
  await writeYaml(`${d}/facts.yaml`, { os: { family: "debian" }, os_family: "Debian" });
  const base = [
    "state.apply",
    "show",
    "--file-root",
    `${d}/tree`,
    "--facts",
    `${d}/facts.yaml`,
    "--settings-root",
    `${d}/settings`,
    "--policy",
    `${d}/missing-policy.yaml`,
    "--format",
    "json",
  ];
  const name = async (...more: string[]) => {
    const r = await call([...base, ...more]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return JSON.parse(r.stdout).local.states[0].name;
  };
  assert.equal(await name(), "8080 Debian none");
  assert.equal(await name(`pillar={"app": {"port": 7777}}`), "7777 Debian none");

  await Deno.writeTextFile(`${d}/settings/apps/port.sls`, "app:\n  port: {% if %}\n");
  const bad = await call(base);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Cannot compile settings "apps\/port\.sls:2": /);
});
