import assert from "node:assert/strict";
import {
  compileTarget,
  detectKind,
  PeelIndex,
  type PeelView,
  resolveTarget,
  TargetError,
} from "../../lib/target/mod.ts";

const debian: PeelView = {
  id: "web-01",
  facts: {
    os: { name: "Debian", family: "debian", platform_version: "12" },
    kernel: { name: "Linux", release: "6.1.0" },
    role: "web",
    planets: ["earth", "mars"],
    cpu: { count: 4 },
    virtual: false,
    nothing: null,
    time: "12:30",
    deep: { a: { b: { c: "leaf" } } },
    disks: [{ name: "vda", size: 10 }],
    network: { ipv4: ["127.0.0.1", "10.1.2.3"], ipv6: ["::1", "fd00::1:5"] },
  },
  settings: { app: { tier: "gold" }, users: ["alice", "bob"] },
};
const rocky: PeelView = {
  id: "db-01",
  facts: {
    os: { name: "Rocky", family: "redhat" },
    role: "db",
    network: { ipv4: ["192.168.1.5"], ipv6: [] },
  },
};
function indexOf(peels: PeelView[]): PeelIndex {
  const ix = new PeelIndex();
  for (const p of peels) ix.set(p.id, p.facts);
  return ix;
}
const match = (expr: string, p: PeelView = debian, opts?: Parameters<typeof compileTarget>[2]) =>
  compileTarget(expr, undefined, opts).matches(p);
const err = (expr: string, re: RegExp, opts?: Parameters<typeof compileTarget>[2]) =>
  assert.throws(() => compileTarget(expr, undefined, opts), (e) => {
    assert.ok(e instanceof TargetError, String(e));
    assert.match(e.message, re);
    return true;
  });

Deno.test("target - glob on peel ids with fnmatch meaning", () => {
  const id = (expr: string, i: string) => compileTarget(expr).matches({ id: i, facts: {} });
  assert.ok(id("*", "web-01"));
  assert.ok(id("web-*", "web-01") && !id("web-*", "db-01"));
  assert.ok(id("web-0?", "web-01") && !id("web-0?", "web-010"));
  assert.ok(id("[wd]*", "db-01") && !id("[!wd]*", "db-01"));
  assert.ok(id("web-[0-9][0-9]", "web-42"));
  assert.ok(!id("Web-*", "web-01"), "case-sensitive");
  assert.ok(id("web.*", "web.x") && !id("web.*", "webax"), "dot is literal");
  assert.ok(id("a[", "a["), "an unclosed [ is literal, as in Python");
  assert.ok(id("*-0*1", "web-001") && id("w*b*-01", "web-01") && !id("*a", "web-01"));
  assert.ok(id("*0?", "web-01") && id("web-**", "web-") && !id("web-?*", "web-"));
  assert.ok(id("[]a]*", "]x") && id("[a-]*", "-x"), "] first and - last are literal");
  assert.ok(id("my-and-server", "my-and-server"), "a glob containing -and- stays a glob");
  assert.equal(detectKind("my-and-server"), "glob");
});

Deno.test("target - E@ regex anchors at the start only (re.match)", () => {
  assert.ok(match("E@web-\\d+"));
  assert.ok(match("E@web"), "need not reach the end");
  assert.ok(!match("E@eb-01"), "must start at the beginning");
  assert.ok(match("E@db|web"), "alternation is anchored as a whole");
  assert.ok(
    match("E@web1-(prod|devel)", { id: "web1-devel", facts: {} }),
    "regex groups survive tokenizing",
  );
  assert.ok(compileTarget("web-\\d+", "pcre").matches(debian));
});

Deno.test("target - L@ lists", () => {
  assert.ok(match("L@db-01,web-01"));
  assert.ok(!match("L@db-01,web-02"));
  assert.ok(compileTarget("web-01, db-01", "list").matches(debian));
});

Deno.test("target - G@ fact globs: nested, dotted, lists, existence, case, string forms", () => {
  assert.ok(match("G@os:Debian"), "a namespace matches by its name");
  assert.ok(match("G@os:family:debian"));
  assert.ok(match("G@os.family:debian"), "dotted keys");
  assert.ok(match("G@os:family:DEB*"), "case-insensitive globs");
  assert.ok(!match("G@os:family:redhat"));
  assert.ok(match("G@planets:mars"), "any list element");
  assert.ok(!match("G@planets:pluto"));
  assert.ok(match("G@role:*") && !match("G@missing:*"), "key exists");
  assert.ok(match("G@cpu:count:4"), "numbers by string form");
  assert.ok(match("G@virtual:false") && match("G@virtual:False"), "booleans by string form");
  assert.ok(match("G@nothing:None"));
  assert.ok(match("G@time:12:30"), "values may contain the delimiter");
  assert.ok(match("G@deep:a:b:c:leaf"));
  assert.ok(match("G@deep:a:b"), "a map matches a key it has");
  assert.ok(
    match("G@disks:0:name:vda") && match("G@disks:name:vda"),
    "list index and list of maps",
  );
  assert.ok(match("G%@deep%a%b%c%leaf"), "custom delimiter");
  assert.ok(match("G@os:platform_version:12"));
  assert.ok(compileTarget("os:family:debian", "grain").matches(debian));
  assert.ok(!match("G@os:family:debian", rocky));
  assert.ok(
    match("G@motd:hello wor*", { id: "x", facts: { motd: "Hello World" } }),
    "spaces in a lone matcher",
  );
});

Deno.test("target - G@ and P@ match Salt's grain names, through the index too", () => {
  const salty = (expr: string, p: PeelView = debian) =>
    compileTarget(expr, undefined).matches(p) &&
    resolveTarget(compileTarget(expr), indexOf([debian, rocky])).includes(p.id);
  assert.ok(salty("G@os_family:Debian"), "os_family");
  assert.ok(salty("G@os_family:RedHat", rocky));
  assert.ok(salty("G@osmajorrelease:12") && salty("G@osrelease:12"), "release grains");
  assert.ok(salty("G@kernel:Linux"));
  assert.ok(salty("P@os_family:(debian|suse)") && !match("P@os_family:suse"));
  assert.ok(salty("G@num_cpus:4") && salty("G@ipv4:10.1.2.*"));
  assert.ok(compileTarget("os_family:Debian", "grain").matches(debian), "-G");
  assert.deepEqual(resolveTarget(compileTarget("G@os_family:Debian"), indexOf([debian, rocky])), [
    "web-01",
  ]);
});

Deno.test("target - P@ fact regex lowercases both sides", () => {
  assert.ok(match("P@os:name:(RedHat|Debian)"));
  assert.ok(match("P@os:name:deb"), "anchored at the start, not the end");
  assert.ok(!match("P@os:name:ebian"));
  assert.ok(match("P@planets:^(mercury|mars)$"));
  assert.ok(compileTarget("os:family:(debian|ubuntu)", "grain_pcre").matches(debian));
});

Deno.test("target - I@ matches settings, not facts", () => {
  assert.ok(match("I@app:tier:gold"));
  assert.ok(match("I@users:alice"));
  assert.ok(!match("I@role:web"), "facts are not settings");
  assert.ok(!match("I@app:tier:gold", rocky), "no settings, no match");
  assert.ok(match("J@app:tier:^g"));
  assert.ok(compileTarget("app:tier:g*", "pillar").matches(debian));
});

Deno.test("target - S@ subnets and addresses, IPv4 and IPv6", () => {
  assert.ok(match("S@10.0.0.0/8"));
  assert.ok(match("S@10.1.2.3"));
  assert.ok(!match("S@10.1.2.4"));
  assert.ok(match("S@192.168.1.0/24", rocky) && !match("S@192.168.1.0/24"));
  assert.ok(match("S@fd00::/16"));
  assert.ok(match("S@fd00::1:5/128"));
  assert.ok(!match("S@fe80::/10"));
  assert.ok(match("S@0.0.0.0/0"));
  assert.ok(compileTarget("10.1.0.0/16", "ipcidr").matches(debian));
});

Deno.test("target - N@ nodegroups, nested, as strings or token lists", () => {
  const nodegroups = {
    web: "web-*",
    debian: "G@os:family:debian",
    webdeb: "N@web and N@debian",
    tokens: ["G@role:db", "or", "G@role:web"],
    ids: ["db-01", "web-09"],
    loop_a: "N@loop_b",
    loop_b: "N@loop_a",
  };
  assert.ok(match("N@webdeb", debian, { nodegroups }));
  assert.ok(!match("N@webdeb", rocky, { nodegroups }));
  assert.ok(match("N@tokens", rocky, { nodegroups }) && match("N@tokens", debian, { nodegroups }));
  assert.ok(match("N@ids", rocky, { nodegroups }) && !match("N@ids", debian, { nodegroups }));
  assert.ok(compileTarget("web", "nodegroup", { nodegroups }).matches(debian));
  err("N@loop_a", /nodegroup cycle loop_a -> loop_b -> loop_a/, { nodegroups });
  err("web* and N@nope", /unknown nodegroup "nope" at 11/, { nodegroups });
});

Deno.test("target - compound precedence: not > and > or", () => {
  assert.ok(match("db-* or web-* and G@role:web"));
  assert.ok(!match("db-* or web-* and G@role:db"));
  assert.ok(match("( db-* or web-* ) and G@role:web"));
  assert.ok(!match("( db-* or web-* ) and G@role:db"));
  assert.ok(match("not db-*"), "a leading not works");
  assert.ok(!match("not web-*"));
  assert.ok(match("not not web-*"));
  assert.ok(match("* and not G@os:family:redhat"));
  assert.ok(match("web-* AND G@os:Debian"), "operators are case-insensitive");
  assert.ok(match("(web-* or db-*) and not (G@role:db)"), "parentheses without spaces");
  assert.ok(match("(  web-*   or db-* )  and G@role:web"), "whitespace inside parentheses");
  assert.ok(match("E@web1-(prod|dev) or web-01"));
  assert.ok(match("webserv* and G@os:Debian or E@web-0"));
  assert.equal(detectKind("web-* and G@os:Debian"), "compound");
  assert.equal(detectKind("G@os:Debian"), "grain");
});

Deno.test("target - bad expressions name the position and what was expected", () => {
  err("web-* and (", /^Cannot parse target "web-\* and \(": unbalanced parenthesis at 10$/);
  err("( web-* or db-*", /unbalanced parenthesis at 0/);
  err("web-* )", /unbalanced parenthesis at 6/);
  err("web-* and", /expected a target after "and" at 9/);
  err("and web-*", /expected a target, found "and" at 0/);
  err("web-* db-*", /expected "and" or "or", found "db-\*" at 6/);
  err("X@foo", /unknown matcher X@ at 0/);
  err("web-* or Q@x", /unknown matcher Q@ at 9/);
  err("E@web(", /invalid regex "web\(".* at 2/);
  err("S@10.0.0.0/33", /invalid CIDR "10.0.0.0\/33" at 2/);
  err("S@300.1.1.1", /invalid CIDR/);
  err("G@role", /G@ needs key:value, got "role"/);
  err("E@" + "a".repeat(600), /regex longer than 512 characters/);
  err("   ", /the expression is empty/);
  err("L@", /empty list/);
});
