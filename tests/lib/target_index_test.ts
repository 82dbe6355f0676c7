/** Property tests: the index and a full scan agree on random fleets and random expressions. */
import assert from "node:assert/strict";
import { COMPUTED_GRAINS, saltGrains } from "../../lib/grains/mod.ts";
import { compileTarget, PeelIndex, resolveTarget, scanTarget } from "../../lib/target/mod.ts";

/** A small seeded PRNG (mulberry32), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const PREFIXES = ["web-", "db-", "cache-", "web-eu-", "lb"];
const OS = [
  { name: "Debian", family: "debian" },
  { name: "Ubuntu", family: "debian" },
  { name: "Rocky", family: "redhat" },
];
const ROLES = ["web", "db", "Cache", "worker"];

function randomFacts(r: () => number, id: string): Record<string, unknown> {
  const facts: Record<string, unknown> = {
    id,
    os: { ...pick(r, OS), version: pick(r, [12, 24.04, "9.4"]) },
    role: pick(r, ROLES),
    cpu: { count: pick(r, [1, 2, 4, 8]) },
    virtual: r() < 0.5,
    tags: Array.from({ length: Math.floor(r() * 3) }, () => pick(r, ["a", "b", "prod", "Dev"])),
    network: { ipv4: [`10.${Math.floor(r() * 4)}.0.${Math.floor(r() * 250)}`] },
    disks: [{ name: pick(r, ["vda", "sda"]), size: pick(r, [10, 20]) }],
  };
  if (r() < 0.3) facts.extra = { deep: { leaf: pick(r, ["x", "y", null]) } };
  if (r() < 0.2) delete facts.role;
  return facts;
}

function randomTerm(r: () => number): string {
  const kind = Math.floor(r() * 9);
  switch (kind) {
    case 0:
      return pick(r, PREFIXES) + pick(r, ["*", "1*", "0?", "[0-4]*", ""]) + pick(r, ["", "*"]);
    case 1:
      return `L@${pick(r, PREFIXES)}${Math.floor(r() * 30)},${pick(r, PREFIXES)}${
        Math.floor(r() * 30)
      }`;
    case 2:
      return `G@${
        pick(r, [
          "os:family",
          "os",
          "os:name",
          "os.family",
          "role",
          "tags",
          "cpu:count",
          "virtual",
          "extra:deep:leaf",
          "disks:name",
          "disks:0:size",
          "missing",
        ])
      }:${
        pick(r, [
          "debian",
          "Debian",
          "deb*",
          "*",
          "web",
          "ca*",
          "prod",
          "4",
          "true",
          "None",
          "x",
          "vda",
          "20",
          "?b",
        ])
      }`;
    case 3:
      return `P@${pick(r, ["os:family", "role", "tags"])}:${
        pick(r, ["deb", "(web|db)", "^c", "prod$", "d"])
      }`;
    case 4:
      return `E@${pick(r, ["web", "db-1", "(web|lb)", ".*-0"])}`;
    case 5:
      return `S@${pick(r, ["10.0.0.0/16", "10.1.0.0/16", "10.0.0.0/8", "192.168.0.0/16"])}`;
    case 6:
      return "*";
    default:
      return `G@${pick(r, ["role", "os:family"])}:${pick(r, ["web", "db", "debian", "redhat"])}`;
  }
}

function randomExpr(r: () => number, depth = 0): string {
  const x = r();
  if (depth > 2 || x < 0.35) return randomTerm(r);
  if (x < 0.5) return `not ${randomExpr(r, depth + 1)}`;
  if (x < 0.6) return `( ${randomExpr(r, depth + 1)} )`;
  return `${randomExpr(r, depth + 1)} ${pick(r, ["and", "or"])} ${randomExpr(r, depth + 1)}`;
}

Deno.test("target index - index and full scan agree on random fleets and expressions", () => {
  for (const seed of [1, 2, 3, 4]) {
    const r = rng(seed);
    const ix = new PeelIndex();
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const id = `${pick(r, PREFIXES)}${Math.floor(r() * 40)}`;
      ids.push(id);
      ix.set(id, randomFacts(r, id));
    }
    let narrowed = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 150; i++) {
        const expr = randomExpr(r);
        const t = compileTarget(expr);
        const scanned = scanTarget(t, ix);
        const s = t.select(ix);
        if (s) {
          narrowed++;
          const matched = new Set(scanned);
          const wrong = [...s.sure].filter((id) => matched.has(id) === s.negated);
          assert.deepEqual(wrong, [], `seed ${seed}: the index is wrong for sure ids of ${expr}`);
          const missed = ix.ids.filter((id) =>
            !s.sure.has(id) && !s.maybe.has(id) && matched.has(id) !== s.negated
          );
          assert.deepEqual(missed, [], `seed ${seed}: the index is wrong for other ids of ${expr}`);
        }
        assert.deepEqual(resolveTarget(t, ix), scanned, `seed ${seed}: ${expr}`);
      }
      // Change the fleet: new facts for some, some gone, some new.
      for (let i = 0; i < 40; i++) {
        const id = pick(r, ids);
        if (r() < 0.3) ix.delete(id);
        else ix.set(id, randomFacts(r, id));
      }
    }
    assert.ok(narrowed > 100, `the index narrowed only ${narrowed} expressions`);
  }
});

Deno.test("target index - prefix lookups and values follow updates", () => {
  const ix = new PeelIndex();
  ix.set("web-01", { role: "web", os: { name: "Debian" } });
  ix.set("web-02", { role: "db" });
  ix.set("db-01", { role: "db" });
  assert.deepEqual(ix.idsWithPrefix("web-"), ["web-01", "web-02"]);
  assert.deepEqual([...ix.idsWith("role", "db")].sort(), ["db-01", "web-02"]);
  assert.ok([...ix.valuesAt("os")].includes("debian"), "a namespace is indexed by its name");
  ix.set("web-02", { role: "web" });
  assert.deepEqual([...ix.idsWith("role", "db")], ["db-01"]);
  ix.delete("db-01");
  assert.deepEqual([...ix.idsWith("role", "db")], []);
  assert.deepEqual(ix.idsWithPrefix(""), ["web-01", "web-02"]);
  assert.equal(ix.size, 2);
  const sure = (expr: string) => [...compileTarget(expr).select(ix)!.sure].sort();
  assert.deepEqual(sure("web-* and G@role:web"), ["web-01", "web-02"]);
  assert.deepEqual(sure("G@role:web or G@role:db"), ["web-01", "web-02"]);
  assert.deepEqual(sure("not web-01"), ["web-01"], "the ids a negated selection rules out");
  assert.equal(compileTarget("not S@10.0.0.0/8").select(ix), undefined, "S@ reads facts");
});

Deno.test("target index - ids whose values the index reads more broadly than a matcher are tested", () => {
  const ix = new PeelIndex();
  ix.set("lists", { disks: [{ name: "sda" }, { name: "vda" }], tags: [], role: "\u0130" });
  ix.set("plain", { disks: { name: "vda" }, tags: ["a"], role: "web" });
  const resolve = (expr: string) => resolveTarget(compileTarget(expr), ix);
  assert.deepEqual(resolve("G@disks:name:vda"), ["plain"], "a list's first map holding the key");
  assert.deepEqual(resolve("G@tags:*"), ["plain"], "an empty list has no element to match");
  assert.deepEqual(resolve("G@role:i\u0307"), [], "a lowercase form of another length");
  assert.deepEqual(resolve("not G@disks:name:vda"), ["lists"]);
  assert.deepEqual(compileTarget("G@disks:name:vda").select(ix)!.maybe, new Set(["lists"]));
});

Deno.test("target index - packed facts match as the documents did: Salt grains, values JSON cannot carry", () => {
  const r = rng(7);
  const ix = new PeelIndex();
  const docs = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < 200; i++) {
    const id = `p-${i}`;
    const facts = randomFacts(r, id);
    docs.set(id, facts);
    ix.set(id, facts);
  }
  // Expected from the whole grains document of each peel's original facts.
  const having = (key: string, value: string) =>
    [...docs].filter(([, f]) => {
      const v = saltGrains(f)[key];
      return (Array.isArray(v) ? v : [v]).some((x) => String(x).toLowerCase() === value);
    }).map(([id]) => id).sort();
  for (const f of docs.values()) {
    for (const [k, v] of Object.entries(saltGrains(f))) {
      if (v !== f[k]) assert.ok(COMPUTED_GRAINS.has(k), `grain "${k}" is listed as computed`);
    }
  }
  for (const [key, value] of [["os", "debian"], ["os_family", "redhat"], ["num_cpus", "4"]]) {
    const ids = resolveTarget(compileTarget(`G@${key}:${value}`), ix);
    assert.deepEqual(ids, having(key!, value!), `G@${key}:${value}`);
    assert.ok(ids.length > 0, `G@${key}:${value} selects some peels`);
  }
  const debian = [...docs].filter(([, f]) => (f.os as { family: string }).family === "debian");
  assert.deepEqual(
    resolveTarget(compileTarget("G@os:family:debian"), ix),
    debian.map(([id]) => id).sort(),
  );
  ix.set("odd", { when: new Date(0), raw: new Uint8Array([1]), ratio: NaN, os: { name: "X" } });
  const odd = ix.get("odd")!.facts;
  assert.ok(odd.when instanceof Date && odd.raw instanceof Uint8Array);
  assert.deepEqual(resolveTarget(compileTarget("G@ratio:NaN"), ix), ["odd"]);
});

Deno.test("target index - facts and settings stay right through many updates and removals", () => {
  const ix = new PeelIndex();
  const big = Array.from({ length: 200 }, (_, i) => `package-${i}`);
  const facts = (id: string, round: number) => ({ id, round, role: round % 2 ? "web" : "db", big });
  assert.deepEqual(resolveTarget(compileTarget("G@role:web"), ix), [], "the role path is indexed");
  // 40 peels of about 2 KB each, replaced 50 times: the store copies its live bytes many times.
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) {
      const id = `p-${String(i).padStart(2, "0")}`;
      ix.set(id, facts(id, round), i % 3 ? { tier: `t${round}` } : undefined);
    }
    ix.delete(`p-${String(round % 40).padStart(2, "0")}`);
  }
  assert.equal(ix.size, 39);
  assert.equal(ix.get("p-09"), undefined, "the last removal holds");
  const web = resolveTarget(compileTarget("G@role:web"), ix);
  assert.equal(web.length, 39, "round 49 is odd: every peel is web");
  assert.deepEqual(resolveTarget(compileTarget("G@role:db"), ix), []);
  assert.deepEqual(ix.get("p-01")!.facts, facts("p-01", 49));
  assert.deepEqual(ix.get("p-01")!.settings, { tier: "t49" });
  assert.equal(ix.get("p-03")!.settings, undefined, "settings sent no more are gone");
  assert.equal(resolveTarget(compileTarget("I@tier:t49"), ix).length, 26);
  assert.deepEqual(
    scanTarget(compileTarget("G@round:49"), ix),
    [...ix.peels()].map((p) => p.id).sort(),
  );
});

Deno.test("target index - one fact read from packed bytes equals the whole document's", () => {
  const many = <T>(n: number, f: (i: number) => T): T[] =>
    Array.from({ length: n }, (_, i) => f(i));
  const facts: Record<string, unknown> = {
    small: [0, 127, -1, -32, -33, 255, 256, 65535, 65536, 2 ** 32, -129, -32769, -(2 ** 31) - 1],
    floats: [0.5, 1e300, -2.25, NaN],
    strings: ["", "a".repeat(31), "b".repeat(32), "c".repeat(256), "d".repeat(65536), "é∑"],
    flags: [true, false, null],
    bin: [new Uint8Array(3), new Uint8Array(300), new Uint8Array(70000)],
    when: new Date(1_700_000_000_123),
    array16: many(20, (i) => i),
    map16: Object.fromEntries(many(20, (i): [string, unknown] => [`k${i}`, { v: i }])),
    ["long-key-".repeat(5)]: "long key",
    nested: { a: [{ b: { c: [1, "x"] } }] },
    ...Object.fromEntries(many(20, (i): [string, unknown] => [`top${i}`, i])),
    last: "found",
  };
  const ix = new PeelIndex();
  ix.set("p", facts);
  const peel = ix.get("p")!;
  const whole = peel.facts;
  for (const key of Object.keys(facts)) {
    assert.deepEqual(ix.get("p")!.factsAt!([key]), { [key]: whole[key] }, key);
  }
  assert.deepEqual(ix.get("p")!.factsAt!(["missing", "last"]), { last: "found" });
});
