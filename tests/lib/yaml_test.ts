/** YAML as Salt reads it (PyYAML's YAML 1.1 with Salt's loader) and writes it (PyYAML's dumper). */
import assert from "node:assert/strict";
import {
  dumpYaml,
  loadYaml,
  parseYaml,
  yamlDquote,
  yamlEncode,
  YamlError,
  yamlSquote,
} from "../../lib/yaml/mod.ts";

Deno.test("yaml - YAML 1.1 scalars as Salt reads them", () => {
  assert.deepEqual(
    loadYaml(
      "mode: 0644\nport: 1_000\nt: 1:20\nhex: 0x1f\nflags: [yes, no, on, off, True, y, n]\nexp: 1e3\nf: 1.5\n" +
        "date: 2024-01-02\nnone: ~\nempty:\ninf: .inf\n",
    ),
    {
      mode: 644,
      port: 1000,
      t: 80,
      hex: 31,
      flags: [true, false, true, false, true, "y", "n"],
      exp: "1e3",
      f: 1.5,
      date: "2024-01-02",
      none: null,
      empty: null,
      inf: Infinity,
    },
  );
  assert.deepEqual(loadYaml("True: a\nNo: b\n~: c\n"), { True: "a", False: "b", None: "c" });
  assert.equal(loadYaml(""), null);
});

Deno.test("yaml - merge keys, a key given twice, flow collections continued less indented", () => {
  assert.deepEqual(
    loadYaml("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n  z: 3\n"),
    { a: { x: 1 }, b: { y: 2 }, c: { x: 1, y: 2, z: 3 } },
  );
  assert.throws(() => loadYaml("a: 1\nb:\n  c: 1\n  c: 2\n"), (e) => {
    assert.ok(e instanceof YamlError);
    assert.equal(e.message, "found conflicting ID 'c' (line 4)");
    return true;
  });
  assert.deepEqual(loadYaml("pkgs: {a: 1,\nb: 2}\nl:\n  - [x,\n  y]\nq: '{not, flow'\n"), {
    pkgs: { a: 1, b: 2 },
    l: [["x", "y"]],
    q: "{not, flow",
  });
  assert.deepEqual(loadYaml("k: |\n  {a\n  b\nz: [1,\n 2]\n"), { k: "{a\nb\n", z: [1, 2] });
  const doc = parseYaml("# c\nfirst:\n  x: 1\n\nsecond: 2\n");
  assert.deepEqual([...doc.lines], [["first", 2], ["second", 5]]);
  assert.throws(() => loadYaml("a: [\n"), /line \d+/);
});

Deno.test("yaml - PyYAML's output: the yaml filter, yaml_encode, yaml_dquote, yaml_squote", () => {
  const data = { b: [1, "x y", "yes", true, null, ""], a: { c: "a: b", d: "é" }, e: [] };
  assert.equal(
    dumpYaml(data),
    `{a: {c: 'a: b', d: "\\xE9"}, b: [1, x y, 'yes', true, null, ''], e: []}`,
  );
  assert.equal(
    dumpYaml({ b: [1, { q: 1, p: [2] }], a: { c: 2 }, l: [[1, 2]] }, false),
    "a:\n  c: 2\nb:\n- 1\n- p:\n  - 2\n  q: 1\nl:\n- - 1\n  - 2",
  );
  assert.equal(dumpYaml("plain"), "plain");
  const multi = { a: { b: "one\ntwo\n", c: "é" } };
  assert.equal(dumpYaml(multi, false), "a:\n  b: 'one\n\n    two\n\n    '\n  c: \"\\xE9\"");
  assert.equal(dumpYaml(multi, false, true), "a:\n  b: 'one\n\n    two\n\n    '\n  c: é");
  assert.equal(
    dumpYaml({ a: ["x y", { k: "multi\nline" }] }),
    "{a: [x y, {k: 'multi\n\n        line'}]}",
  );
  assert.deepEqual(loadYaml(dumpYaml(multi, false)), multi);
  assert.equal(yamlEncode("x"), '"x"');
  assert.equal(yamlEncode(1e-5), "1.0e-05");
  assert.equal(yamlEncode(2.5), "2.5");
  assert.equal(yamlEncode(false), "false");
  assert.equal(yamlEncode(null), "null");
  assert.throws(
    () => yamlEncode({}),
    /only works with YAML scalar data; failed for <class 'dict'>/,
  );
  assert.equal(yamlDquote('a"b\\c\té\u2028😀'), '"a\\"b\\\\c\\t\\xE9\\L\\U0001F600"');
  assert.equal(yamlSquote("it's\na"), "'it''s\n\na'");
  assert.deepEqual(loadYaml(dumpYaml(data)), data, "what the yaml filter writes reads back");
});
