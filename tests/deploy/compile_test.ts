import assert from "node:assert/strict";
import { DENO_CONFIG, tempDir, writeYaml } from "../harness/mod.ts";

const COMPILE = new URL("../../deploy/compile.ts", import.meta.url).pathname;

async function compile(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", DENO_CONFIG, "-P=compile", COMPILE, ...args],
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("compile - says what is missing without a denort base binary", async () => {
  const none = await compile([], { PATH: Deno.env.get("PATH") ?? "" });
  assert.equal(none.code, 1);
  assert.match(
    none.stderr,
    /Cannot compile: deno compile needs its base binary "denort".*set DENORT_BIN/,
  );
  const bad = await compile([], { DENORT_BIN: "/nonexistent/denort" });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /DENORT_BIN "\/nonexistent\/denort" does not exist/);
});

Deno.test("compile - each binary gets its own baked permissions, none gets -A", async () => {
  await using dir = await tempDir();
  const cfg = `${dir.path}/peel.yaml`;
  await writeYaml(cfg, {
    id: "web-01",
    nats_url: "tls://nats.example.com:4222",
    data_dir: "/var/lib/zp",
  });
  const r = await compile(["--print", "--peel-config", cfg]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 4);
  for (const l of lines) {
    assert.doesNotMatch(l, /(^| )(-A|--allow-all)( |$)/);
    assert.equal(l.split(" --no-prompt").length - 1, 1, l);
  }
  const peel = lines.find((l) => l.includes("zester-peel"))!;
  assert.match(peel, /--allow-net=nats\.example\.com:4222,127\.0\.0\.1:9090 /);
  assert.match(peel, /--allow-write=\/var\/lib\/zp /);
  assert.match(peel, /--allow-run=\/usr\/lib\/zester\/zester-broker /);
  const broker = lines.find((l) => l.includes("dist/zester-broker"))!;
  assert.doesNotMatch(broker, /--allow-net/);
  for (const l of lines.filter((l) => l !== broker)) {
    assert.match(l, / --v8-flags=--enable-experimental-regexp-engine[ ,]/, "linear-time regexes");
  }
  for (const l of [peel, lines.find((l) => l.includes("dist/zester-master"))!]) {
    assert.match(l, /[=,]--max-semi-space-size=1 /, "a small young generation for daemons");
  }
  assert.match(lines.find((l) => l.includes("dist/zester-master"))!, / -P=master /);
});
