/**
 * Secrets sealed for one peel, in the `secrets` bucket under the peel's id: the master opens each
 * `!encrypted` value with its own key and seals it again to the peel's box public key (NaCl box,
 * a fresh random nonce per seal). The record is MessagePack
 * `{ master_public_key: <base64>, secrets: { <id>: <nonce ‖ box> } }`; only that peel's secret
 * key opens it. The master also publishes its public key under `_master_curve_pub`, for
 * `zester settings encrypt`.
 * @module
 */
import type { KV } from "nats";
import nacl from "tweetnacl";
import { decode, encode } from "../bus/codec.ts";
import { isJsError, JS_ERRORS } from "../bus/errors.ts";
import * as s from "../schema/mod.ts";
import { type BoxKey, boxSharedKey, decodeBoxPublicKey, encodeBoxPublicKey } from "./box_key.ts";
import { SecretOpenError } from "./errors.ts";

/** The `secrets` key holding the master's box public key. */
export const MASTER_PUBLIC_KEY_ID = "_master_curve_pub";

/** Opened secrets: id → plaintext. */
export type OpenedSecrets = Record<string, string>;

const NONCE = nacl.box.nonceLength;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const PeelRecord = s.object({
  master_public_key: s.string(),
  secrets: s.record(s.bytes()),
}, { strict: false });

const MasterKeyRecord = s.object({ box_public_key: s.string() }, { strict: false });

/** Seal `plaintext` with a box shared key: a fresh nonce ‖ the box. */
function sealWith(shared: Uint8Array, plaintext: string): Uint8Array {
  const nonce = nacl.randomBytes(NONCE);
  const box = nacl.box.after(utf8.encode(plaintext), nonce, shared);
  const out = new Uint8Array(NONCE + box.length);
  out.set(nonce);
  out.set(box, NONCE);
  return out;
}

function openWith(shared: Uint8Array, sealed: Uint8Array): string | undefined {
  if (sealed.length < NONCE + nacl.box.overheadLength) return undefined;
  const opened = nacl.box.open.after(sealed.subarray(NONCE), sealed.subarray(0, NONCE), shared);
  if (!opened) return undefined;
  try {
    return strictUtf8.decode(opened);
  } catch {
    return undefined;
  }
}

/** The encoded `secrets` record of one peel: every value of `secrets` sealed for it. */
export async function peelSecretsRecord(
  secrets: OpenedSecrets,
  peelPublicKey: Uint8Array,
  masterKey: BoxKey,
): Promise<Uint8Array> {
  const shared = await boxSharedKey(peelPublicKey, masterKey);
  const sealed: Record<string, Uint8Array> = {};
  for (const [id, plaintext] of Object.entries(secrets)) sealed[id] = sealWith(shared, plaintext);
  return encode({ master_public_key: encodeBoxPublicKey(masterKey.publicKey), secrets: sealed });
}

function parseRecord(record: Uint8Array) {
  try {
    const r = PeelRecord.parse(decode(record));
    return { masterPublicKey: decodeBoxPublicKey(r.master_public_key), secrets: r.secrets };
  } catch (e) {
    throw new SecretOpenError(`Invalid secrets record: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Open a peel's `secrets` record with the peel's own key. A value sealed for another key, or
 * altered, is a {@linkcode SecretOpenError} naming its id.
 */
export async function openPeelSecrets(
  record: Uint8Array,
  peelKey: BoxKey,
): Promise<OpenedSecrets> {
  const r = parseRecord(record);
  const shared = await boxSharedKey(r.masterPublicKey, peelKey);
  const opened: OpenedSecrets = {};
  for (const [id, sealed] of Object.entries(r.secrets)) {
    const plaintext = openWith(shared, sealed);
    if (plaintext === undefined) {
      throw new SecretOpenError(
        `Cannot open secret "${id}": it was not sealed for this peel's key, or was altered`,
      );
    }
    opened[id] = plaintext;
  }
  return opened;
}

/**
 * True when `record` holds exactly `secrets`, sealed by `masterKey` for `peelPublicKey` (a
 * box's shared key opens it from either side).
 */
async function holds(
  record: Uint8Array,
  secrets: OpenedSecrets,
  peelPublicKey: Uint8Array,
  masterKey: BoxKey,
): Promise<boolean> {
  let r;
  try {
    r = parseRecord(record);
  } catch {
    return false;
  }
  const ids = Object.keys(secrets);
  if (
    !nacl.verify(r.masterPublicKey, masterKey.publicKey) ||
    Object.keys(r.secrets).length !== ids.length
  ) return false;
  const shared = await boxSharedKey(peelPublicKey, masterKey);
  return ids.every((id) => {
    const sealed = r.secrets[id];
    return sealed !== undefined && openWith(shared, sealed) === secrets[id];
  });
}

/** A peel's record after {@linkcode publishPeelSecrets}: its revision, and whether it was written. */
export interface PeelSecretsRevision {
  revision: number;
  wrote: boolean;
}

/**
 * Seal `secrets` for peel `peelId` into the `secrets` bucket, unless its record already holds
 * them for the same keys. `replaces` is the revision of a record known to hold something else:
 * while the record is still at that revision it is replaced without being read first.
 */
export async function publishPeelSecrets(
  kv: KV,
  peelId: string,
  peelPublicKey: Uint8Array,
  secrets: OpenedSecrets,
  masterKey: BoxKey,
  replaces?: number,
): Promise<PeelSecretsRevision> {
  const record = () => peelSecretsRecord(secrets, peelPublicKey, masterKey);
  if (replaces !== undefined) {
    try {
      return { revision: await kv.update(peelId, await record(), replaces), wrote: true };
    } catch (e) {
      if (!isJsError(e, JS_ERRORS.wrongLastSequence)) throw e;
    }
  }
  const current = await kv.get(peelId);
  if (
    current?.operation === "PUT" && await holds(current.value, secrets, peelPublicKey, masterKey)
  ) return { revision: current.revision, wrote: false };
  return { revision: await kv.put(peelId, await record()), wrote: true };
}

/** Remove peel `peelId`'s record and its history from the `secrets` bucket. */
export async function removePeelSecrets(kv: KV, peelId: string): Promise<void> {
  await kv.purge(peelId);
}

/** Publish the master's box public key under {@linkcode MASTER_PUBLIC_KEY_ID}, when it changed. */
export async function publishMasterPublicKey(kv: KV, masterKey: BoxKey): Promise<void> {
  const value = encode({ box_public_key: encodeBoxPublicKey(masterKey.publicKey) });
  const current = await kv.get(MASTER_PUBLIC_KEY_ID);
  const same = current?.operation === "PUT" && current.value.length === value.length &&
    current.value.every((b, i) => b === value[i]);
  if (same) return;
  await kv.put(MASTER_PUBLIC_KEY_ID, value);
}

/** The master's box public key as published in `secrets`; an error when none is. */
export async function readMasterPublicKey(kv: KV): Promise<Uint8Array> {
  const entry = await kv.get(MASTER_PUBLIC_KEY_ID);
  if (entry?.operation !== "PUT") {
    throw new SecretOpenError(
      `No master public key in the secrets bucket ("${MASTER_PUBLIC_KEY_ID}"): start a master with box_key_file set, or pass --master-key`,
    );
  }
  try {
    const r = MasterKeyRecord.parse(decode(entry.value), MASTER_PUBLIC_KEY_ID);
    return decodeBoxPublicKey(r.box_public_key, `${MASTER_PUBLIC_KEY_ID}.box_public_key`);
  } catch (e) {
    throw new SecretOpenError(`Invalid "${MASTER_PUBLIC_KEY_ID}": ${(e as Error).message}`, {
      cause: e,
    });
  }
}
