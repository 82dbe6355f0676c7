/**
 * A formula written the way Salt formulas are written (map.jinja over defaults and per-OS
 * parameters, a files-switch macro, Salt's state arguments, pillar with Jinja, Salt's grain names),
 * applied unchanged with `zester call --local` through a real broker.
 */
import assert from "node:assert/strict";
import { runCall, tempDir, writeYaml } from "../harness/mod.ts";

/** The formula `web`, writing under `root`. */
function formula(root: string): Record<string, string> {
  return {
    "web/defaults.yaml": `web:
  conf_dir: ${root}/etc/web
  user: www
  listen: [80]
`,
    "web/parameters/os_family/Debian.yaml": "user: www-data\npkg: nginx-light\n",
    "web/map.jinja": `{#- The formula root from the SLS that imports this map #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- import_yaml tplroot ~ '/defaults.yaml' as defaults %}
{%- import_yaml tplroot ~ '/parameters/os_family/' ~ grains['os_family'] ~ '.yaml' as per_os %}
{%- set web = salt['slsutil.merge'](defaults.web, per_os, strategy='recurse') %}
{%- set web = salt['slsutil.merge'](web, salt['pillar.get']('web:lookup', {})) %}
{%- do web.update({'workers': salt['config.get']('web:workers', grains.num_cpus * 2)}) %}
`,
    "web/macros.jinja": `{%- macro sources(name) %}
{%-   for dir in [grains['id'], grains['osfinger'], grains['os_family'], 'default'] %}
- salt://{{ tpldir.split('/')[0] }}/files/{{ dir }}/{{ name }}
{%-   endfor %}
{%- endmacro %}
`,
    "web/files/default/web.conf.jinja": `# {{ grains['osfinger'] }}
listen {{ web.listen | join(' ') }};
user {{ web.user }}; workers {{ web.workers }}; backlog {{ backlog }};
{%- for name, site in sites | dictsort %}
site {{ name }} {{ '%s:%d' % (site.host, site.port) }}{{ ' tls' if site.tls }};
{%- endfor %}
`,
    "web/init.sls": "include:\n  - .config\n  - .extras\n",
    "web/config.sls": `{%- from tpldir ~ "/map.jinja" import web with context %}
{%- from tpldir ~ "/macros.jinja" import sources with context %}

web-config-dir:
  file.directory:
    - name: {{ web.conf_dir }}
    - makedirs: True

web-config-file:
  file.managed:
    - name: {{ web.conf_dir }}/web.conf
    - source: {{ sources('web.conf.jinja') | indent(6) }}
    - template: jinja
    - defaults:
        backlog: 128
        sites: {}
    - context:
        web: {{ web | json }}
        sites: {{ salt['pillar.get']('web:sites', {}) | yaml }}
    - mode: 644
    - require:
      - file: web-config-dir

web-reload:
  cmd.run:
    - name: echo reloaded >> {{ web.conf_dir }}/reloads
    - onchanges:
      - file: web-config-file
`,
    "web/extras.sls": `{%- from tpldir ~ "/map.jinja" import web with context %}
include:
  - web.config

web-motd:
  file.managed:
    - name: {{ web.conf_dir }}/motd
    - contents_pillar: web:motd
    - require:
      - file: web-config-dir

web-local:
  file.managed:
    - name: {{ web.conf_dir }}/local.conf
    - contents: |
        managed by the formula
    - replace: False

web-notes:
  file.managed:
    - names:
      - {{ web.conf_dir }}/notes:
        - contents:
          - line one
          - line two
      - {{ web.conf_dir }}/skipped:
        - contents: never
        - unless:
          - fun: file.file_exists
            path: {{ web.conf_dir }}/local.conf
    - contnets: a typo

extend:
  web-config-file:
    file:
      - require:
        - file: web-motd
`,
  };
}

const SETTINGS = `web:
  motd: "Welcome to {{ grains['id'] }}, a {{ grains['os'] }} {{ grains['osmajorrelease'] }} host"
  lookup:
    user: www-{{ grains.os_family | lower }}
  sites:
    shop: {host: shop.example.com, port: 8443,
      tls: yes}
    blog: {host: blog.example.com, port: 8080, tls: no}
`;

async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${path.replace(/\/[^/]*$/, "")}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
}

Deno.test("formula - a Salt-style formula applies unchanged with call --local", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const root = `${d}/root`;
  await Deno.mkdir(root);
  await writeTree(`${d}/tree`, formula(root));
  await Deno.writeTextFile(`${d}/pillar.sls`, SETTINGS);
  await writeYaml(`${d}/grains.yaml`, {
    id: "web-01",
    os: "Debian",
    os_family: "Debian",
    osfinger: "Debian-12",
    osmajorrelease: 12,
    num_cpus: 2,
  });
  await writeYaml(`${d}/policy.yaml`, {
    id: "local",
    broker: { audit_log: `${d}/audit.log`, write_paths: [root], cmd_run: "allow" },
  });
  await Deno.mkdir(`${root}/etc/web`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/web/local.conf`, "edited by hand\n");
  const args = (fun: string, ...more: string[]) => [
    fun,
    "web",
    "--file-root",
    `${d}/tree`,
    "--facts",
    `${d}/grains.yaml`,
    "--settings-root",
    `${d}/pillar.sls`,
    "--policy",
    `${d}/policy.yaml`,
    "--format",
    "json",
    ...more,
  ];

  const shown = await runCall(args("state.show_sls"));
  assert.equal(shown.code, 0, shown.stderr);
  const chunks = JSON.parse(shown.stdout) as {
    id: string;
    name: string;
    args: Record<string, unknown>;
  }[];
  const conf = chunks.find((c) => c.id === "web-config-file")!;
  assert.deepEqual(conf.args.source, [
    "salt://web/files/web-01/web.conf.jinja",
    "salt://web/files/Debian-12/web.conf.jinja",
    "salt://web/files/Debian/web.conf.jinja",
    "salt://web/files/default/web.conf.jinja",
  ]);
  assert.deepEqual(conf.args.context, {
    web: {
      conf_dir: `${root}/etc/web`,
      user: "www-debian",
      listen: [80],
      pkg: "nginx-light",
      workers: 4,
    },
    sites: {
      blog: { host: "blog.example.com", port: 8080, tls: false },
      shop: { host: "shop.example.com", port: 8443, tls: true },
    },
  });
  assert.equal(conf.args.mode, 644, "mode: 644 read as Salt reads it");

  const dry = await runCall(args("state.apply", "--test"));
  assert.equal(dry.code, 0, dry.stderr + dry.stdout);
  await assert.rejects(Deno.stat(`${root}/etc/web/web.conf`), Deno.errors.NotFound);

  const applied = await runCall(args("state.apply"));
  assert.equal(applied.code, 0, applied.stderr + applied.stdout);
  const states = JSON.parse(applied.stdout).local.states as {
    id: string;
    name: string;
    result: boolean;
    comment: string;
    changes: Record<string, unknown>;
  }[];
  const by = (name: string) => states.find((s) => s.name === name)!;
  assert.equal(
    await Deno.readTextFile(`${root}/etc/web/web.conf`),
    "# Debian-12\nlisten 80;\nuser www-debian; workers 4; backlog 128;\n" +
      "site blog blog.example.com:8080;\nsite shop shop.example.com:8443 tls;\n",
  );
  assert.equal((await Deno.stat(`${root}/etc/web/web.conf`)).mode! & 0o777, 0o644);
  assert.equal(
    await Deno.readTextFile(`${root}/etc/web/motd`),
    "Welcome to web-01, a Debian 12 host\n",
  );
  assert.equal(await Deno.readTextFile(`${root}/etc/web/local.conf`), "edited by hand\n");
  assert.equal(await Deno.readTextFile(`${root}/etc/web/notes`), "line one\nline two\n");
  assert.match(
    by(`${root}/etc/web/notes`).comment,
    /'contnets' is an invalid keyword argument for 'file\.managed'/,
  );
  assert.match(by(`${root}/etc/web/skipped`).comment, /^Skipped: unless condition is true/);
  await assert.rejects(Deno.stat(`${root}/etc/web/skipped`), Deno.errors.NotFound);
  assert.equal(await Deno.readTextFile(`${root}/etc/web/reloads`), "reloaded\n");
  const order = states.map((s) => s.id);
  assert.ok(order.indexOf("web-motd") < order.indexOf("web-config-file"), "extend added require");

  const again = await runCall(args("state.apply"));
  assert.equal(JSON.parse(again.stdout).local.summary.changed, 0, "a second run changes nothing");
});

Deno.test("formula - errors name the file and line through imports; facts are this machine's", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await writeTree(`${d}/tree`, {
    "broken/map.jinja":
      "{%- set base = {'a': 1} %}\n{%- set m = base['a'] ~ salt['no.such']() %}\n",
    "broken/init.sls": "{%- from 'broken/map.jinja' import m with context %}\nx:\n  test.nop: []\n",
    "badyaml/defaults.yaml": "a: 1\na: 2\n",
    "badyaml/init.sls": "{% import_yaml 'badyaml/defaults.yaml' as d %}\n",
    "unclosed/init.sls": "x:\n  test.nop: []\n{% if grains.os %}\ny: 1\n",
    "facts/init.sls": `machine:
  test.configurable_test_state:
    - comment: "{{ grains.kernel }}|{{ grains.num_cpus > 0 }}|{{ grains.os_family != '' }}|{{ grains.id }}"
`,
  });
  await writeYaml(`${d}/policy.yaml`, { id: "local", broker: { audit_log: `${d}/audit.log` } });
  const show = (ref: string) =>
    runCall([
      "state.show_sls",
      ref,
      "--file-root",
      `${d}/tree`,
      "--policy",
      `${d}/policy.yaml`,
      "--format",
      "json",
    ]);
  const broken = await show("broken");
  assert.equal(broken.code, 2);
  assert.match(
    broken.stderr,
    /Cannot render "broken\/map\.jinja:2": Salt function "no\.such" is not available in templates/,
  );
  assert.match(
    (await show("badyaml")).stderr,
    /"badyaml\/defaults\.yaml:2": .*found conflicting ID 'a'/,
  );
  assert.match((await show("unclosed")).stderr, /Cannot render "unclosed\/init\.sls:4": .*endif/);
  const facts = await show("facts");
  assert.equal(facts.code, 0, facts.stderr);
  assert.equal(JSON.parse(facts.stdout)[0].args.comment, "Linux|True|True|local");
});
