/**
 * The `!encrypted` literal of settings files: a value sealed to the master's box key by
 * `zester settings encrypt`, so that a settings tree holding secrets can live in git. The text is
 * `zbox1:` and the base64 of an ephemeral sender public key (32 bytes), a random nonce (24 bytes)
 * and the NaCl box (X25519, XSalsa20-Poly1305) of the UTF-8 value; only the master opens it.
 * @module
 */
import nacl from "tweetnacl";
import type { BoxKey } from "./box_key.ts";
import { SecretFormatError, SecretOpenError } from "./errors.ts";

/** The version prefix of every sealed literal. */
export const SEALED_LITERAL_PREFIX = "zbox1:";

const KEY = nacl.box.publicKeyLength;
const NONCE = nacl.box.nonceLength;
const MIN_BYTES = KEY + NONCE + nacl.box.overheadLength + 1;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Seal `plaintext` (not empty) to the master's public key: the `!encrypted` literal. */
export function sealToMaster(plaintext: string, masterPublicKey: Uint8Array): string {
  if (plaintext === "") throw new SecretFormatError("Cannot seal an empty value");
  const sender = nacl.box.keyPair();
  const nonce = nacl.randomBytes(NONCE);
  const box = nacl.box(utf8.encode(plaintext), nonce, masterPublicKey, sender.secretKey);
  const out = new Uint8Array(KEY + NONCE + box.length);
  out.set(sender.publicKey);
  out.set(nonce, KEY);
  out.set(box, KEY + NONCE);
  return SEALED_LITERAL_PREFIX + out.toBase64();
}

/**
 * The bytes of a sealed literal, or a {@linkcode SecretFormatError} saying what was expected;
 * `where` (a file and line) starts the message.
 */
export function parseSealedLiteral(literal: string, where = "Sealed value"): Uint8Array {
  const expected = `expected "${SEALED_LITERAL_PREFIX}<base64>" from zester settings encrypt`;
  if (!literal.startsWith(SEALED_LITERAL_PREFIX)) {
    throw new SecretFormatError(`${where}: not a sealed value (${expected})`);
  }
  const b64 = literal.slice(SEALED_LITERAL_PREFIX.length);
  let bytes: Uint8Array | undefined;
  if (BASE64.test(b64)) {
    try {
      bytes = Uint8Array.fromBase64(b64);
    } catch { /* reported below */ }
  }
  if (!bytes || bytes.length < MIN_BYTES) {
    throw new SecretFormatError(`${where}: malformed sealed value (${expected})`);
  }
  return bytes;
}

/** Open a literal made by {@linkcode sealToMaster} with the master's key. */
export function openMasterSealed(literal: string, masterKey: BoxKey): string {
  const bytes = parseSealedLiteral(literal);
  const opened = nacl.box.open(
    bytes.subarray(KEY + NONCE),
    bytes.subarray(KEY, KEY + NONCE),
    bytes.subarray(0, KEY),
    masterKey.secretKey,
  );
  if (!opened) {
    throw new SecretOpenError(
      "Cannot open sealed value: it was sealed to another master key, or altered",
    );
  }
  return strictUtf8.decode(opened);
}
