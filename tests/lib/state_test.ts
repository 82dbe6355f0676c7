/** The state compiler, planner and runner, with the test state module. */
import assert from "node:assert/strict";
import {
  compile,
  loadTree,
  parseSls,
  plan,
  type RunHost,
  runPlan,
  type SlsFile,
  StateError,
  summarize,
} from "../../lib/state/mod.ts";
import { testStates } from "../../peel/modules/test.ts";

const host: RunHost = {
  fn: (name) => name.startsWith("test.") ? testStates[name.slice(5)] : undefined,
  guard: (cmd) => Promise.resolve(cmd === "true" ? 0 : 1),
  exists: (path) => Promise.resolve(path === "/exists"),
};

function tree(files: Record<string, string>) {
  return (ref: string): Promise<SlsFile> => {
    const text = files[ref];
    if (text === undefined) return Promise.reject(new StateError(`No SLS "${ref}"`));
    return Promise.resolve(parseSls(text, ref, `${ref.replaceAll(".", "/")}.zy`));
  };
}

async function run(files: Record<string, string>, refs = ["main"], test = false) {
  const p = plan(compile(await loadTree(refs, tree(files))));
  const results = await runPlan(p, { test, host });
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

Deno.test("states - short forms and names", async () => {
  const r = await run({
    main: `
a:
  test.nop: []
b:
  test:
    - succeed_with_changes
    - comment: hi
c:
  test.succeed_without_changes:
    - names:
      - c1
      - c2
`,
  });
  assert.equal(r.a!.function, "test.nop");
  assert.equal(r.b!.function, "test.succeed_with_changes");
  assert.deepEqual(Object.keys(r), ["a", "b", "c"]);
  const all = await runPlan(
    plan(
      compile(
        await loadTree(["main"], tree({ main: "c:\n  test.nop:\n    - names: [x, y, z]\n" })),
      ),
    ),
    { test: false, host },
  );
  assert.deepEqual(all.map((s) => s.name), ["x", "y", "z"]);
  assert.deepEqual(all.map((s) => s.run_num), [0, 1, 2]);
});

Deno.test("states - require: a failed requisite skips its dependents, saying why", async () => {
  const r = await run({
    main: `
bad:
  test.fail_without_changes: []
dep:
  test.succeed_with_changes:
    - require:
      - test: bad
other:
  test.nop:
    - require:
      - test.succeed_with_changes:dep
`,
  });
  assert.equal(r.bad!.result, false);
  assert.equal(r.dep!.result, false);
  assert.match(r.dep!.comment, /One or more requisite failed: main\.bad/);
  assert.deepEqual(r.dep!.changes, {});
  assert.equal(r.other!.result, false, "failure propagates");
  assert.ok(r.dep!.run_num > r.bad!.run_num);
});

Deno.test("states - onchanges, onfail, watch and their _in forms", async () => {
  const r = await run({
    main: `
changed:
  test.succeed_with_changes: []
quiet:
  test.succeed_without_changes: []
failed:
  test.fail_without_changes: []
on_changed:
  test.succeed_with_changes:
    - onchanges:
      - test: changed
on_quiet:
  test.succeed_with_changes:
    - onchanges:
      - test: quiet
on_fail:
  test.succeed_with_changes:
    - onfail:
      - test: failed
on_no_fail:
  test.succeed_with_changes:
    - onfail:
      - test: quiet
watcher:
  test.nop:
    - watch:
      - test: failed
via_in:
  test.succeed_with_changes:
    - onchanges_in:
      - test: in_target
in_target:
  test.succeed_with_changes: []
`,
  });
  assert.equal(r.on_changed!.result, true);
  assert.notDeepEqual(r.on_changed!.changes, {});
  assert.equal(r.on_quiet!.result, true);
  assert.match(r.on_quiet!.comment, /none of the onchanges reqs changed/);
  assert.deepEqual(r.on_quiet!.changes, {});
  assert.notDeepEqual(r.on_fail!.changes, {}, "onfail runs when its target failed");
  assert.match(r.on_no_fail!.comment, /onfail req did not change/);
  assert.equal(r.watcher!.result, false, "watch fails like require");
  assert.notDeepEqual(r.in_target!.changes, {}, "onchanges_in makes the target wait for changes");
  assert.ok(r.in_target!.run_num > r.via_in!.run_num);
});

Deno.test("states - prereq runs first, and only when its target would change", async () => {
  const r = await run({
    main: `
stop_first:
  test.succeed_with_changes:
    - prereq:
      - test: will_change
will_change:
  test.succeed_with_changes: []
idle:
  test.succeed_with_changes:
    - prereq:
      - test: wont_change
wont_change:
  test.succeed_without_changes: []
`,
  });
  assert.ok(r.stop_first!.run_num < r.will_change!.run_num);
  assert.notDeepEqual(r.stop_first!.changes, {});
  assert.equal(r.idle!.comment, "No changes detected");
  assert.deepEqual(r.idle!.changes, {});
});

Deno.test("states - order, failhard, guards, test mode", async () => {
  const r = await run({
    main: `
z_last:
  test.nop:
    - order: last
a_plain:
  test.nop: []
b_first:
  test.nop:
    - order: first
`,
  });
  assert.deepEqual(
    Object.values(r).sort((x, y) => x.run_num - y.run_num).map((x) => x.id),
    ["b_first", "a_plain", "z_last"],
  );
  const f = await run({
    main: `
boom:
  test.fail_without_changes:
    - failhard: true
after:
  test.nop:
    - require:
      - test: boom
later:
  test.nop:
    - order: last
`,
  });
  assert.match(f.later!.comment, /Skipped: main\.boom failed with failhard/);
  const g = await run({
    main: `
only:
  test.succeed_with_changes:
    - onlyif: "false"
unless:
  test.succeed_with_changes:
    - unless: "true"
creates:
  test.succeed_with_changes:
    - creates: /exists
runs:
  test.succeed_with_changes:
    - onlyif: "true"
`,
  });
  assert.match(g.only!.comment, /onlyif condition is false/);
  assert.match(g.unless!.comment, /unless condition is true/);
  assert.match(g.creates!.comment, /\/exists exists/);
  assert.notDeepEqual(g.runs!.changes, {});
  const t = await run({ main: "x:\n  test.succeed_with_changes: []\n" }, ["main"], true);
  assert.equal(t.x!.result, null, "test mode: result null where it would change");
});

Deno.test("states - include, relative include, extend, and summary", async () => {
  const files = {
    main: "include:\n  - lib.base\nmine:\n  test.nop:\n    - require:\n      - sls: lib.base\n",
    "lib.base":
      "include:\n  - .extra\nbase:\n  test.succeed_with_changes: []\nextend:\n  extra:\n    test.fail_without_changes: []\n",
    "lib.extra": "extra:\n  test.fail_without_changes:\n    - comment: original\n",
  };
  const p = plan(compile(await loadTree(["main"], tree(files))));
  assert.deepEqual(p.chunks.map((c) => `${c.sls}:${c.id}`), [
    "lib.extra:extra",
    "lib.base:base",
    "main:mine",
  ]);
  const results = await runPlan(p, { test: false, host });
  const s = summarize(results);
  assert.deepEqual([s.total, s.failed, s.changed], [3, 1, 1]);
  assert.equal(results[0]!.comment, "Failure!", "extend replaced the function, kept the id");
});

Deno.test("states - errors name the states, files and lines", async () => {
  const rejects = (files: Record<string, string>, re: RegExp) =>
    assert.rejects(async () => plan(compile(await loadTree(["main"], tree(files)))), re);
  await rejects(
    { main: "a:\n  test.nop:\n    - require:\n      - cmd: missing\n" },
    /Referenced state does not exist for requisite \[require: \(cmd: missing\)\] in test.nop "a"/,
  );
  await rejects({
    main: "a:\n  test.nop:\n    - require: [b]\nb:\n  test.nop:\n    - require: [a]\n",
  }, /Recursive requisites were found: test.nop "a".*test.nop "b"/);
  await rejects({
    main: "a:\n  test.nop: []\n\nb:\n  test.nop:\n    - require:\n        test: a\n",
  }, /The require statement in state "b" needs to be formed as a list \(main\.zy:4\)/);
  await rejects({ main: "a:\n  test.nop: [\n" }, /Cannot parse YAML: .*\(main\.zy:\d+\)/);
  await rejects({ main: "extend:\n  ghost:\n    test.nop: []\n" }, /Cannot extend ID "ghost"/);
});

Deno.test("states - a fired watch adds the module's reaction; listen reacts once at the end", async () => {
  const reactions: string[] = [];
  const reacting: RunHost = {
    ...host,
    watchFn: (c) =>
      c.module === "test"
        ? (ch) => {
          reactions.push(ch.id);
          return Promise.resolve({
            result: true,
            comment: "restarted",
            changes: { restart: true },
          });
        }
        : undefined,
  };
  const files = {
    main: `
conf:
  test.succeed_with_changes: []
quiet:
  test.succeed_without_changes: []
svc:
  test.nop:
    - watch:
      - test: conf
idle:
  test.nop:
    - watch:
      - test: quiet
listener:
  test.nop:
    - order: first
    - listen:
      - test: conf
`,
  };
  const p = plan(compile(await loadTree(["main"], tree(files))));
  const results = await runPlan(p, { test: false, host: reacting });
  const svc = results.find((r) => r.id === "svc")!;
  assert.deepEqual(svc.changes, { restart: true });
  assert.match(svc.comment, /restarted/);
  assert.deepEqual(results.find((r) => r.id === "idle")!.changes, {});
  assert.equal(results[0]!.id, "listener", "listen does not order: order first still runs first");
  const last = results.at(-1)!;
  assert.deepEqual([last.id, last.function], ["listener", "test.mod_watch"]);
  assert.deepEqual(reactions, ["svc", "listener"]);
});

Deno.test("states - Salt's forms: names with options, extend by module, include cycles, empty requisites", async () => {
  const files = {
    main: `
include:
  - other
svc:
  test:
    - configurable_test_state
    - comment: base
    - changes: False
sites:
  test.configurable_test_state:
    - changes: False
    - names:
      - plain
      - special:
        - comment: own comment
        - result: False
after:
  test.nop:
    - require:
`,
    // An SLS that includes the one including it, and extends a state by module name only.
    other: `
include:
  - main
extend:
  svc:
    test:
      - comment: extended
`,
  };
  const p = plan(compile(await loadTree(["main"], tree(files))));
  const byName = Object.fromEntries(p.chunks.map((c) => [c.name, c]));
  assert.deepEqual(p.chunks.map((c) => c.name), ["svc", "plain", "special", "after"]);
  assert.equal(byName.svc!.args.comment, "extended");
  assert.equal(byName.special!.args.comment, "own comment");
  assert.equal(byName.plain!.args.comment, undefined);
  assert.deepEqual(byName.after!.requisites, {});
  const results = await runPlan(p, { test: false, host });
  assert.deepEqual(results.map((r) => [r.name, r.result]), [
    ["svc", true],
    ["plain", true],
    ["special", false],
    ["after", true],
  ]);
});

Deno.test("states - unless and onlyif in Salt's fun: form", async () => {
  const checked: string[] = [];
  const checking: RunHost = {
    ...host,
    check: (fun, args) => {
      checked.push(`${fun} ${JSON.stringify(args)}`);
      return Promise.resolve(args.path === "/exists");
    },
  };
  const p = plan(compile(
    await loadTree(
      ["main"],
      tree({
        main: `
skipped:
  test.succeed_with_changes:
    - unless:
      - fun: file.file_exists
        path: /exists
ran:
  test.succeed_with_changes:
    - onlyif:
      - fun: file.file_exists
        path: /exists
      - "true"
not_run:
  test.succeed_with_changes:
    - onlyif:
      - fun: file.file_exists
        path: /missing
`,
      }),
    ),
  ));
  const r = Object.fromEntries(
    (await runPlan(p, { test: false, host: checking })).map((x) => [x.id, x]),
  );
  assert.match(r.skipped!.comment, /^Skipped: unless condition is true: {"fun":"file.file_exists"/);
  assert.deepEqual(Object.keys(r.ran!.changes), ["testing"]);
  assert.match(r.not_run!.comment, /^Skipped: onlyif condition is false/);
  assert.deepEqual(checked, [
    `file.file_exists {"path":"/exists"}`,
    `file.file_exists {"path":"/exists"}`,
    `file.file_exists {"path":"/missing"}`,
  ]);
  const noChecks = await runPlan(p, { test: false, host });
  assert.equal(noChecks[0]!.result, false);
  assert.match(noChecks[0]!.comment, /Guard function "file.file_exists" is not available here/);
});

/** A host whose `timed.sleep` state waits `ms` and records when it started and ended. */
function timedHost() {
  const spans = new Map<string, { start: number; end: number }>();
  const timed: RunHost = {
    ...host,
    fn: (name) =>
      name === "timed.sleep"
        ? async (c) => {
          const start = performance.now();
          await new Promise((r) => setTimeout(r, Number(c.args.ms ?? 50)));
          spans.set(c.id, { start, end: performance.now() });
          return c.args.fail === true
            ? { result: false, comment: "failed", changes: {} }
            : { result: true, comment: "slept", changes: {} };
        }
        : host.fn(name),
  };
  return { spans, timed };
}

async function runTimed(main: string) {
  const { spans, timed } = timedHost();
  const p = plan(compile(await loadTree(["main"], tree({ main }))));
  const results = await runPlan(p, { test: false, host: timed });
  return { spans, results: Object.fromEntries(results.map((r) => [r.id, r])) };
}

Deno.test("states - one at a time in Salt's order: each starts after the one before ends", async () => {
  const { spans, results } = await runTimed(`
third:
  timed.sleep:
    - order: 3
second:
  timed.sleep:
    - order: 2
first:
  timed.sleep:
    - order: 1
    - require:
      - timed: needed
needed:
  timed.sleep:
    - order: 4
`);
  const ran = Object.values(results).sort((a, b) => a.run_num - b.run_num).map((r) => r.id);
  assert.deepEqual(ran, ["needed", "first", "second", "third"], "requisites run right before");
  for (let k = 1; k < ran.length; k++) {
    const before = spans.get(ran[k - 1]!)!;
    const after = spans.get(ran[k]!)!;
    assert.ok(after.start >= before.end, `${ran[k]} started before ${ran[k - 1]} ended`);
  }
});

Deno.test("states - failhard stops the run at once: later states never start", async () => {
  const { spans, results } = await runTimed(`
one:
  timed.sleep:
    - order: 1
boom:
  timed.sleep:
    - order: 2
    - fail: true
    - failhard: true
three:
  timed.sleep:
    - order: 3
four:
  timed.sleep:
    - order: 4
`);
  assert.deepEqual([...spans.keys()], ["one", "boom"], "nothing started after the failure");
  assert.ok(spans.get("boom")!.start >= spans.get("one")!.end);
  assert.match(results.three!.comment, /Skipped: main\.boom failed with failhard/);
  assert.equal(results.four!.result, false);
});

Deno.test("states - parallel: True states overlap; a state requiring them waits for both", async () => {
  const { spans } = await runTimed(`
slow_a:
  timed.sleep:
    - ms: 300
    - parallel: True
slow_b:
  timed.sleep:
    - ms: 300
    - parallel: True
after:
  timed.sleep:
    - require:
      - timed: slow_a
      - timed: slow_b
`);
  const a = spans.get("slow_a")!;
  const b = spans.get("slow_b")!;
  assert.ok(b.start < a.end, "slow_b started while slow_a ran");
  assert.ok(spans.get("after")!.start >= Math.max(a.end, b.end));
});
