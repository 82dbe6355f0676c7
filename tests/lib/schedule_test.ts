/**
 * Cron expressions and schedule entries: Vixie/Salt semantics on the edge cases, and bad entries
 * named by file and field while the good ones stay.
 */
import assert from "node:assert/strict";
import { CronError, parseCron, parseSchedule } from "../../lib/schedule/mod.ts";

/** The next `n` run times after `from` (local time), as local `YYYY-MM-DD HH:MM` strings. */
function runs(expr: string, from: string, n: number): string[] {
  const cron = parseCron(expr);
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < n; i++) {
    const next = cron.next(at);
    assert.ok(next, `${expr} fires after ${at.toISOString()}`);
    out.push(local(next));
    at = next;
  }
  return out;
}

function local(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }`;
}

Deno.test("cron - February 29 fires only in leap years", () => {
  assert.deepEqual(runs("0 0 29 2 *", "2025-01-01T00:00", 2), [
    "2028-02-29 00:00",
    "2032-02-29 00:00",
  ]);
});

Deno.test("cron - */15 steps from the hour, strictly after the given time", () => {
  assert.deepEqual(runs("*/15 * * * *", "2025-01-01T00:07", 4), [
    "2025-01-01 00:15",
    "2025-01-01 00:30",
    "2025-01-01 00:45",
    "2025-01-01 01:00",
  ]);
  assert.deepEqual(runs("*/15 * * * *", "2025-01-01T00:15", 1), ["2025-01-01 00:30"]);
});

Deno.test("cron - ranges, lists and range steps", () => {
  assert.deepEqual(runs("0 3 1-5 * *", "2025-01-04T12:00", 3), [
    "2025-01-05 03:00",
    "2025-02-01 03:00",
    "2025-02-02 03:00",
  ]);
  assert.deepEqual(runs("0 8,12 * * *", "2025-01-01T09:00", 2), [
    "2025-01-01 12:00",
    "2025-01-02 08:00",
  ]);
  assert.deepEqual(runs("10-30/10 0 * * *", "2025-01-01T00:00", 3), [
    "2025-01-01 00:10",
    "2025-01-01 00:20",
    "2025-01-01 00:30",
  ]);
});

Deno.test("cron - names of days and months, Sunday as 0 or 7", () => {
  // 2025-01-03 is a Friday: the next weekdays at 09:00 are Monday to Wednesday.
  assert.deepEqual(runs("0 9 * * mon-fri", "2025-01-03T10:00", 3), [
    "2025-01-06 09:00",
    "2025-01-07 09:00",
    "2025-01-08 09:00",
  ]);
  assert.deepEqual(runs("0 0 1 jan,JUL *", "2025-02-01T00:00", 2), [
    "2025-07-01 00:00",
    "2026-01-01 00:00",
  ]);
  assert.deepEqual(runs("0 0 * * 7", "2025-01-01T00:00", 1), ["2025-01-05 00:00"]);
  assert.deepEqual(runs("0 0 * * 0", "2025-01-01T00:00", 1), ["2025-01-05 00:00"]);
});

Deno.test("cron - day of month and day of week both set: either matches", () => {
  // January 2025: Fridays are the 3rd, 10th, 17th; the 13th is a Monday.
  assert.deepEqual(runs("0 0 13 * fri", "2025-01-01T00:00", 4), [
    "2025-01-03 00:00",
    "2025-01-10 00:00",
    "2025-01-13 00:00",
    "2025-01-17 00:00",
  ]);
  // With one of them `*`, only the other counts.
  assert.deepEqual(runs("0 0 * * fri", "2025-01-11T00:00", 1), ["2025-01-17 00:00"]);
  assert.deepEqual(runs("0 0 13 * *", "2025-01-01T00:00", 1), ["2025-01-13 00:00"]);
});

Deno.test("cron - bad expressions are refused, naming the expression and the fault", () => {
  const bad: [string, RegExp][] = [
    ["* * * *", /expected 5 fields .* got 4/],
    ["0 * * * * *", /expected 5 fields .* got 6/],
    ["61 * * * *", /"61 \* \* \* \*": .*minute: 61/],
    ["0 0 L * *", /day of month field "L"/],
    ["@daily", /expected 5 fields/],
    ["0 0 * * 1#2", /day of week field "1#2"/],
    ["0 0 30 2 *", /matches no date/],
    ["5-1 * * * *", /larger than/],
    ["0 0 * * funday", /Invalid cron expression/],
  ];
  for (const [expr, re] of bad) {
    assert.throws(() => parseCron(expr), (e) => e instanceof CronError && re.test(e.message), expr);
  }
});

Deno.test("schedule entries - Salt's and the product's keys, with defaults", () => {
  const { entries, errors } = parseSchedule([{
    file: "/etc/zester/peel.yaml",
    schedule: {
      salt: { function: "cmd.run", job_args: ["uptime"], minutes: 1, seconds: 30, splay: 10 },
      product: {
        module: "state.highstate",
        cron: "0 */4 * * *",
        splay: "15m",
        return_job: true,
      },
      ranged: { function: "test.ping", interval: "1h", splay: { start: 10, end: 20 } },
    },
  }], () => true);
  assert.deepEqual(errors, []);
  const salt = entries.get("salt")!;
  assert.equal(salt.intervalMs, 90_000);
  assert.deepEqual(salt.args, ["uptime"]);
  assert.deepEqual(salt.splay, { startMs: 0, endMs: 10_000 });
  assert.equal(salt.maxrunning, 1);
  assert.equal(salt.runOnStart, false);
  assert.equal(salt.returnJob, false);
  assert.equal(salt.enabled, true);
  assert.equal(salt.jidInclude, true);
  assert.equal(salt.timeoutMs, 60_000);
  const product = entries.get("product")!;
  assert.equal(product.fun, "state.highstate");
  assert.equal(product.cron?.expression, "0 */4 * * *");
  assert.equal(product.timeoutMs, 600_000);
  assert.equal(product.returnJob, true);
  assert.deepEqual(entries.get("ranged")!.splay, { startMs: 10_000, endMs: 20_000 });
});

Deno.test("schedule entries - a later source wins on a shared name", () => {
  const { entries } = parseSchedule([
    { file: "peel.yaml", schedule: { a: { function: "test.ping", seconds: 5 } } },
    { file: "settings/schedule.zy", schedule: { a: { function: "test.version", seconds: 9 } } },
  ], () => true);
  assert.equal(entries.get("a")?.fun, "test.version");
});

Deno.test("schedule entries - each bad entry names file and field; the good ones stay", () => {
  const file = "/etc/zester/peel.yaml";
  const { entries, errors } = parseSchedule([{
    file,
    schedule: {
      good: { function: "test.ping", seconds: 5 },
      badcron: { function: "test.ping", cron: "61 * * * *" },
      nofun: { function: "nope.missing", seconds: 5 },
      negative: { function: "test.ping", seconds: -5 },
      zero: { function: "test.ping", seconds: 0 },
      both: { function: "test.ping", seconds: 5, cron: "* * * * *" },
      neither: { function: "test.ping" },
      typo: { function: "test.ping", seconds: 5, maxruning: 2 },
      args: { function: "test.sleep", seconds: 5, args: [1, 2] },
    },
  }], (fun) => fun.startsWith("test."));
  assert.deepEqual([...entries.keys()], ["good"]);
  const byField: Record<string, string> = Object.fromEntries(
    errors.map((e) => [e.field ?? "", e.message]),
  );
  assert.deepEqual(Object.keys(byField).sort(), [
    "schedule.args.args",
    "schedule.badcron.cron",
    "schedule.both.cron",
    "schedule.negative.seconds",
    "schedule.neither",
    "schedule.nofun.function",
    "schedule.typo.maxruning",
    "schedule.zero.seconds",
  ]);
  for (const [field, message] of Object.entries(byField)) {
    assert.ok(message.startsWith(`Invalid config "${file}": field "${field}"`), message);
  }
  assert.match(byField["schedule.nofun.function"]!, /"nope.missing" is not a function/);
  assert.match(byField["schedule.badcron.cron"]!, /Invalid cron expression "61 \* \* \* \*"/);
  assert.match(byField["schedule.negative.seconds"]!, /expected a number >= 0, got number -5/);
  assert.match(byField["schedule.args.args"]!, /takes 1 positional argument but 2 were given/);
});
