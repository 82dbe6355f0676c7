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

Deno.test("compile - the CLI's network grant is the NATS hosts named at build time", async () => {
  await using dir = await tempDir();
  const zester = (out: string) => out.split("\n").find((l) => l.includes("dist/zester "))!;
  const plain = await compile(["--print"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(zester(plain.stdout), / -P=cli /);

  const cfg = `${dir.path}/cli.yaml`;
  await writeYaml(cfg, {
    master: { urls: ["tls://nats-1.example.com:4222", "tls://nats-2.example.com:4333"] },
  });
  const fromConfig = await compile(["--print", "--cli-config", cfg]);
  assert.equal(fromConfig.code, 0, fromConfig.stderr);
  const line = zester(fromConfig.stdout);
  assert.match(line, / --allow-net=nats-1\.example\.com:4222,nats-2\.example\.com:4333 /);
  assert.match(line, / --allow-read --allow-run=\/usr\/lib\/zester\/zester-broker /);
  assert.doesNotMatch(line, /-P=cli/);

  const named = await compile([
    "--print",
    "--cli-config",
    cfg,
    "--nats-host",
    "nats.internal:4222",
    "--nats-host",
    "tls://10.0.0.5:5222",
  ]);
  assert.equal(named.code, 0, named.stderr);
  assert.match(zester(named.stdout), / --allow-net=nats\.internal:4222,10\.0\.0\.5:5222 /);

  const bad = await compile(["--print", "--nats-host", "http://x:1"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Cannot compile: --nats-host: Invalid NATS URL "http:\/\/x:1"/);
});
