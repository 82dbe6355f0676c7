/**
 * The log lines of the troubleshooting table are the ones the daemons write: operators grep for
 * "disconnected from NATS" and "reconnected to NATS" when NATS goes away and comes back.
 */
import assert from "node:assert/strict";
import { startMaster, startNatsServer, startPeel, tempDir } from "../harness/mod.ts";

Deno.test("nats log lines - master and peel log disconnected from NATS and reconnected to NATS", async () => {
  await using store = await tempDir("zester-nats-store-");
  let ns = await startNatsServer({ storeDir: store.path });
  await using dir = await tempDir();
  try {
    await using master = await startMaster(dir.path, ns.url);
    await using peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01");
    const port = ns.port;
    await ns.stop();
    for (const d of [master, peel]) {
      const line = JSON.parse(await d.waitFor(/"msg":"disconnected from NATS"/, 15_000));
      assert.equal(line.level, "warn");
      assert.equal(line.server, `127.0.0.1:${port}`);
    }
    ns = await startNatsServer({ storeDir: store.path, port });
    for (const d of [master, peel]) {
      const line = JSON.parse(await d.waitFor(/"msg":"reconnected to NATS"/, 30_000));
      assert.equal(line.level, "info");
    }
  } finally {
    await ns.stop();
  }
});
