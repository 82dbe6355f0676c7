import assert from "node:assert/strict";
import { Logger } from "../../lib/log/mod.ts";

Deno.test("log - JSON lines with level filtering and fixed fields", () => {
  const lines: string[] = [];
  const log = new Logger({
    level: "info",
    fields: { component: "peel" },
    sink: (l) => lines.push(l),
  })
    .with({ peel_id: "web-01" });
  log.debug("hidden");
  log.info("job done", { jid: "J", error: new Error("boom"), data: new Uint8Array(3) });
  log.error("bad");
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.level, "info");
  assert.equal(first.msg, "job done");
  assert.equal(first.component, "peel");
  assert.equal(first.peel_id, "web-01");
  assert.equal(first.jid, "J");
  assert.equal(first.error, "boom");
  assert.equal(first.data, "<3 bytes>");
  assert.ok(!Number.isNaN(Date.parse(first.time)));
  assert.equal(JSON.parse(lines[1]!).level, "error");
});

Deno.test("log - text format", () => {
  const lines: string[] = [];
  new Logger({ format: "text", sink: (l) => lines.push(l) }).warn("two words", { n: 1 });
  assert.match(lines[0]!, /^time=\S+ level=warn msg="two words" n=1$/);
});

Deno.test("log - keepRunning logs unhandled errors instead of exiting", async () => {
  const mod = new URL("../../lib/log/mod.ts", import.meta.url).href;
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { keepRunning, Logger } from "${mod}";
keepRunning(new Logger({ fields: { component: "t" } }));
Promise.reject(new Error("late failure"));
setTimeout(() => { throw new Error("thrown in a timer"); }, 10);
setTimeout(() => console.log("still running"), 100);
`,
    );
    const out = await new Deno.Command(Deno.execPath(), { args: ["run", "--no-prompt", script] })
      .output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(stdout, /still running/);
    assert.match(stderr, /"msg":"unhandled rejection".*"error":"late failure"/);
    assert.match(stderr, /"msg":"uncaught exception".*thrown in a timer/);
  } finally {
    await Deno.remove(script);
  }
});
