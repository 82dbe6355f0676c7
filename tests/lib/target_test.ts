import assert from "node:assert/strict";
import { compileTarget, TargetError } from "../../lib/target/mod.ts";

const peel = (id: string) => ({ id, facts: {} });
const match = (expr: string, id: string) => compileTarget(expr).matches(peel(id));

Deno.test("target - glob on peel ids with fnmatch meaning", () => {
  assert.ok(match("*", "web-01"));
  assert.ok(match("web-*", "web-01"));
  assert.ok(!match("web-*", "db-01"));
  assert.ok(match("web-0?", "web-01"));
  assert.ok(!match("web-0?", "web-010"));
  assert.ok(match("[wd]*", "db-01"));
  assert.ok(!match("[!wd]*", "db-01"));
  assert.ok(match("web-[0-9][0-9]", "web-42"));
  assert.ok(!match("Web-*", "web-01"), "case-sensitive");
  assert.ok(match("web.*", "web.x") && !match("web.*", "webax"), "dot is literal");
  assert.ok(match("a[", "a["), "an unclosed [ is literal, as in Python");
});

Deno.test("target - literal globs and lists name exact ids", () => {
  assert.deepEqual(compileTarget("web-01").exactIds, ["web-01"]);
  assert.equal(compileTarget("web-*").exactIds, undefined);
  const l = compileTarget("web-01, db-01", "list");
  assert.deepEqual(l.exactIds, ["web-01", "db-01"]);
  assert.ok(l.matches(peel("db-01")) && !l.matches(peel("web-02")));
});

Deno.test("target - empty and unsupported expressions are errors", () => {
  assert.throws(() => compileTarget("  "), TargetError);
  assert.throws(
    () => compileTarget("os:Debian", "grain"),
    /Cannot parse target "os:Debian": matcher kind "grain"/,
  );
});
