/**
 * `health_addr` in the daemons' config files: it moves the health endpoints and the Deno grant
 * with them, `off` serves nothing and grants nothing, and a bad value names the field.
 */
import assert from "node:assert/strict";
import {
  MasterConfig,
  masterPermissionFlags,
  PeelConfig,
  peelPermissionFlags,
} from "../../lib/config/mod.ts";
import {
  freePort,
  spawnDaemon,
  startNatsServer,
  startPeel,
  tempDir,
  writeYaml,
} from "../harness/mod.ts";

const netFlag = (flags: string[]) => flags.find((f) => f.startsWith("--allow-net="));

Deno.test("health - health_addr from peel.yaml moves the endpoints and the peel's net grant; off grants nothing", async () => {
  const nats = "nats://127.0.0.1:4222";
  assert.equal(
    netFlag(peelPermissionFlags(PeelConfig.parse({ id: "p", nats_url: nats }), "/p.yaml")),
    "--allow-net=127.0.0.1:4222,127.0.0.1:9090",
  );
  assert.equal(
    netFlag(masterPermissionFlags(MasterConfig.parse({ nats_url: nats }), "/m.yaml")),
    "--allow-net=127.0.0.1:4222,127.0.0.1:9091",
  );
  assert.equal(
    MasterConfig.parse({ nats_url: nats, health_addr: "[::1]:9999" }).health_addr,
    "[::1]:9999",
  );
  assert.equal(
    MasterConfig.parse({ nats_url: nats, health_addr: ":9999" }).health_addr,
    "0.0.0.0:9999",
  );

  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const port = freePort();
  await using moved = await startPeel(dir.path, ns.url, "web-01", {
    extra: { health_addr: `127.0.0.1:${port}` },
  });
  assert.equal(netFlag(moved.flags), `--allow-net=127.0.0.1:${ns.port},127.0.0.1:${port}`);
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).component, "peel");

  await using off = await startPeel(dir.path, ns.url, "web-02", { extra: { health_addr: "off" } });
  assert.equal(netFlag(off.flags), `--allow-net=127.0.0.1:${ns.port}`);
  assert.doesNotMatch(off.output(), /health endpoints listening/);
});

Deno.test("health - a bad health_addr stops master and peel with exit 2, naming the field", async () => {
  await using dir = await tempDir();
  for (
    const [name, main, raw] of [
      ["peel", "peel/main.ts", { id: "web-01", nats_url: "nats://127.0.0.1:4222" }],
      ["master", "master/main.ts", { nats_url: "nats://127.0.0.1:4222" }],
    ] as const
  ) {
    const path = `${dir.path}/${name}.yaml`;
    await writeYaml(path, { ...raw, health_addr: "localhost:99999" });
    const d = spawnDaemon(
      name,
      new URL(`../../${main}`, import.meta.url).pathname,
      [`--allow-read=${path}`, "--allow-env=LOG_TOKENS,LOG_STREAM"],
      path,
    );
    assert.equal((await d.status).code, 2, d.output());
    const msg = JSON.parse(d.output().trim().split("\n").at(-1)!).msg;
    assert.equal(
      msg,
      `Invalid config "${path}:${
        Object.keys(raw).length + 1
      }": field "health_addr": expected host:port (such as 127.0.0.1:9091), or "off", got "localhost:99999"`,
    );
  }
});
