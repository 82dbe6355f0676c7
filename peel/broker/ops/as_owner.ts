/**
 * File operations done as another user: under `user_dirs`, in a directory that user owns, the
 * broker runs coreutils as that user (with its groups), contained like any command. That user
 * could swap a path component between the broker's check and its change; done as that user,
 * the change can then only land where that user could already write.
 * @module
 */
import type { Account } from "./accounts.ts";
import { spawnContained } from "./contain.ts";
import { BrokerError } from "../protocol.ts";

const ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" };

/** Run coreutils `argv` as `owner`, feeding `input`; its stdout, or `BrokerError("failed")`. */
export async function asOwner(
  owner: Account,
  argv: readonly string[],
  input?: Uint8Array,
): Promise<Uint8Array> {
  const { child } = spawnContained(argv, {
    user: owner,
    env: ENV,
    stdin: input ? "piped" : "null",
  });
  if (input) {
    const w = child.stdin.getWriter();
    await w.write(input).catch(() => {});
    await w.close().catch(() => {});
  }
  const out = await child.output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new BrokerError("failed", `${argv[0]} as "${owner.name}" failed: ${err || out.code}`);
  }
  return out.stdout;
}

/** `mode` as chmod takes it. */
export function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
