/**
 * The peel's last-known-good settings, sealed at rest: its data dir never holds them in
 * plaintext. NaCl secretbox (XSalsa20-Poly1305) with a key derived from the peel's box secret
 * key; the bytes are `ZAR1`, a random nonce (24 bytes) and the box.
 * @module
 */
import nacl from "tweetnacl";
import type { BoxKey } from "./box_key.ts";
import { SecretOpenError } from "./errors.ts";

const MAGIC = new TextEncoder().encode("ZAR1");
const CONTEXT = new TextEncoder().encode("zester at-rest key v1\0");
const NONCE = nacl.secretbox.nonceLength;

/** The secretbox key of `peelKey`: a hash of a fixed context and its secret key. */
function atRestKey(peelKey: BoxKey): Uint8Array {
  const input = new Uint8Array(CONTEXT.length + peelKey.secretKey.length);
  input.set(CONTEXT);
  input.set(peelKey.secretKey, CONTEXT.length);
  return nacl.hash(input).subarray(0, nacl.secretbox.keyLength);
}

/** Seal `data` with a key only `peelKey` gives. */
export function sealAtRest(data: Uint8Array, peelKey: BoxKey): Uint8Array {
  const nonce = nacl.randomBytes(NONCE);
  const box = nacl.secretbox(data, nonce, atRestKey(peelKey));
  const out = new Uint8Array(MAGIC.length + NONCE + box.length);
  out.set(MAGIC);
  out.set(nonce, MAGIC.length);
  out.set(box, MAGIC.length + NONCE);
  return out;
}

/** Open bytes made by {@linkcode sealAtRest}; another key or altered bytes are refused. */
export function openAtRest(bytes: Uint8Array, peelKey: BoxKey): Uint8Array {
  const head = MAGIC.length + NONCE;
  const opened = bytes.length >= head + nacl.secretbox.overheadLength &&
      MAGIC.every((b, i) => bytes[i] === b)
    ? nacl.secretbox.open(
      bytes.subarray(head),
      bytes.subarray(MAGIC.length, head),
      atRestKey(peelKey),
    )
    : null;
  if (!opened) {
    throw new SecretOpenError(
      "Cannot open sealed settings: not sealed with this peel's key, altered, or not sealed at all",
    );
  }
  return opened;
}
