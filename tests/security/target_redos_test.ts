/**
 * Attack: a target expression built to backtrack exponentially. `E@(a|a)*b` against a 26-character
 * id took 3.2 s of a master's event loop; a glob such as `*a*a*a*a*a*a*a*b` against a 128-character
 * id took longer than anyone waited. Every master in the queue group would take its turn.
 */
import assert from "node:assert/strict";
import { BUCKETS, decode, encode, kvSubject, subjects } from "../../lib/bus/mod.ts";
import { AckedPublisher } from "../../lib/bus/mod.ts";
import {
  client,
  closeClient,
  startMaster,
  startNatsServer,
  tempDir,
  until,
  zesterAt,
} from "../harness/mod.ts";

const IDS = ["a".repeat(40), "a".repeat(128), "web-01"];

Deno.test("target ReDoS - catastrophic regexes and globs resolve at once on a real master", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  await using master = await startMaster(`${dir.path}/master`, ns.url);
  const nc = await client(ns.url);
  try {
    const facts = new AckedPublisher(nc);
    await Promise.all(IDS.map((id) =>
      facts.publish(
        kvSubject(BUCKETS.facts.name, id),
        encode({ peel_id: id, facts: { id, motd: "a".repeat(4000) }, collected: "now" }),
      )
    ));
    facts.close();
    const resolve = async (tgt: string) => {
      const t0 = performance.now();
      const r = decode(
        (await nc.request(subjects.targetResolve, encode({ tgt }), { timeout: 5_000 })).data,
      ) as { ok: boolean; ids?: string[]; error?: string };
      return { ...r, ms: performance.now() - t0 };
    };
    // The index fills from a watch: wait until every peel is known.
    await until("every peel indexed", async () => (await resolve("*")).ids?.length === IDS.length);
    for (const tgt of ["E@(a|a)*b", "E@(a+)+b", "*a*a*a*a*a*a*a*a*b", "P@motd:(a|a)*b"]) {
      const r = await resolve(tgt);
      assert.equal(r.ok, true, `${tgt}: ${r.error}`);
      assert.deepEqual(r.ids, [], tgt);
      assert.ok(r.ms < 2_000, `${tgt} took ${Math.round(r.ms)} ms`);
    }
    assert.deepEqual((await resolve("E@(a|a)*")).ids?.length, 3, "the same regex still matches");

    const refused = await resolve("E@(a)\\1b");
    assert.equal(refused.ok, false);
    assert.match(
      refused.error ?? "",
      /regex "\(a\)\\1b" cannot run in linear time \(backreferences and lookahead are not supported\)/,
    );
    const cli = await zesterAt(`${dir.path}/cli.yaml`, ns.url, "E@(a|a)*b", "--preview");
    assert.match(cli.stdout, /No peels matched/);
    assert.ok(master.output().includes("master ready"));
  } finally {
    await closeClient(nc);
  }
});

Deno.test("target ReDoS - a master without the linear-time engine refuses to start", async () => {
  await using dir = await tempDir();
  const main = new URL("../../master/main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", main, "--config", `${dir.path}/master.yaml`],
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 2);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /Refusing to start without --v8-flags=--enable-experimental-regexp-engine/,
  );
});
