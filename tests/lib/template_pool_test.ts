/**
 * The template pool: one worker a process's runs share (a second run starts none), ended when
 * idle, and replaced after a render that breaks it, which fails that render alone.
 */
import assert from "node:assert/strict";
import { compileSettings } from "../../lib/settings/mod.ts";
import {
  TemplateError,
  type TemplateHost,
  TemplatePool,
  templatePool,
  TemplateRenderer,
} from "../../lib/template/mod.ts";

const ctx = { peelId: "web-01", facts: { id: "web-01" }, settings: { port: 80 } };
const treeA = new Map([["a.jinja", "{% macro m() %}A{% endmacro %}"]]);
const treeB = new Map([["b.jinja", "{% macro m() %}B{% endmacro %}"]]);

Deno.test("template pool - later runs, on the same tree or another, reuse the worker", async () => {
  using pool = new TemplatePool();
  for (const [tree, name, want] of [[treeA, "a", "A"], [treeA, "a", "A"], [treeB, "b", "B"]]) {
    using run = new TemplateRenderer(() => tree as Map<string, string>, { pool });
    const text = `{% import "${name}.jinja" as x %}{{ x.m() }} {{ settings.port }}`;
    assert.equal(await run.render(text, "t.zy", ctx), `${want} 80`);
  }
  assert.equal(pool.starts, 1);
});

Deno.test("template pool - settings compiles share the process's worker", async () => {
  const files = new Map([
    ["top.zy", "base:\n  '*':\n    - common\n"],
    ["common.zy", "port: {{ 40 * 2 }}\nid: {{ grains['id'] }}\n"],
  ]);
  const compile = (peelId: string) => compileSettings({ files, peelId, facts: { id: peelId } });
  assert.deepEqual(await compile("web-01"), { port: 80, id: "web-01" });
  const starts = templatePool().starts;
  assert.deepEqual(await compile("web-02"), { port: 80, id: "web-02" });
  assert.equal(templatePool().starts, starts);
  assert.ok(templatePool().running);
});

Deno.test("template pool - the worker ends after its idle time and starts again", async () => {
  using pool = new TemplatePool({ idleMs: 200 });
  using run = new TemplateRenderer(() => treeA, { pool });
  assert.equal(await run.render("{{ 1 + 1 }}", "t.zy", ctx), "2");
  assert.ok(pool.running);
  await new Promise((r) => setTimeout(r, 600));
  assert.ok(!pool.running);
  assert.equal(await run.render("{{ 2 + 2 }}", "t.zy", ctx), "4");
  assert.equal(pool.starts, 2);
});

Deno.test("template pool - a render that times out fails alone; the runs queued behind it go on", async () => {
  using pool = new TemplatePool();
  using slow = new TemplateRenderer(() => treeA, { pool, timeoutMs: 1_500 });
  using other = new TemplateRenderer(() => treeB, { pool });
  // Each run hashes its tree before it queues: done first, so the slow render queues first.
  assert.equal(await slow.render("{{ 0 }}", "warm.zy", ctx), "0");
  assert.equal(await other.render("{{ 0 }}", "warm.zy", ctx), "0");
  assert.equal(pool.starts, 1);
  const [stuck, next] = await Promise.allSettled([
    slow.render("{% for i in range(100000000) %}{% endfor %}", "loop.zy", ctx),
    other.render(`{% import "b.jinja" as x %}{{ x.m() }}`, "ok.zy", ctx),
  ]);
  assert.equal(stuck.status, "rejected");
  assert.ok(
    stuck.reason instanceof TemplateError &&
      /loop\.zy.*longer than 1500 ms/.test(stuck.reason.message),
    String(stuck.reason),
  );
  assert.deepEqual(next, { status: "fulfilled", value: "B" });
  assert.equal(pool.starts, 2);
  // The run that timed out renders again, on the new worker.
  assert.equal(await slow.render("{{ 3 }}", "ok.zy", ctx), "3");
  assert.equal(pool.starts, 2);
});

Deno.test("template pool - a closed run's queued renders fail, the others go on", async () => {
  using pool = new TemplatePool();
  const release = Promise.withResolvers<void>();
  const asked = Promise.withResolvers<void>();
  // A host whose command ends when the test says: the open run holds the worker until then.
  const host: TemplateHost = {
    run: async () => {
      asked.resolve();
      await release.promise;
      return { retcode: 0, stdout: "x", stderr: "" };
    },
    stat: () => Promise.resolve({ exists: false }),
    read: () => Promise.resolve(""),
  };
  using open = new TemplateRenderer(() => treeA, { pool, host });
  const closed = new TemplateRenderer(() => treeA, { pool });
  const busy = open.render("{{ salt['cmd.run']('wait') }}", "busy.zy", ctx);
  await asked.promise;
  const queued = closed.render("{{ 1 }}", "late.zy", ctx);
  await new Promise((r) => setTimeout(r, 50));
  closed.close();
  await assert.rejects(queued, /late\.zy.*the renderer was closed/);
  release.resolve();
  assert.equal(await busy, "x");
  await assert.rejects(closed.render("{{ 1 }}", "after.zy", ctx), /renderer was closed/);
});
