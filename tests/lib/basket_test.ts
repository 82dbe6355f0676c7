import assert from "node:assert/strict";
import { basketKey, decodeName, encodeName, parseBasketKey } from "../../lib/basket/mod.ts";

Deno.test("basket keys - any name becomes a valid KV key and reads back", () => {
  const names = ["network.ip_addrs", "my ver", "a..b", ".x", "x.", "ünï", "=", "a/b", "*", ">"];
  for (const name of names) {
    const key = basketKey("web-01", name);
    assert.match(key, /^[-/_=.a-zA-Z0-9]+$/, key);
    assert.ok(key.split(".").every((t) => t !== ""), `empty token in ${key}`);
    assert.deepEqual(parseBasketKey(key), { peelId: "web-01", name });
  }
  assert.equal(basketKey("web-01", "network.ip_addrs"), "web-01.network.ip_addrs");
  assert.equal(encodeName("my ver"), "my=20ver");
  assert.equal(decodeName("a=3Db"), "a=b");
  assert.throws(() => encodeName(""), /Invalid basket name "": expected 1 to 256 characters/);
  assert.throws(() => basketKey("web.01", "x"), /Invalid peel id "web\.01"/);
  assert.equal(parseBasketKey("nodot"), undefined);
});
