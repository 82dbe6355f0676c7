/**
 * X25519 box keys (NaCl `box`, via tweetnacl): each peel and the master hold one. The master seals
 * a peel's secrets to the peel's public key; only that peel's secret key opens them.
 * @module
 */
import nacl from "tweetnacl";
import { checkPrivateFile, writePrivateFile } from "../auth/creds.ts";

/** A NaCl box key pair. */
export interface BoxKey {
  /** The public half (32 bytes), shared through enrollment. */
  publicKey: Uint8Array;
  /** The secret half (32 bytes), kept in a 0600 file. */
  secretKey: Uint8Array;
}

/** A box key file that cannot be used: malformed, or readable by others. */
export class BoxKeyError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BoxKeyError";
  }
}

const PREFIX = "zester-box-secret:";

/** A fresh random box key pair. */
export function createBoxKey(): BoxKey {
  return nacl.box.keyPair();
}

const PKCS8_X25519_PREFIX = Uint8Array.fromHex("302e020100300506032b656e04220420");
const SIGMA = new TextEncoder().encode("expand 32-byte k");
// tweetnacl exports its primitives untyped, under `lowlevel`.
const { crypto_core_hsalsa20: hsalsa20 } = (nacl as unknown as {
  lowlevel: {
    crypto_core_hsalsa20(out: Uint8Array, input: Uint8Array, k: Uint8Array, c: Uint8Array): void;
  };
}).lowlevel;
const privateKeys = new WeakMap<BoxKey, Promise<CryptoKey>>();
/** Shared keys by our key and the peer's public key array, as the master re-seals for a fleet. */
const sharedKeys = new WeakMap<BoxKey, WeakMap<Uint8Array, Promise<Uint8Array>>>();

/**
 * The shared key of a box between `key` and the holder of `publicKey`, as `nacl.box.before`
 * computes it, for `nacl.box.after` and `nacl.box.open.after`. X25519 runs in the platform's
 * WebCrypto, several times faster than tweetnacl's, which counts when the master seals for
 * thousands of peels; it is kept for as long as both `key` and the `publicKey` array live (an
 * array must not change once used here). A public key of low order is refused.
 */
export function boxSharedKey(publicKey: Uint8Array, key: BoxKey): Promise<Uint8Array> {
  let known = sharedKeys.get(key);
  if (!known) sharedKeys.set(key, known = new WeakMap());
  let shared = known.get(publicKey);
  if (!shared) {
    shared = deriveSharedKey(publicKey, key);
    known.set(publicKey, shared);
    shared.catch(() => known.delete(publicKey));
  }
  return shared;
}

async function deriveSharedKey(publicKey: Uint8Array, key: BoxKey): Promise<Uint8Array> {
  let secret = privateKeys.get(key);
  if (!secret) {
    const pkcs8 = new Uint8Array(PKCS8_X25519_PREFIX.length + key.secretKey.length);
    pkcs8.set(PKCS8_X25519_PREFIX);
    pkcs8.set(key.secretKey, PKCS8_X25519_PREFIX.length);
    secret = crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]);
    privateKeys.set(key, secret);
  }
  let shared: Uint8Array;
  try {
    const raw = new Uint8Array(publicKey);
    const peer = await crypto.subtle.importKey("raw", raw, { name: "X25519" }, false, []);
    shared = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "X25519", public: peer }, await secret, 256),
    );
  } catch (e) {
    throw new BoxKeyError(`Invalid box public key "${publicKey.toBase64()}": unusable for X25519`, {
      cause: e,
    });
  }
  const out = new Uint8Array(nacl.box.sharedKeyLength);
  hsalsa20(out, new Uint8Array(16), shared, SIGMA);
  return out;
}

/** The text form of a public key (base64), as enrollment records and secrets carry it. */
export function encodeBoxPublicKey(key: Uint8Array): string {
  return key.toBase64();
}

/** Read a public key written by {@linkcode encodeBoxPublicKey}; `field` names it in errors. */
export function decodeBoxPublicKey(text: string, field = "box public key"): Uint8Array {
  let key: Uint8Array;
  try {
    key = Uint8Array.fromBase64(text);
  } catch (e) {
    throw new BoxKeyError(`Invalid ${field} "${text}": expected base64`, { cause: e });
  }
  if (key.length !== nacl.box.publicKeyLength) {
    throw new BoxKeyError(`Invalid ${field} "${text}": expected 32 bytes, got ${key.length}`);
  }
  return key;
}

/** Write `key`'s secret half to `path`, readable by its owner only. */
export async function writeBoxKeyFile(path: string, key: BoxKey): Promise<void> {
  await writePrivateFile(path, `${PREFIX}${key.secretKey.toBase64()}\n`);
}

/** Read the box key at `path`; a file that its group or others may read is refused. */
export async function readBoxKeyFile(path: string): Promise<BoxKey> {
  await checkPrivateFile(path, "box key", BoxKeyError);
  const text = (await Deno.readTextFile(path)).trim();
  let secret: Uint8Array | undefined;
  if (text.startsWith(PREFIX)) {
    try {
      secret = Uint8Array.fromBase64(text.slice(PREFIX.length));
    } catch { /* reported below */ }
  }
  if (secret?.length !== nacl.box.secretKeyLength) {
    throw new BoxKeyError(
      `Invalid box key file "${path}": expected "${PREFIX}<base64 of 32 bytes>"`,
    );
  }
  return nacl.box.keyPair.fromSecretKey(secret);
}

/** The box key at `path`, created (0600) when the file does not exist yet. */
export async function loadOrCreateBoxKey(path: string): Promise<BoxKey> {
  try {
    return await readBoxKeyFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const key = createBoxKey();
  await writeBoxKeyFile(path, key);
  return key;
}
