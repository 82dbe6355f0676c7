/**
 * User and group lookups from `/etc/passwd` and `/etc/group`, for `run` as a user and `chown`.
 * @module
 */
import { BrokerError } from "../protocol.ts";

/** One account. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
  /** Its home directory. */
  home: string;
}

async function lookup(file: string, name: string): Promise<string[] | undefined> {
  const text = await Deno.readTextFile(file);
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f[0] === name || (/^\d+$/.test(name) && f[2] === name)) return f;
  }
  return undefined;
}

/** The user `name` (or numeric uid); throws `BrokerError("failed")` when there is none. */
export async function user(name: string, root = "/"): Promise<Account> {
  const f = await lookup(`${root}etc/passwd`, name);
  if (!f) throw new BrokerError("failed", `No such user "${name}"`);
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || "/" };
}

/** The gid of group `name` (or a numeric gid); throws `BrokerError("failed")` when there is none. */
export async function groupId(name: string, root = "/"): Promise<number> {
  const f = await lookup(`${root}etc/group`, name);
  if (!f) throw new BrokerError("failed", `No such group "${name}"`);
  return Number(f[2]);
}
