/**
 * The metrics exposition and readiness folding, in process: what `/metrics` serves parses as the
 * text format 0.0.4 with its escaping, and `/readyz` takes the worst check, timing out slow ones.
 */
import assert from "node:assert/strict";
import { HealthServer, readiness } from "../../lib/http/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { counter, histogram, MetricError, registry } from "../../lib/metrics/mod.ts";
import { parseExposition, sampleValue } from "../harness/mod.ts";

const quiet = () => new Logger({ level: "error", sink: () => {} });

Deno.test("metrics - label values and help with quotes, newlines and backslashes are escaped as the format says", async () => {
  const name = "zester_test_escaping_total";
  const tricky = 'say "hi"\nC:\\path\\';
  const c = counter({ name, help: "Help with a \\ and a\nnewline", labelNames: ["value"] });
  const health = new HealthServer({
    addr: { hostname: "127.0.0.1", port: 0 },
    component: "test",
    version: "0",
    log: quiet(),
  });
  try {
    c.inc({ value: tricky }, 3);
    const res = await fetch(`http://127.0.0.1:${health.addr.port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    assert.ok(
      text.includes(`${name}{value="say \\"hi\\"\\nC:\\\\path\\\\"} 3\n`),
      text.split("\n").filter((l) => l.startsWith(name)).join("\n"),
    );
    assert.ok(text.includes(`# HELP ${name} Help with a \\\\ and a\\nnewline\n`));
    const parsed = parseExposition(text);
    assert.equal(sampleValue(parsed, name, { value: tricky }), 3);
    assert.equal(parsed.help.get(name), "Help with a \\ and a\nnewline");
    assert.equal(parsed.types.get(name), "counter");
    assert.equal(parsed.types.get("process_cpu_seconds_total"), "counter");
    assert.ok(sampleValue(parsed, "process_resident_memory_bytes") > 1e6);
    const start = sampleValue(parsed, "process_start_time_seconds");
    assert.ok(Math.abs(start - Date.now() / 1000) < 3600, `start time ${start}`);
  } finally {
    registry.remove(name);
    await health.stop();
  }
});

Deno.test("metrics - histogram buckets count every value at or below their bound, +Inf all of them", () => {
  const name = "zester_test_seconds";
  const h = histogram({ name, help: "Test durations.", buckets: [0.1, 1] });
  try {
    for (const v of [0.05, 0.1, 0.5, 7]) h.observe(v);
    const parsed = parseExposition(registry.metrics());
    assert.equal(parsed.types.get(name), "histogram");
    assert.equal(sampleValue(parsed, `${name}_bucket`, { le: "0.1" }), 2);
    assert.equal(sampleValue(parsed, `${name}_bucket`, { le: "1" }), 3);
    assert.equal(sampleValue(parsed, `${name}_bucket`, { le: "+Inf" }), 4);
    assert.equal(sampleValue(parsed, `${name}_sum`), 7.65);
    assert.equal(sampleValue(parsed, `${name}_count`), 4);
  } finally {
    registry.remove(name);
  }
});

Deno.test("metrics - a taken name and a label the counter does not have are refused", () => {
  const name = "zester_test_refused_total";
  const c = counter({ name, help: "Refusals.", labelNames: ["op"] });
  try {
    assert.throws(() => counter({ name, help: "Again." }), MetricError);
    assert.throws(() => c.inc({ opp: "x" } as never), MetricError);
    c.labels("read").inc(2);
    assert.equal(sampleValue(parseExposition(registry.metrics()), name, { op: "read" }), 2);
  } finally {
    registry.remove(name);
  }
});

Deno.test("metrics - the test parser refuses lines the format does not allow", () => {
  assert.throws(() => parseExposition('x{a="unterminated} 1\n'), SyntaxError);
  assert.throws(() => parseExposition('x{a="raw\nnewline"} 1\n'), SyntaxError);
  assert.throws(() => parseExposition("x 1 2 3\n"), SyntaxError);
  assert.throws(() => parseExposition("# TYPE x counterish\n"), SyntaxError);
});

Deno.test("readiness - the worst check wins, a hanging check is down at its time limit, none is down", async () => {
  const ok = { name: "a", run: () => Promise.resolve({ status: "ok" as const }) };
  const slow = {
    name: "b",
    run: () => Promise.resolve({ status: "degraded" as const, message: "late" }),
  };
  const hang = { name: "c", run: () => new Promise<never>(() => {}) };
  const boom = { name: "d", run: () => Promise.reject(new Error("no bucket")) };
  assert.equal((await readiness([ok])).status, "ok");
  const degraded = await readiness([ok, slow]);
  assert.equal(degraded.status, "degraded");
  assert.equal(degraded.checks.b?.message, "late");
  const t0 = performance.now();
  const down = await readiness([ok, slow, hang, boom], 200);
  assert.ok(performance.now() - t0 < 1_000, "checks run in parallel and are cut off");
  assert.equal(down.status, "down");
  assert.deepEqual(down.checks.c && [down.checks.c.status, down.checks.c.message], [
    "down",
    "No answer within 200 ms",
  ]);
  assert.ok(down.checks.c!.latency_ms >= 190);
  assert.equal(down.checks.d?.message, "no bucket");
  assert.equal((await readiness([])).status, "down");
});
