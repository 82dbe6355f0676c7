/**
 * The broker never inherits the peel's environment. A compiled broker has no launcher script to
 * wipe it, so the spawn itself must start from an empty environment: this test spawns through
 * the same path the peel uses, with a launcher that records what it received.
 */
import assert from "node:assert/strict";
import { BrokerClient, BrokerError } from "../../peel/broker/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { tempDir } from "../harness/mod.ts";

Deno.test("broker env - the launcher starts with an empty environment", async () => {
  await using dir = await tempDir();
  const out = `${dir.path}/env.txt`;
  const launcher = `${dir.path}/zester-broker`;
  await Deno.writeTextFile(launcher, `#!/bin/sh\n/usr/bin/env > '${out}'\n`, { mode: 0o755 });
  Deno.env.set("ZESTER_CANARY", "peel-secret");
  Deno.env.set("LD_PRELOAD", "/nonexistent/evil.so");
  const c = new BrokerClient({
    launcher,
    idleTimeoutMs: 1_000,
    log: new Logger({ level: "error", sink: () => {} }),
  });
  try {
    await assert.rejects(c.request("ping", {}), (e) => e instanceof BrokerError);
    const seen = (await Deno.readTextFile(out)).trim().split("\n").filter(Boolean)
      .map((l) => l.split("=")[0]);
    for (const name of ["ZESTER_CANARY", "LD_PRELOAD", "HOME", "PATH", "DENO_DIR"]) {
      assert.ok(!seen.includes(name), `${name} reached the broker: ${seen.join(", ")}`);
    }
  } finally {
    Deno.env.delete("ZESTER_CANARY");
    Deno.env.delete("LD_PRELOAD");
    await c.close();
  }
});
