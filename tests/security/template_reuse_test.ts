/**
 * Template runs sharing a worker: the process keeps one template worker for all its state runs and
 * settings compiles, so whatever a run's templates leave in it would reach the next run, which may
 * be another peel's (the master compiles every peel's settings top file) or render on another
 * host. A run tries to leave its secret where a later run could read it — variables, the context
 * objects, Salt's tables, a namespace, built-in prototypes, the last render's extra variables —
 * and the next run looks for it everywhere; it must find nothing. A run cannot reach another run's
 * tree, and its host calls reach its own host only.
 */
import assert from "node:assert/strict";
import {
  type TemplateContext,
  type TemplateHost,
  TemplatePool,
  TemplateRenderer,
} from "../../lib/template/mod.ts";

const SECRET = "s3cret-of-run-a";

/** Each tries to leave the secret (in `settings.token` and `vars.token`) behind. */
const STASHES = [
  "{% set leak = settings.token %}{% set ns = namespace(leak=settings.token) %}",
  "{% do grains.update({'leak': settings.token}) %}",
  "{% do pillar.update({'leak': settings.token}) %}{% do settings.update({'leak': token}) %}",
  "{% do facts.update({'leak': settings.token}) %}",
  "{% do salt.update({'leak': settings.token}) %}",
  "{% do opts.update({'leak': settings.token}) %}",
  "{% do opts.grains.update({'leak': settings.token}) %}",
  "{% do {}.update({'__proto__': {'leak': settings.token}}) %}",
  "{% set d = {'__proto__': {'leak': settings.token}} %}{% do d.update({'leak': token}) %}",
  "{% do [].append(settings.token) %}{% do ''.join([settings.token]) %}",
  "{% do range.update({'leak': token}) %}",
  "{% do cycler.update({'leak': token}) %}",
  "{% macro leak() %}{{ token }}{% endmacro %}{% do odict.update({'leak': leak}) %}",
];

/** What the next run renders: every place a secret could have been left. */
const PROBE = [
  "{{ leak }}",
  "{{ token }}",
  "{{ ns }}",
  "{{ grains.leak }}",
  "{{ pillar.leak }}",
  "{{ settings.leak }}",
  "{{ facts.leak }}",
  "{{ salt.get('leak') }}",
  "{{ opts.leak }}",
  "{{ opts.grains.leak }}",
  "{{ {}.leak }}",
  "{{ [].leak }}",
  "{{ ''.leak }}",
  "{{ namespace().leak }}",
].join("|");

function context(settings: Record<string, unknown>, vars?: Record<string, unknown>) {
  return { peelId: "web-01", facts: { id: "web-01" }, settings, vars } satisfies TemplateContext;
}

/** A host that records the commands it was asked to run. */
function recordingHost(calls: string[]): TemplateHost {
  return {
    run: (cmd) => {
      calls.push(cmd);
      return Promise.resolve({ retcode: 0, stdout: `ran ${cmd}`, stderr: "" });
    },
    stat: () => Promise.resolve({ exists: false }),
    read: () => Promise.resolve(""),
  };
}

Deno.test("template reuse - nothing a run leaves in the shared worker reaches the next run", async () => {
  using pool = new TemplatePool();
  const files = new Map([["common.jinja", "{% macro m() %}ok{% endmacro %}"]]);
  {
    using a = new TemplateRenderer(() => files, { pool });
    const ctx = context({ token: SECRET }, { token: SECRET });
    // Each stash renders on its own: one refused must not stop the others.
    for (const stash of STASHES) await a.render(stash, "a.zy", ctx).catch(() => {});
    assert.equal(
      await a.render("{{ token }} {{ settings.token }}", "a.zy", ctx),
      `${SECRET} ${SECRET}`,
    );
  }
  using b = new TemplateRenderer(() => files, { pool });
  const out = await b.render(PROBE, "b.zy", context({}));
  assert.equal(pool.starts, 1, "the runs shared one worker");
  assert.doesNotMatch(out, new RegExp(SECRET));
  // Salt's `dict.get` of a missing key prints None; every other probe prints nothing.
  assert.equal(out, "|||||||None||||||");
});

Deno.test("template reuse - a run reaches neither another run's tree nor its host", async () => {
  using pool = new TemplatePool();
  const callsA: string[] = [];
  const callsB: string[] = [];
  const treeA = new Map([["private.jinja", SECRET]]);
  const treeB = new Map([["public.jinja", "public"]]);
  using a = new TemplateRenderer(() => treeA, { pool, host: recordingHost(callsA) });
  using b = new TemplateRenderer(() => treeB, { pool, host: recordingHost(callsB) });
  assert.equal(await a.render('{% include "private.jinja" %}', "a.zy", context({})), SECRET);
  await assert.rejects(
    b.render('{% include "private.jinja" %}', "b.zy", context({})),
    /template not found: private\.jinja/,
  );
  assert.equal(
    await b.render("{{ salt['slsutil.file_exists']('private.jinja') }}", "b.zy", context({})),
    "False",
  );
  // Renders of both runs in flight at once: each command goes to its own run's host.
  const outs = await Promise.all(
    Array.from({ length: 6 }, (_, i) => {
      const [run, who] = i % 2 ? [b, "b"] : [a, "a"];
      return run.render(`{{ salt['cmd.run']('echo ${who}${i}') }}`, `${who}.zy`, context({}));
    }),
  );
  assert.deepEqual(outs, [
    "ran echo a0",
    "ran echo b1",
    "ran echo a2",
    "ran echo b3",
    "ran echo a4",
    "ran echo b5",
  ]);
  assert.deepEqual(callsA, ["echo a0", "echo a2", "echo a4"]);
  assert.deepEqual(callsB, ["echo b1", "echo b3", "echo b5"]);
  assert.equal(pool.starts, 1);
});
