import assert from "node:assert/strict";
import { AckedPublisher, kvSubject, provisionStorage, PublishError } from "../../lib/bus/mod.ts";
import { client, closeClient, startNatsServer } from "../harness/mod.ts";

Deno.test("acked publisher - confirms stored messages, refuses the rest", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  try {
    await provisionStorage(await nc.jetstreamManager());
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "tiny", subjects: ["tiny.>"], max_msg_size: 16 });
    const pub = new AckedPublisher(nc, { timeoutMs: 400 });
    try {
      // Stored and readable.
      await Promise.all(
        Array.from(
          { length: 200 },
          (_, i) => pub.publish(kvSubject("job-returns", `k${i}`), new Uint8Array([i % 256])),
        ),
      );
      const kv = await nc.jetstream().views.kv("job-returns", { bindOnly: true });
      assert.deepEqual((await kv.get("k199"))?.value, new Uint8Array([199]));
      assert.equal(pub.pending, 0);

      // Refused by the stream: over its message size.
      await assert.rejects(pub.publish("tiny.x", new Uint8Array(64)), (e) => {
        assert.ok(e instanceof PublishError);
        assert.match(e.message, /Refused tiny\.x: .*message size exceeds maximum/);
        return true;
      });
      // Nobody there.
      await assert.rejects(pub.publish("nobody.home", new Uint8Array(1)), /no responders/);
      // Someone there who never answers: the ack times out.
      const silent = nc.subscribe("silent.>", { callback: () => {} });
      await nc.flush();
      const t0 = Date.now();
      await assert.rejects(
        pub.publish("silent.x", new Uint8Array(1)),
        /No ack for silent\.x within 400 ms/,
      );
      assert.ok(Date.now() - t0 < 2_000);
      silent.unsubscribe();
    } finally {
      pub.close();
    }
  } finally {
    await closeClient(nc);
  }
});
