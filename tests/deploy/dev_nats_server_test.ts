/** The development nats-server of the tests and the quickstart: started means started. */
import assert from "node:assert/strict";
import { startNatsServer } from "../harness/mod.ts";

Deno.test("dev nats-server - a port another process holds is not taken for a started server", async () => {
  // Another engineer's test on the same machine may take the port the harness picked.
  using other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = other.addr as Deno.NetAddr;
  await assert.rejects(startNatsServer({ port }), /nats-server did not start on port/);
});
