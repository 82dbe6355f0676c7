/**
 * Settings compiled from a tree as Salt compiles pillar: the top file's matchers, includes,
 * Salt's merge rules, Jinja with the settings compiled so far, inline settings, and errors that
 * name the file and line.
 */
import assert from "node:assert/strict";
import {
  compileSettings,
  type SettingsConfig,
  SettingsError,
  SettingsTop,
} from "../../lib/settings/mod.ts";
import { dictUpdate, pillarGet } from "../../lib/template/mod.ts";

const FACTS = { os: { family: "debian" }, role: "web", os_family: "Debian" };

function tree(files: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(files));
}

function compile(
  files: Record<string, string>,
  opts: { peelId?: string; inline?: Record<string, unknown>; merging?: Partial<SettingsConfig> } =
    {},
) {
  return compileSettings({
    files: tree(files),
    peelId: opts.peelId ?? "web-01",
    facts: FACTS,
    inline: opts.inline,
    merging: opts.merging,
  });
}

const MERGE_TREE = {
  "top.zy": "base:\n  '*':\n    - common\n  'web-*':\n    - web\n",
  "common.zy": "app:\n  name: shop\n  port: 80\n  hosts: [a, b]\n  tls: {enabled: no}\n",
  "web.zy": "app:\n  port: 9090\n  hosts: [c]\n  tls: {cert: /etc/x.pem}\n",
};

Deno.test("settings - deep merge in top-file order, lists replaced unless merged", async () => {
  assert.deepEqual(await compile(MERGE_TREE), {
    app: { name: "shop", port: 9090, hosts: ["c"], tls: { enabled: false, cert: "/etc/x.pem" } },
  });
  const merged = await compile(MERGE_TREE, { merging: { merge_lists: true } });
  assert.deepEqual((merged.app as { hosts: string[] }).hosts, ["a", "b", "c"]);
  const overwritten = await compile(MERGE_TREE, { merging: { strategy: "overwrite" } });
  assert.deepEqual(overwritten.app, { port: 9090, hosts: ["c"], tls: { cert: "/etc/x.pem" } });
  const db = await compile(MERGE_TREE, { peelId: "db-01" });
  assert.deepEqual((db.app as { port: number }).port, 80, "web-* does not match db-01");
});

Deno.test("settings - inline settings go over the tree and are seen while rendering", async () => {
  const out = await compile({
    ...MERGE_TREE,
    "web.zy": "app:\n  port: 9090\n  seen: {{ salt['pillar.get']('app:extra') }}\n",
  }, { inline: { app: { port: 7777, extra: true } } });
  assert.deepEqual(out.app, {
    name: "shop",
    port: 7777,
    hosts: ["a", "b"],
    tls: { enabled: false },
    extra: true,
    seen: true,
  });
});

Deno.test("settings - top matchers: glob, grain, grain_pcre, compound, list, pcre, ignore_missing", async () => {
  const top = `base:
  'os:family:debian':
    - match: grain
    - grain
  'role:w.*':
    - match: grain_pcre
    - grain_pcre
  'web-* and G@role:web and not L@web-02':
    - match: compound
    - compound
  'web-01,db-01':
    - match: list
    - list
  'web-0[0-9]':
    - match: pcre
    - pcre
  'db-*':
    - dbonly
  '*':
    - ignore_missing: True
    - not_there
prod:
  'web*':
    - glob
`;
  const names = ["grain", "grain_pcre", "compound", "list", "pcre", "glob", "dbonly"];
  const files: Record<string, string> = { "top.sls": top };
  for (const n of names) files[`${n}.sls`] = `${n}: true\n`;
  const out = await compile(files);
  assert.deepEqual(Object.keys(out).sort(), names.filter((n) => n !== "dbonly").sort());
  const other = await compile(files, { peelId: "web-02" });
  assert.deepEqual(Object.keys(other).sort(), ["glob", "grain", "grain_pcre", "pcre"]);
});

Deno.test("settings - include: relative, defaults and key, the including file wins", async () => {
  const out = await compile({
    "top.zy": "base:\n  '*':\n    - apps\n",
    "apps/init.zy":
      "include:\n  - .db\n  - users:\n      defaults: {shell: /bin/zsh}\n      key: 'people:all'\napps:\n  db: overridden\n",
    "apps/db.zy": "apps:\n  db: postgres\n  cache: redis\n",
    "users.zy": "alice: {shell: {{ shell }}}\n",
  });
  assert.deepEqual(out, {
    apps: { db: "overridden", cache: "redis" },
    people: { all: { alice: { shell: "/bin/zsh" } } },
  });
});

Deno.test("settings - each file sees the settings compiled so far, facts and the peel id", async () => {
  const out = await compile({
    "top.zy": "base:\n  '*':\n    - a\n    - b\n",
    "a.zy": "base_port: 8000\n",
    "b.zy":
      "port: {{ pillar['base_port'] + 1 }}\nfamily: {{ grains['os_family'] }}\nme: {{ peel_id }}\nid: {{ opts.id }}\n",
  });
  assert.deepEqual(out, {
    base_port: 8000,
    port: 8001,
    family: "Debian",
    me: "web-01",
    id: "web-01",
  });
});

Deno.test("settings - a Jinja error names the file and line", async () => {
  const err = await compile({
    ...MERGE_TREE,
    "web.zy": "app:\n  port: 9090\n  bad: {{ nope( }}\n",
  }).then(() => undefined, (e) => e);
  assert.ok(err instanceof SettingsError, String(err));
  assert.equal(err.file, "web.zy");
  assert.equal(err.line, 3);
  assert.match(err.message, /^Cannot compile settings "web\.zy:3": /);
});

Deno.test("settings - a YAML error names the file and line", async () => {
  const err = await compile({
    ...MERGE_TREE,
    "common.zy": "app:\n  name: shop\n  name: again\n",
  }).then(() => undefined, (e) => e);
  assert.ok(err instanceof SettingsError, String(err));
  assert.match(err.message, /^Cannot compile settings "common\.zy:3": Cannot parse YAML: /);
});

Deno.test("settings - bad trees are errors naming what is wrong", async () => {
  await assert.rejects(
    compile({ "common.zy": "a: 1\n" }),
    /Cannot compile settings: no top\.zy or top\.sls in the settings tree/,
  );
  await assert.rejects(
    compile({ "top.zy": "base:\n  '*':\n    - missing\n" }),
    /Cannot compile settings "top\.zy": the top file assigns "missing", which is not in the tree/,
  );
  await assert.rejects(
    compile({ "top.zy": "base:\n  '*':\n    - match: nodegroups\n    - x\n", "x.zy": "" }),
    /Cannot compile settings "top\.zy:1": Top file: unknown match type "nodegroups"/,
  );
  await assert.rejects(
    compile({ "top.zy": "base:\n  '*':\n    - x\n", "x.zy": "- a\n- b\n" }),
    /Cannot compile settings "x\.zy:1": expected a mapping/,
  );
  await assert.rejects(
    compile({ "top.zy": "base:\n  '*':\n    - x\n", "x.zy": "include:\n  - nothere\n" }),
    /Cannot compile settings "x\.zy:1": include: no settings "nothere" in the tree/,
  );
  assert.deepEqual(await compile({}), {}, "an empty tree: no settings");
});

Deno.test("settings - one file without a top file, Jinja and all", async () => {
  const out = await compileSettings({
    files: tree({ "pillar.example": "app:\n  family: {{ grains.os_family | lower }}\n" }),
    only: "pillar.example",
    peelId: "local",
    facts: FACTS,
  });
  assert.deepEqual(out, { app: { family: "debian" } });
});

Deno.test("settings - pillar.get with merge, merge_nested_lists and delimiter, as templates call it", async () => {
  const out = await compile({
    "top.zy": "base:\n  '*':\n    - app\n    - use\n",
    "app.zy": "app:\n  port: 9090\n  hosts: [b, c]\n  nested: {list: [2]}\n",
    "use.zy":
      `{%- set d = {'port': 80, 'user': 'www', 'hosts': ['a', 'b'], 'nested': {'list': [1]}} %}
merged: {{ salt['pillar.get']('app', default=d, merge=True) | json }}
nested: {{ salt['pillar.get']('app', d, merge=True, merge_nested_lists=True) | json }}
listed: {{ salt['pillar.get']('app:hosts', ['a', 'b'], merge=True) | json }}
slash: {{ salt['pillar.get']('app/port', delimiter='/') }}
plain: {{ salt['pillar.get']('app:user', 'nobody') }}
`,
  });
  assert.deepEqual(out.merged, {
    port: 9090,
    user: "www",
    hosts: ["b", "c"],
    nested: { list: [2] },
  });
  assert.deepEqual((out.nested as { nested: unknown }).nested, { list: [1, 2] });
  assert.deepEqual(out.listed, ["a", "b", "c"]);
  assert.equal(out.slash, 9090);
  assert.equal(out.plain, "nobody");
  // A value that is not a dict is returned as it is, as Salt does (merge skipped).
  assert.equal(pillarGet({ a: 5 }, "a", { x: 1 }, true), 5);
  assert.deepEqual(dictUpdate({ a: [1] }, { a: [2] }), { a: [2] });
});

Deno.test("settings - the master's view of a top file: assigned files and their plain includes, per peel", async () => {
  using top = new SettingsTop(tree({
    "top.zy": [
      "base:",
      "  '*':",
      "    - common",
      "  'G@role:web':",
      "    - match: compound",
      "    - web",
      "{% if grains['role'] == 'db' %}",
      "  'db-*':",
      "    - db.*",
      "{% endif %}",
    ].join("\n"),
    "common.zy": "app: {}\n",
    "web.zy": "include:\n  - .users\n  - tls: {key: tls}\n{% if False %}\n  - never\n{% endif %}\n",
    "users.zy": "users: {}\n",
    "tls/init.zy": "cert: x\n",
    "never.zy": "n: 1\n",
    "db/main.zy": "db: {}\n",
    "db/replica.sls": "include: [common]\n",
  }));
  assert.deepEqual(await top.filesFor({ id: "web-01", facts: { role: "web" } }), [
    "common.zy",
    "never.zy",
    "tls/init.zy",
    "users.zy",
    "web.zy",
  ]);
  assert.deepEqual(await top.filesFor({ id: "db-01", facts: { role: "db" } }), [
    "common.zy",
    "db/main.zy",
    "db/replica.sls",
  ]);
  assert.deepEqual(await top.filesFor({ id: "db-02", facts: { role: "cache" } }), ["common.zy"]);
});
