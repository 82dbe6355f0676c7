/**
 * The CLI, a master and a peel reach a nats-server on another loopback address and port, with
 * their network grants derived from their configs and the server certificate naming that
 * address.
 */
import assert from "node:assert/strict";
import {
  freePort,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  zesterAt,
} from "../harness/mod.ts";

Deno.test("nats address - CLI, master and peel reach tls://127.0.0.2 on a non-default port", async () => {
  await using ns = await startNatsServer({ host: "127.0.0.2", port: freePort("127.0.0.2") });
  assert.match(ns.url, /^tls:\/\/127\.0\.0\.2:\d+$/);
  assert.notEqual(ns.port, 4222);
  await using dir = await tempDir();
  await using master = await startMaster(`${dir.path}/master`, ns.url);
  assert.ok(
    master.flags.includes(`--allow-net=127.0.0.2:${ns.port},127.0.0.1:0`),
    master.flags.join(" "),
  );
  await using _peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01");
  const r = await zesterAt(`${dir.path}/cli.yaml`, ns.url, "*", "test.ping", "--timeout", "10s");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /web-01:\s+True/);
});
