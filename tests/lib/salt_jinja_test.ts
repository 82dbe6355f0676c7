/**
 * Jinja as Salt renders it, written the way Salt formulas write it: Python printing and
 * operators, `namespace`, `loop`, Salt's tags, filters, tests and template functions, the
 * template context, and errors that name the file and line.
 */
import assert from "node:assert/strict";
import {
  type TemplateContext,
  TemplateError,
  type TemplateHost,
  TemplateRenderer,
} from "../../lib/template/mod.ts";

const files = new Map([
  [
    "web/map.jinja",
    `{%- import_yaml tpldir ~ "/defaults.yaml" as defaults %}
{%- set os_map = salt['grains.filter_by']({
    'Debian': {'pkg': 'nginx-full'},
    'RedHat': {'pkg': 'nginx'},
  }, merge=salt['pillar.get']('web:lookup')) %}
{%- set web = salt['slsutil.merge'](defaults.web, os_map) %}
`,
  ],
  ["web/defaults.yaml", "web:\n  port: {{ 40 * 2 }}\n  mode: 0644\n  enabled: yes\n"],
  ["users/defaults.yaml", "shell: /bin/bash\nhome: {base: /home}\n"],
  ["web/catalog.sls", "{% load_yaml as sites %}\n- a\n- b\n{% endload %}"],
  ["web/broken.yaml", "a: 1\nb: [1,\n c: }\n"],
  ["web/broken.jinja", "{% macro m() %}\n{{ 1 + }}\n{% endmacro %}"],
  ["web/fails.jinja", "{% macro m() %}\nok\n{{ salt['no.such']() }}\n{% endmacro %}"],
  ["web/unclosed.jinja", "{% if True %}\nyes\n"],
]);

/** A host that records what it was asked. */
function recordingHost(calls: string[]): TemplateHost {
  return {
    run: (cmd, opts) => {
      calls.push(`run ${cmd} ${JSON.stringify(opts)}`);
      return Promise.resolve({
        retcode: cmd === "false" ? 1 : 0,
        stdout: `out:${cmd}\n`,
        stderr: "",
      });
    },
    stat: (path) => {
      calls.push(`stat ${path}`);
      return Promise.resolve(
        path === "/etc/web.conf"
          ? { exists: true, type: "file" }
          : path === "/usr/bin/nginx"
          ? { exists: true, type: "file" }
          : path === "/srv"
          ? { exists: true, type: "directory" }
          : { exists: false },
      );
    },
    read: (path) => {
      calls.push(`read ${path}`);
      return Promise.resolve("listen 80\nserver_name web\n");
    },
  };
}

const calls: string[] = [];
const renderer = new TemplateRenderer(() => files, { host: recordingHost(calls) });
const ctx: TemplateContext = {
  peelId: "web-01",
  facts: {
    id: "web-01",
    os: {
      name: "Debian",
      full_name: "Debian GNU/Linux",
      family: "debian",
      platform: "debian",
      platform_version: "12",
      codename: "bookworm",
      arch: "x86_64",
      init: "systemd",
    },
    kernel: { name: "Linux", release: "6.1.0-18-amd64" },
    hostname: "web-01",
    fqdn: "web-01.example.net",
    network: {
      interfaces: {
        lo: { ipv4: ["127.0.0.1"], ipv6: ["::1"], mac: "00:00:00:00:00:00" },
        eth0: { ipv4: ["10.0.0.5"], ipv6: ["fe80::1"], mac: "52:54:00:12:34:56" },
      },
      ipv4: ["127.0.0.1", "10.0.0.5"],
      ipv6: ["::1", "fe80::1"],
      fqdn_ip4: ["10.0.0.5"],
    },
    cpu: { count: 4, model: "QEMU" },
    memory: { total: 4 * 1024 ** 3 },
    role: "web",
  },
  settings: { web: { lookup: { pkg: "nginx-light" }, port: 8080 }, users: { ann: { uid: 1001 } } },
  opts: { __cli: "salt-call", file_client: "local" },
  sls: "web.config",
};
const r = (t: string, file = "web/config.sls") => renderer.render(t, file, ctx);

Deno.test("salt jinja - Python printing, operators and truth", async () => {
  assert.equal(await r("{{ [3, 1, 2] | sort | list }}"), "[1, 2, 3]");
  assert.equal(
    await r("{{ {'a': 'x', 'b': [True, None, 1.5]} }}"),
    "{'a': 'x', 'b': [True, None, 1.5]}",
  );
  assert.equal(
    await r("{{ ('a', 1) }} {{ (1, 2) | list }} {{ \"it's\" | pprint }}"),
    "('a', 1) [1, 2] \"it's\"",
  );
  assert.equal(
    await r("{{ '%s-%s' % ('a', 'b') }} {{ '%(x)03d' % {'x': 7} }} {{ '%5.1f|' % 3.14159 }}"),
    "a-b 007   3.1|",
  );
  assert.equal(
    await r("{{ '{}:{:>4}:{name}'.format('a', 5, name='n') }} {{ '{0[k]}'.format({'k': 'v'}) }}"),
    "a:   5:n v",
  );
  assert.equal(
    await r("{{ [1] + [2] }} {{ '-' * 3 }} {{ 7 // 2 }} {{ -7 % 3 }} {{ 'a' ~ 1 ~ [2] }}"),
    "[1, 2] --- 3 2 a1[2]",
  );
  assert.equal(
    await r(
      "{{ [] or 'empty' }} {{ {} and 'no' }} {% if not [] %}F{% endif %} {{ [1, 2] == [1, 2] }}",
    ),
    "empty {} F True",
  );
  assert.equal(
    await r("{{ [3000] <= [3006, 0] }} {{ 'b' in ['a', 'b'] }} {{ 'x' in {'x': 1} }}"),
    "True True True",
  );
  await assert.rejects(
    r("\n{{ 'a' + 1 }}"),
    /:2": TypeError: can only concatenate str \(not "int"\) to str/,
  );
});

Deno.test("salt jinja - namespace, loop, for-if, dict iteration, computed keys, **kwargs", async () => {
  assert.equal(
    await r(
      "{% set ns = namespace(total=0) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}",
    ),
    "6",
  );
  assert.equal(
    await r(
      "{% for x in 'abc' %}{{ loop.index }}{{ loop.cycle('o', 'e') }}{{ loop.previtem or '-' }}{{ loop.nextitem or '.' }}{% if loop.last %}!{% endif %}{% endfor %}",
    ),
    "1o-b2eac3ob.!",
  );
  assert.equal(await r("{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}"), "ab");
  assert.equal(await r("{% for n in range(6) if n is odd %}{{ n }}{% endfor %}"), "135");
  assert.equal(await r("{% set k = 'port' %}{{ {k: 1, 'x' ~ k: 2} }}"), "{'port': 1, 'xport': 2}");
  assert.equal(
    await r(
      "{% macro m(a, b=1, c=2) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{% set o = {'c': 9} %}{{ m('a', **o) }}",
    ),
    "a19",
  );
  await assert.rejects(
    r("{% set d = {} %}{% set d.x = 1 %}"),
    /cannot assign attribute on non-namespace object/,
  );
});

Deno.test("salt jinja - Salt's template context", async () => {
  assert.equal(
    await r(
      "{{ tpldir }} {{ tplfile }} {{ sls }} {{ slspath }} {{ sls_path }} {{ slsdotpath }} {{ saltenv }}",
      "web/site/config.sls",
    ),
    "web/site web/site/config.sls web.config web/site web_site web.site base",
  );
  assert.equal(await r("{{ tpldir }} {{ slspath }}|", "top.sls"), ". |");
  assert.equal(
    await r("{{ opts['id'] }} {{ opts.get('__cli') }} {{ opts.file_client }}"),
    "web-01 salt-call local",
  );
  await assert.rejects(r("{% do opts.update({'id': 'x'}) %}"), /not extensible|read.only|Cannot/);
});

Deno.test("salt jinja - grain names as a view of the facts", async () => {
  assert.equal(
    await r(
      "{{ grains['os'] }}|{{ grains.os_family }}|{{ grains.osfinger }}|{{ grains.osrelease }}|{{ grains.osmajorrelease + 1 }}|{{ grains.oscodename }}|{{ grains.osarch }}|{{ grains.init }}",
    ),
    "Debian|Debian|Debian-12|12|13|bookworm|amd64|systemd",
  );
  assert.equal(
    await r(
      "{{ grains.num_cpus }}|{{ grains.mem_total }}|{{ grains.host }}|{{ grains.fqdn }}|{{ grains.domain }}|{{ grains.ipv4 }}|{{ grains.fqdn_ip4 }}|{{ grains.kernel }}|{{ grains.kernelrelease }}|{{ grains.role }}",
    ),
    "4|4096|web-01|web-01.example.net|example.net|['127.0.0.1', '10.0.0.5']|['10.0.0.5']|Linux|6.1.0-18-amd64|web",
  );
  assert.equal(
    await r(
      "{{ salt['grains.get']('os_family') }} {{ salt['grains.get']('os:family') }} {{ salt['grains.item']('os')['os'] }} {{ grains.get('nope', 'd') }}",
    ),
    "Debian debian Debian d",
  );
});

Deno.test("salt jinja - import_yaml, load_yaml and the map.jinja pattern", async () => {
  assert.equal(
    await r(
      "{% from tpldir ~ '/map.jinja' import web with context %}{{ web.pkg }} {{ web.port }} {{ web.mode }} {{ web.enabled }}",
    ),
    "nginx-light 80 644 True",
  );
  assert.equal(await r("{% from 'web/catalog.sls' import sites %}{{ sites }}"), "['a', 'b']");
  assert.equal(
    await r(
      "{% load_json as j %}{\"a\": [1]}{% endload %}{{ j.a }}{% import_text 'web/defaults.yaml' as t %}{{ t.splitlines() | length }}",
    ),
    "[1]4",
  );
  assert.equal(
    await r("{{ 'k: [1, 2]' | load_yaml }} {{ '{\"a\": 1}' | load_json }}"),
    "{'k': [1, 2]} {'a': 1}",
  );
});

Deno.test("salt jinja - Salt's filters", async () => {
  assert.equal(
    await r(
      "{{ [1, 2, 2, 1] | unique }} {{ ['a', 'b'] | map('upper') | list }} {{ [{'n': 1}, {'n': 2}] | map(attribute='n') | list }}",
    ),
    "[1, 2] ['A', 'B'] [1, 2]",
  );
  assert.equal(
    await r("{{ {'b': 1, 'a': '<x>'} | tojson }} {{ {'b': 1, 'a': [1]} | json }}"),
    '{"a": "\\u003cx\\u003e", "b": 1} {"a": [1], "b": 1}',
  );
  assert.equal(await r("{{ {'b': [1, 'x y'], 'a': 'yes'} | yaml }}"), "{a: 'yes', b: [1, x y]}");
  assert.equal(await r("{{ {'b': [1], 'a': {'c': 2}} | yaml(False) }}"), "a:\n  c: 2\nb:\n- 1");
  assert.equal(
    await r(
      "{{ 'x' | yaml_encode }} {{ 1.5 | yaml_encode }} {{ True | yaml_encode }} {{ None | yaml_encode }}",
    ),
    '"x" 1.5 true null',
  );
  assert.equal(
    await r("{{ 'a\"b\\u00e9' | yaml_dquote }} {{ \"it's\" | yaml_squote }}"),
    "\"a\\\"b\\xE9\" 'it''s'",
  );
  assert.equal(
    await r(
      "{{ '%s=%d' | format('a', 1) }} {{ 'web 01' | regex_replace('\\\\s+', '-') }} {{ 'ab12' | regex_search('(\\\\d)(\\\\d)') }}",
    ),
    "a=1 web-01 ('1', '2')",
  );
  assert.equal(
    await r(
      "{{ \"it's here\" | quote }} {{ 'abc' | md5 }} {{ 'aGVsbG8=' | base64_decode }} {{ 'hi' | base64_encode }}",
    ),
    "'it'\"'\"'s here' 900150983cd24fb0d6963f7d28e17f72 hello aGk=",
  );
  assert.equal(
    await r(
      "{{ '/srv' | path_join('web', '/conf') }} {{ {'a': {'b': [{'c': 3}]}} | traverse('a:b:c') }} {{ 'yes' | to_bool }} {{ [1, [2, [3]]] | flatten }}",
    ),
    "/srv/web/conf 3 True [1, 2, 3]",
  );
  assert.equal(
    await r(
      "{{ [1, 2] | union([2, 3]) }} {{ [1, 2] | difference([2]) }} {{ [3, 1] | min }} {{ '10.0.0.1' | is_ip }} {{ 'abc' | uuid }}",
    ),
    "[1, 2, 3] [1] 1 True 3c2ec1f9-32eb-522f-9269-82ee3f929675",
  );
  assert.equal(
    await r(
      "{{ '  x y ' | trim }}|{{ 'a\\nb' | indent(2) }}|{{ 'a\\nb' | indent(2, True) }}|{{ [0, 1, ''] | select | list }}",
    ),
    "x y|a\n  b|  a\n  b|[1]",
  );
  await assert.rejects(
    r("{{ [1] | yaml_encode }}"),
    /yaml_encode\(\) only works with YAML scalar data/,
  );
});

Deno.test("salt jinja - Jinja's and Salt's tests", async () => {
  assert.equal(
    await r(
      "{{ 'web-01' is match('web-\\\\d+') }} {{ 'xweb' is match('web') }} {{ None is none }} {{ [] is sequence }} {{ {} is mapping }} {{ 1 is integer }} {{ 'a' is in 'abc' }} {{ True is sameas true }}",
    ),
    "True False True True True True True True",
  );
  assert.equal(await r("{% if 'DEB' is match 'deb' %}no{% else %}ok{% endif %}"), "ok");
});

Deno.test("salt jinja - Salt functions in templates", async () => {
  assert.equal(
    await r(
      "{{ salt['config.get']('web:port') }} {{ salt['config.get']('id') }} {{ salt['config.get']('os_family') }} {{ salt['config.get']('nope', 'd') }}",
    ),
    "8080 web-01 Debian d",
  );
  assert.equal(
    await r(
      "{{ salt['pillar.get']('web', {'user': 'www'}, merge=True) }} {{ salt['pillar.get']('users:ann:uid') }}",
    ),
    "{'user': 'www', 'lookup': {'pkg': 'nginx-light'}, 'port': 8080} 1001",
  );
  assert.equal(
    await r(
      "{{ salt['slsutil.merge']({'a': {'b': 1}, 'l': [1]}, {'a': {'c': 2}, 'l': [2]}, merge_lists=True) }} {{ salt['slsutil.merge_all']([{'a': 1}, {'a': 2, 'b': 3}]) }}",
    ),
    "{'a': {'b': 1, 'c': 2}, 'l': [1, 2]} {'a': 2, 'b': 3}",
  );
  assert.equal(
    await r(
      "{% set d = {'a': {'x': 1}} %}{% do salt['defaults.merge'](d, {'a': {'y': 2}}) %}{{ d }} {% set c = salt['defaults.deepcopy'](d) %}{% do c.a.update({'z': 3}) %}{{ d.a.z is defined }} {{ salt['defaults.get']('users:home:base') }}",
    ),
    "{'a': {'x': 1, 'y': 2}} False /home",
  );
  assert.equal(
    await r(
      "{{ salt['network.ip_addrs']() }} {{ salt['network.ip_addrs'](include_loopback=True, cidr='127.0.0.0/8') }} {{ salt['network.ip_addrs6']() }} {{ salt['network.interfaces']()['eth0']['hwaddr'] }}",
    ),
    "['10.0.0.5'] ['127.0.0.1'] ['fe80::1'] 52:54:00:12:34:56",
  );
  assert.equal(
    await r(
      "{{ salt['test.ping']() }} {{ salt['mine.get']('*', 'network.ip_addrs') }} {{ salt.grains.get('os') }} {% do salt['log.debug']('x') %}",
    ),
    "True {} Debian ",
  );
  await assert.rejects(
    r("ok\n{{ salt['pkg.latest_version']('nginx') }}"),
    /Cannot render "web\/config\.sls:2": Salt function "pkg\.latest_version" is not available in templates/,
  );
});

Deno.test("salt jinja - cmd.* and file.* ask the host", async () => {
  calls.length = 0;
  assert.equal(
    await r(
      "{% set out = salt['cmd.run']('hostname -f', cwd='/srv') %}{{ out }} {{ salt['cmd.retcode']('false') }} {{ salt['cmd.shell']('echo') }} {{ salt['cmd.run_stdout']('id') }}",
    ),
    "out:hostname -f 1 out:echo out:id",
  );
  assert.equal(
    await r(
      "{{ salt['file.file_exists']('/etc/web.conf') }} {{ salt['file.directory_exists']('/srv') }} {{ salt['file.file_exists']('/srv') }} {{ salt['file.contains_regex']('/etc/web.conf', '^listen \\\\d+') }} {{ salt['cmd.has_exec']('nginx') }}",
    ),
    "True True False True True",
  );
  assert.equal(
    await r(
      "{% macro read(p) %}{% set t = salt['file.read'](p) %}{{ t.splitlines()[0] }}{% endmacro %}{{ read('/etc/web.conf') }}",
    ),
    "listen 80",
  );
  assert.ok(calls.includes(`run hostname -f {"cwd":"/srv"}`), calls.join("\n"));
  assert.ok(calls.includes("read /etc/web.conf"));
  await assert.rejects(
    r("{{ salt['file.read']('relative/path') }}"),
    /file\.read: .*absolute path/,
  );
});

Deno.test("salt jinja - errors name the file and line, through imports", async () => {
  const where = async (t: string) => {
    try {
      await r(t);
    } catch (e) {
      assert.ok(e instanceof TemplateError, String(e));
      return `${e.file}:${e.line}`;
    }
    assert.fail("rendered");
  };
  assert.equal(await where("{% import_yaml 'web/broken.yaml' as b %}"), "web/broken.yaml:3");
  assert.equal(await where("{% from 'web/broken.jinja' import m %}"), "web/broken.jinja:2");
  assert.equal(
    await where("a\n{% from 'web/fails.jinja' import m %}{{ m() }}"),
    "web/fails.jinja:3",
  );
  assert.equal(await where("{% include 'web/unclosed.jinja' %}"), "web/unclosed.jinja:2");
  assert.equal(await where("{% if True %}\nx\n{% for a in b %}\n"), "web/config.sls:3");
  assert.equal(await where("1\n2\n{{ namespace(x=1).y.z() }}"), "web/config.sls:3");
});

Deno.test({
  name: "salt jinja - the renderer closes cleanly",
  fn: () => renderer.close(),
});
