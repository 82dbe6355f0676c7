import assert from "node:assert/strict";
import * as s from "../../lib/schema/mod.ts";

const Peel = s.object({
  id: s.string({ pattern: /^[a-z]+$/ }),
  port: s.optional(s.int({ min: 1 }), 4222),
  tags: s.optional(s.array(s.string())),
});

Deno.test("schema - valid object with defaults", () => {
  assert.deepEqual(Peel.parse({ id: "web" }), { id: "web", port: 4222 });
  assert.deepEqual(Peel.parse({ id: "web", port: 1, tags: ["a"] }), {
    id: "web",
    port: 1,
    tags: ["a"],
  });
});

Deno.test("schema - errors name the field path and the expectation", () => {
  assert.throws(() => Peel.parse({ id: "web", port: "x" }), (e: Error) => {
    assert.ok(e instanceof s.SchemaError);
    assert.equal((e as s.SchemaError).path, "port");
    assert.match(e.message, /field "port": expected an integer >= 1, got "x"/);
    return true;
  });
  assert.throws(
    () => Peel.parse({ id: "web", tags: ["a", 3] }),
    /field "tags\[1\]": expected a string/,
  );
  assert.throws(() => Peel.parse({}), /field "id": expected a string matching .*, got nothing/);
});

Deno.test("schema - unknown keys are rejected in strict objects and kept out otherwise", () => {
  assert.throws(() => Peel.parse({ id: "web", prot: 1 }), /field "prot": expected no such key/);
  const Loose = s.object({ a: s.string() }, { strict: false });
  assert.deepEqual(Loose.parse({ a: "x", b: 1 }), { a: "x" });
});

Deno.test("schema - literal, union and transform", () => {
  const L = s.literal("a", "b");
  assert.equal(L.parse("b"), "b");
  assert.throws(() => L.parse("c"), /expected one of "a", "b", got "c"/);
  const U = s.union(s.string(), s.array(s.string()));
  assert.deepEqual(U.parse(["x"]), ["x"]);
  assert.throws(() => U.parse(1), /expected a string or a list of string/);
  const T = s.transform(s.string(), (v) => v.length);
  assert.equal(T.parse("abc"), 3);
});

Deno.test("schema - non-plain objects are not maps", () => {
  assert.throws(
    () => s.record(s.unknown()).parse(new Uint8Array(2)),
    /expected a map, got 2 bytes/,
  );
  assert.throws(() => s.record(s.unknown()).parse([1]), /expected a map, got a list/);
});
