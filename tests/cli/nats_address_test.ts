/**
 * The CLI, a master and a peel reach a nats-server on another loopback address and port, with
 * their network grants derived from their configs and the server certificate naming that
 * address.
 */
import assert from "node:assert/strict";
import { cliPermissionFlagsFor } from "../../lib/config/mod.ts";
import {
  freePort,
  runZester,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  writeCliConfig,
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

Deno.test("nats address - a CLI built for other hosts names the host and how to rebuild", async () => {
  await using ns = await startNatsServer({ host: "127.0.0.2", port: freePort("127.0.0.2") });
  await using dir = await tempDir();
  const cfg = `${dir.path}/cli.yaml`;
  await writeCliConfig(cfg, ns.url);
  // As a zester compiled without --nats-host: granted the default server only.
  const r = await runZester(cliPermissionFlagsFor(["127.0.0.1:4222"]), [
    "--config",
    cfg,
    "job",
    "list",
  ]);
  assert.equal(r.code, 2, r.stdout);
  const host = `127.0.0.2:${ns.port}`;
  assert.equal(
    r.stderr.trim(),
    `zester: Cannot connect to NATS at "${host}" (from ${cfg}): this zester has no network ` +
      `grant for it; rebuild it with deno task compile --nats-host ${host} (or --cli-config ` +
      `<config>), or run it from a checkout with --allow-net=${host}`,
  );
});
