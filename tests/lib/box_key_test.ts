import assert from "node:assert/strict";
import nacl from "tweetnacl";
import {
  BoxKeyError,
  boxSharedKey,
  createBoxKey,
  decodeBoxPublicKey,
  encodeBoxPublicKey,
  loadOrCreateBoxKey,
  readBoxKeyFile,
} from "../../lib/secrets/mod.ts";
import { tempDir } from "../harness/mod.ts";

/** Matches a BoxKeyError whose message matches `re`. */
const boxKeyError = (re: RegExp) => (e: unknown) => e instanceof BoxKeyError && re.test(e.message);

Deno.test("box key - created 0600 once, read back the same, refused when others may read it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/box.key`;
  const key = await loadOrCreateBoxKey(path);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const again = await loadOrCreateBoxKey(path);
  assert.deepEqual(again.secretKey, key.secretKey);
  assert.deepEqual(again.publicKey, key.publicKey);
  await Deno.chmod(path, 0o640);
  await assert.rejects(readBoxKeyFile(path), boxKeyError(/mode 0640/));
  await Deno.chmod(path, 0o600);
  await Deno.writeTextFile(path, "zester-box-secret:AAAA\n");
  await assert.rejects(readBoxKeyFile(path), boxKeyError(/expected "zester-box-secret:<base64/));
});

Deno.test("box key - public keys round-trip as base64 and bad ones name the field", () => {
  const text = "q".repeat(42) + "o=";
  assert.equal(encodeBoxPublicKey(decodeBoxPublicKey(text)), text);
  assert.throws(
    () => decodeBoxPublicKey("AAAA", "box_public_key"),
    boxKeyError(/box_public_key.*32 bytes, got 3/),
  );
  assert.throws(() => decodeBoxPublicKey("not base64!"), boxKeyError(/expected base64/));
});

Deno.test("box key - the shared key is NaCl's from both sides; a low-order public key is refused", async () => {
  const a = createBoxKey();
  const b = createBoxKey();
  const shared = await boxSharedKey(b.publicKey, a);
  assert.deepEqual(shared, nacl.box.before(b.publicKey, a.secretKey));
  assert.deepEqual(await boxSharedKey(a.publicKey, b), shared);
  await assert.rejects(boxSharedKey(new Uint8Array(32), a), boxKeyError(/unusable for X25519/));
});
