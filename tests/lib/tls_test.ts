/** TLS to nats-server: mutual, with the deployment's CA. */
import assert from "node:assert/strict";
import { connectBus } from "../../lib/bus/mod.ts";
import { busAs, startNatsServer } from "../harness/mod.ts";

Deno.test("bus - mutual TLS with the deployment's CA, client certificate and key", async () => {
  await using ns = await startNatsServer();
  assert.match(ns.url, /^tls:\/\//);
  const nc = await connectBus(busAs(ns.url));
  try {
    const sub = nc.subscribe("tls.echo", { callback: (_e, m) => m.respond(m.data) });
    const r = await nc.request("tls.echo", new TextEncoder().encode("over tls"), {
      timeout: 2_000,
    });
    assert.equal(new TextDecoder().decode(r.data), "over tls");
    sub.unsubscribe();
  } finally {
    await nc.close();
  }
});
