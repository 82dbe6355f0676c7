/**
 * Introspection functions: what a peel lists and documents, `grains.item`, and
 * `state.single`, `state.show_top`, `state.show_lowstate` over a state tree and a real broker.
 */
import assert from "node:assert/strict";
import { Logger } from "../../lib/log/mod.ts";
import type { BrokerClient } from "../../peel/broker/mod.ts";
import { FUNCTIONS } from "../../peel/functions/mod.ts";
import { DOCS } from "../../peel/functions/introspect.ts";
import { dirTree } from "../../peel/state/mod.ts";
import { tempDir } from "../harness/mod.ts";
import { stateBench } from "../harness/states.ts";

function context(broker: BrokerClient, tree?: string) {
  return {
    peelId: "web-01",
    jid: "jid-1",
    facts: () => ({ os: { family: "debian", name: "Debian" }, role: "web" }),
    broker,
    signal: new AbortController().signal,
    timeoutMs: 60_000,
    log: new Logger({ level: "error", sink: () => {} }),
    states: tree === undefined ? undefined : dirTree(tree),
  };
}

async function call(
  ctx: ReturnType<typeof context>,
  fun: string,
  args: unknown[] = [],
  kwargs: Record<string, unknown> = {},
) {
  return await FUNCTIONS.get(fun)!(ctx, args, kwargs);
}

Deno.test("introspect - sys.doc documents every function, sys.list_* filter as Salt's", async () => {
  assert.deepEqual(Object.keys(DOCS).sort(), [...FUNCTIONS.keys()].sort(), "one doc per function");
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  const ctx = context(b.broker);
  try {
    assert.deepEqual((await call(ctx, "sys.list_functions", ["pkg"])).result, [
      "pkg.latest_version",
      "pkg.list_pkgs",
      "pkg.refresh_db",
      "pkg.version",
    ]);
    assert.deepEqual((await call(ctx, "sys.list_functions", ["service.st*"])).result, [
      "service.start",
      "service.status",
      "service.stop",
    ]);
    const states = (await call(ctx, "sys.list_state_functions")).result as string[];
    for (const f of ["file.recurse", "user.present", "pkgrepo.managed", "cron.env_present"]) {
      assert.ok(states.includes(f), f);
    }
    assert.deepEqual((await call(ctx, "sys.list_state_functions", ["group"])).result, [
      "group.absent",
      "group.present",
    ]);
    assert.deepEqual((await call(ctx, "sys.doc", ["test.ping"])).result, {
      "test.ping": "test.ping: True when the peel answers",
    });
    assert.deepEqual((await call(ctx, "grains.item", ["os:family", "role", "nope"])).result, {
      "os:family": "debian",
      role: "web",
      nope: "",
    });
    await assert.rejects(call(ctx, "grains.item"), /grains.item needs at least one key/);
  } finally {
    await b.close();
  }
});

Deno.test("introspect - state.single runs one state; show_top and show_lowstate read the top file", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  await Deno.writeTextFile(
    `${b.tree}/top.zy`,
    "base:\n  '*':\n    - common\n  'db-*':\n    - db\n  'G@role:web':\n    - match: compound\n    - web\n",
  );
  await Deno.writeTextFile(
    `${b.tree}/common.zy`,
    `motd:\n  file.managed:\n    - name: ${b.files}/motd\n    - content: hi\n`,
  );
  await Deno.writeTextFile(
    `${b.tree}/web.zy`,
    `www:\n  file.directory:\n    - name: ${b.files}/www\n`,
  );
  const ctx = context(b.broker, b.tree);
  try {
    assert.deepEqual((await call(ctx, "state.show_top")).result, { base: ["common", "web"] });
    const low = (await call(ctx, "state.show_lowstate")).result as { id: string; fun: string }[];
    assert.deepEqual(low.map((c) => `${c.id} ${c.fun}`), ["motd managed", "www directory"]);
    const path = `${b.files}/touched`;
    const dry = await call(ctx, "state.single", ["file.touch", path], { test: true });
    const run = dry.result as { states: { result: boolean | null; changes: unknown }[] };
    assert.deepEqual([run.states[0]!.result, run.states[0]!.changes], [null, { new: path }]);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    const done = await call(ctx, "state.single", [], { fun: "file.touch", name: path });
    assert.equal(done.success, true);
    assert.ok((await Deno.stat(path)).isFile);
    await assert.rejects(call(ctx, "state.single", ["rm -rf /", "x"]), /is not a state function/);
    await assert.rejects(
      call(ctx, "state.single", ["file.nope", "x"]),
      /"file.nope" is not available/,
    );
    await assert.rejects(call(context(b.broker), "state.show_top"), /no state tree yet/);
  } finally {
    await b.close();
  }
});
