import assert from "node:assert/strict";
import { saltGrains } from "../../lib/grains/mod.ts";
import { filterBy, TemplateError, TemplateRenderer } from "../../lib/template/mod.ts";
import { parseWorkerMessage, ProtocolError } from "../../lib/template/protocol.ts";

const files = new Map([
  ["macros.jinja", "{% macro greet(n) %}hi {{ n }}{% endmacro %}"],
  ["bad.jinja", "ok\n{% if %}\n"],
]);
const renderer = new TemplateRenderer(() => files);
const ctx = {
  peelId: "web-01",
  facts: { id: "web-01", os: { family: "debian", name: "Debian" }, roles: ["web"] },
  settings: { app: { port: 8080 } },
};
const r = (t: string) => renderer.render(t, "t.zy", ctx);

Deno.test("template - context, Salt accessors and filters", async () => {
  assert.equal(
    await r("{{ grains['id'] }} {{ facts.os.family }} {{ peel_id }}"),
    "web-01 debian web-01",
  );
  assert.equal(
    await r("{{ salt['pillar.get']('app:port', 80) }} {{ salt['pillar.get']('app:x', 80) }}"),
    "8080 80",
  );
  assert.equal(await r("{{ salt['pillar.get']('nope', default='d') }}"), "d");
  assert.equal(await r("{{ salt['grains.get']('os:name') }} {{ pillar.app.port }}"), "Debian 8080");
  assert.equal(await r("{{ {'a': [1, 2]} | json }}"), '{"a": [1, 2]}');
  assert.equal(
    await r("{{ pillar_get('app:port') }} {{ salt['grains.items']().id }}"),
    "8080 web-01",
  );
  assert.equal(await r("{{ salt['grains.item']('os:family')['os:family'] }}"), "debian");
  assert.equal(
    await r("{% for m in basket('role:db', 'network.ipv4') %}x{% else %}none{% endfor %}"),
    "none",
  );
  await assert.rejects(
    r("{{ salt['cmd.run']('id') }}"),
    /Cannot render "t\.zy:1": cmd\.run: commands and host files are not available here/,
  );
  assert.equal(await r("{{ 'x' | yaml_encode }}"), '"x"');
  assert.equal(await r('{% from "macros.jinja" import greet %}{{ greet("you") }}'), "hi you");
});

Deno.test("template - Jinja that Salt formulas use", async () => {
  assert.equal(
    await r("{{ 'Abc'.lower() }}|{{ ' x '.strip() }}|{{ 'a b'.split() | join('+') }}"),
    "abc|x|a+b",
  );
  assert.equal(await r("{{ 'abc'.startswith('a') }} {{ '{}-{}'.format(1, 2) }}"), "True 1-2");
  assert.equal(await r("{{ True }} {{ False }} {{ None }}"), "True False None");
  assert.equal(await r("{% set d = {'a': {'b': 2}} %}{{ d.a.b }}"), "2");
  assert.equal(
    await r("{% if 9 is divisibleby 3 %}y{% endif %}{% if 'a' is sameas 'a' %}s{% endif %}"),
    "ys",
  );
  assert.equal(await r("{% set d = {} %}{% do d.update({'k': 1}) %}{{ d.k }}"), "1");
  assert.equal(await r("{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}"), "a=1");
});

Deno.test("template - list and dict methods, slices, attr, cycler, joiner, imported macros", async () => {
  assert.equal(
    await r("{% set l = [3, 1] %}{% do l.append(2) %}{% do l.sort() %}{{ l | join('') }}"),
    "123",
  );
  assert.equal(
    await r("{% set d = {'a': 1} %}{% do d.update(b=2) %}{{ d | json }} {{ d.get('z', 0) }}"),
    '{"a": 1, "b": 2} 0',
  );
  assert.equal(
    await r("{{ [1, 2, 3][1:] | join }} {{ 'abcdef'[1:3] }} {{ [1, 2][::-1] }}"),
    "23 bc [2, 1]",
  );
  assert.equal(
    await r("{{ facts.os | attr('family') }} {{ ('a b' | attr('split'))() }}"),
    "debian ['a', 'b']",
  );
  assert.equal(
    await r("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.current }}"),
    "abb",
  );
  assert.equal(await r("{% set j = joiner('-') %}{{ j() }}x{{ j() }}y"), "x-y");
  assert.equal(
    await r(
      '{% import "macros.jinja" as m %}{{ m.greet("you") }} {{ [{"n": 2}, {"n": 1}] | sort(attribute="n") | join(",", "n") }}',
    ),
    "hi you 1,2",
  );
});

Deno.test("template - every message from the worker is checked", () => {
  assert.deepEqual(parseWorkerMessage({ kind: "ready" }), { kind: "ready" });
  assert.deepEqual(parseWorkerMessage({ kind: "rendered", id: 1, output: "x" }), {
    kind: "rendered",
    id: 1,
    output: "x",
  });
  assert.equal(
    parseWorkerMessage({ kind: "failed", id: 2, reason: "r", file: "a.zy", line: 3 }).kind,
    "failed",
  );
  assert.deepEqual(parseWorkerMessage({ kind: "call", id: 3, fn: "file.stat", args: ["/x"] }), {
    kind: "call",
    id: 3,
    fn: "file.stat",
    args: ["/x"],
  });
  for (
    const bad of [
      null,
      "rendered",
      { kind: "rendered", id: "1", output: "x" },
      { kind: "rendered", id: 1, output: 5 },
      { kind: "failed", id: 1, reason: "r", file: "a.zy", line: 0 },
      { kind: "failed", id: 1, reason: "r" },
      { kind: "call", id: 1 },
      { kind: "call", id: 1, fn: "file.write", args: ["/etc/passwd"] },
      { kind: "call", id: 1, fn: "constructor", args: [] },
      { kind: "call", id: 1, fn: "cmd.run_all", args: "id" },
    ]
  ) {
    assert.throws(() => parseWorkerMessage(bad), ProtocolError, JSON.stringify(bad));
  }
});

Deno.test("template - grains.filter_by", async () => {
  const lookup = { Debian: { pkg: "apache2" }, RedHat: { pkg: "httpd" }, default: { pkg: "web" } };
  const grains = saltGrains(ctx.facts);
  assert.deepEqual(filterBy(grains, lookup), { pkg: "apache2" }, "os_family");
  assert.deepEqual(filterBy(saltGrains({ os: { family: "arch" } }), lookup), { pkg: "web" });
  assert.deepEqual(filterBy(grains, { "Deb*": 1, debian: 2 }), 1, "a glob, case-sensitive");
  assert.deepEqual(filterBy(grains, lookup, "os_family", { port: 1 }), {
    pkg: "apache2",
    port: 1,
  });
  assert.equal(
    await r(
      "{% set m = salt['grains.filter_by']({'Debian': {'p': 'a2'}, 'RedHat': {'p': 'h'}}, merge={'x': 1}) %}{{ m.p }}{{ m.x }}",
    ),
    "a21",
  );
});

Deno.test("template - errors name the file and line, the imported file too", async () => {
  await assert.rejects(r("a\nb\n{{ foo( }}\n"), (e) => {
    assert.ok(e instanceof TemplateError);
    assert.equal(e.line, 3);
    assert.match(e.message, /^Cannot render "t\.zy:3": /);
    return true;
  });
  await assert.rejects(
    r('{% include "bad.jinja" %}'),
    /Cannot render "bad\.jinja:2": unexpected token/,
  );
  await assert.rejects(r('{% include "missing.jinja" %}'), /template not found: missing\.jinja/);
  // A broken import must not throw later, outside any handler: the process stays up.
  await new Promise((res) => setTimeout(res, 50));
});

Deno.test("template - a render that never ends is stopped and fails naming the file", async () => {
  using slow = new TemplateRenderer(() => files, { timeoutMs: 2_000 });
  const t0 = performance.now();
  await assert.rejects(
    slow.render("{% for i in range(100000000) %}{% endfor %}", "loop.zy", ctx),
    (e) => e instanceof TemplateError && /loop\.zy.*longer than 2000 ms/.test(e.message),
  );
  assert.ok(performance.now() - t0 < 8_000);
  // The next render starts a fresh worker.
  assert.equal(await slow.render("{{ 1 + 1 }}", "ok.zy", ctx), "2");
});
