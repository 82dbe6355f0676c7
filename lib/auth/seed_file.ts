/**
 * Nkey seed files (`*.nk`): the keys a master signs with, and the key a fresh peel makes for
 * itself before it enrolls. Written 0600; one that its group or others may read is refused.
 * @module
 */
import { createUser, fromSeed, type KeyPair } from "nkeys.js";
import { checkPrivateFile, CredsError, writePrivateFile } from "./creds.ts";

/** Read the nkey seed at `path`; `kind` (`U`, `A`, `O`) is the key type it must hold. */
export async function readSeedFile(path: string, kind?: "U" | "A" | "O"): Promise<KeyPair> {
  await checkPrivateFile(path, "seed", CredsError);
  const text = (await Deno.readTextFile(path)).trim();
  if (!/^S[UAO][A-Z2-7]{56}$/.test(text) || (kind && text[1] !== kind)) {
    throw new CredsError(
      `Invalid seed file "${path}": expected one ${kind ? `S${kind}` : "nkey"} seed`,
    );
  }
  try {
    return fromSeed(new TextEncoder().encode(text));
  } catch (e) {
    throw new CredsError(`Invalid seed file "${path}": ${(e as Error).message}`, { cause: e });
  }
}

/** The user key at `path`, created (0600) when the file does not exist yet. */
export async function loadOrCreateUserKey(path: string): Promise<KeyPair> {
  try {
    return await readSeedFile(path, "U");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const key = createUser();
  await writePrivateFile(path, seedText(key) + "\n");
  return key;
}

/** The seed of `key` as text (`SU…`), as seed and creds files hold it. */
export function seedText(key: KeyPair): string {
  return new TextDecoder().decode(key.getSeed());
}
