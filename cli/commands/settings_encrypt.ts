/**
 * `zester settings encrypt`: seal a value read from stdin (never from the command line, where
 * process listings and shell history would keep it) to the master's box public key, and print the
 * `!encrypted` literal for a settings file.
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, openBucket } from "../../lib/bus/mod.ts";
import {
  decodeBoxPublicKey,
  readMasterPublicKey,
  sealToMaster,
  SecretFormatError,
} from "../../lib/secrets/mod.ts";

/** The master's box public key from `path`: the base64 text `zester init` writes. */
export async function readMasterKeyFile(path: string): Promise<Uint8Array> {
  const text = (await Deno.readTextFile(path)).trim();
  return decodeBoxPublicKey(text, `master key file "${path}"`);
}

/** The master's box public key as the master publishes it in the `secrets` bucket. */
export async function fetchMasterKey(nc: NatsConnection): Promise<Uint8Array> {
  return await readMasterPublicKey(await openBucket(nc, BUCKETS.secrets));
}

/**
 * The value to seal from the bytes of stdin: UTF-8 text, one trailing newline dropped unless
 * `raw`; empty is an error.
 */
export function secretFromStdin(bytes: Uint8Array, raw: boolean): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new SecretFormatError("Cannot seal the value on stdin: it is not UTF-8 text", {
      cause: e,
    });
  }
  if (!raw) text = text.replace(/\r?\n$/, "");
  if (text === "") {
    throw new SecretFormatError(
      "No value on stdin: pipe it in, e.g. zester settings encrypt < value-file",
    );
  }
  return text;
}

/** The settings-file line for `value` sealed to `masterPublicKey`. */
export function encryptedLiteral(value: string, masterPublicKey: Uint8Array): string {
  return `!encrypted ${sealToMaster(value, masterPublicKey)}`;
}
