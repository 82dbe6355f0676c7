/**
 * `ssh_known_hosts.present|absent`: a host's keys in a user's `known_hosts` (Salt's `name`,
 * `user`, `config`, `key` with `enc`, or `fingerprint` with `fingerprint_hash_type`, `port`,
 * `hash_known_hosts`, `timeout`), or without `user` in an absolute `config` (by default
 * `/etc/ssh/ssh_known_hosts`). The peel finds the host's entries, hashed ones too (HMAC-SHA1,
 * as OpenSSH hashes them), and edits the lines; the broker reads and writes the file (as the
 * user, for the users its `accounts` lets be managed) and, for a state without `key`, asks
 * ssh-keyscan for the host's keys if its `keyscan` lists the host. Changes are Salt's:
 * `{old: [entries] | null, new: [entries] | null}`.
 * @module
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import { type Broker, KEYSCAN_TYPES, SSH_HOST } from "../broker/mod.ts";
import { badArg, boolArg, intArg, oneOf, strArg } from "./args.ts";
import { joinLines, readText, splitLines, stat } from "./file_io.ts";
import { KEY_TYPE, readOfUser } from "./ssh_auth.ts";

const SHORT_TYPES: Record<string, string> = {
  rsa: "ssh-rsa",
  dsa: "ssh-dss",
  dss: "ssh-dss",
  ecdsa: "ecdsa-sha2-nistp256",
  ed25519: "ssh-ed25519",
};
const HASH_TYPES = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] as const;
const FINGERPRINT = /^(?:[0-9a-f]{2}:)+[0-9a-f]{2}$/;

/** One known_hosts entry, as Salt reports it. */
interface Entry {
  hostname: string;
  enc: string;
  key: string;
  fingerprint?: string;
}

const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** Salt's fingerprint of a key: the hash of its bytes, hex pairs joined by colons. */
function fingerprintOf(key: string, type: string): string {
  return createHash(type).update(bytes(key)).digest("hex").match(/../g)!.join(":");
}

/** Whether the hosts field of a line names `host`: a plain list, or OpenSSH's `|1|salt|hmac`. */
function names(field: string, host: string): boolean {
  const hashed = /^\|1\|([A-Za-z0-9+\/=]+)\|([A-Za-z0-9+\/=]+)$/.exec(field);
  if (hashed) {
    return createHmac("sha1", bytes(hashed[1]!)).update(host).digest("base64") === hashed[2];
  }
  return field.toLowerCase().split(",").includes(host.toLowerCase());
}

/** `host` hashed as `ssh-keygen -H` does: a random 20-byte salt and HMAC-SHA1 under it. */
function hashed(host: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(host).digest("base64")}`;
}

/** The entries of `lines` for `host` (markers such as `@revoked` are left alone), with index. */
function entriesFor(lines: string[], host: string, hashType: string) {
  return lines.flatMap((l, index) => {
    const [field, enc, key] = l.trim().split(/\s+/);
    if (!field || !enc || !key || /^[#@]/.test(field) || !names(field, host)) return [];
    return [{
      index,
      entry: { hostname: field, enc, key, fingerprint: fingerprintOf(key, hashType) },
    }];
  });
}

/** Where the state's known_hosts file is, and how to read and write it through the broker. */
function location(b: Broker, c: Chunk, test: boolean) {
  const user = strArg(c, "user");
  if (user !== undefined) {
    const config = strArg(c, "config", ".ssh/known_hosts");
    if (config.startsWith("/")) throw badArg(c, "config", "a path relative to the user's home");
    return {
      config,
      read: async () => {
        const read = () =>
          b.request("ssh_auth.read", { user, config }) as Promise<{ text: string | null }>;
        return (await readOfUser(test, read, { text: null })).text ?? "";
      },
      write: (text: string) => b.request("ssh_auth.write", { user, config, text }),
    };
  }
  const config = strArg(c, "config", "/etc/ssh/ssh_known_hosts");
  if (!config.startsWith("/")) {
    throw badArg(c, "config", 'an absolute path when no "user" is given');
  }
  let exists = false;
  return {
    config,
    read: async () => {
      exists = (await stat(b, config)).exists;
      return exists ? await readText(b, config) : "";
    },
    write: (text: string) =>
      b.request("write", { path: config, data: text, ...(exists ? {} : { mode: 0o644 }) }),
  };
}

/** The host a state names, and how known_hosts writes it (`[host]:port` off port 22). */
function hostOf(c: Chunk): { host: string; lookup: string } {
  const host = c.name.trim();
  if (!SSH_HOST.test(host)) throw badArg(c, "name", "a host name or IP address");
  const port = intArg(c, "port", { min: 1, max: 65535 });
  return { host, lookup: port === undefined || port === 22 ? host : `[${host}]:${port}` };
}

/** The key type a state gives (`enc`), in known_hosts' spelling (`ed25519` → `ssh-ed25519`). */
function encOf(c: Chunk): string | undefined {
  const enc = strArg(c, "enc");
  if (enc === undefined) return undefined;
  const full = SHORT_TYPES[enc.toLowerCase()] ?? enc;
  if (!KEY_TYPE.test(full)) throw badArg(c, "enc", "an SSH key type such as ssh-ed25519");
  return full;
}

/** The type of key blob `key` (its first field), or undefined when it is not a key. */
function blobType(key: string): string | undefined {
  if (!/^[A-Za-z0-9+\/]{16,}={0,3}$/.test(key)) return undefined;
  const b = bytes(key);
  const n = new DataView(b.buffer).getUint32(0);
  return n < 64 && n + 4 <= b.length ? new TextDecoder().decode(b.subarray(4, 4 + n)) : undefined;
}

/** ssh-keyscan's name (`-t`) for key type `enc`. */
function scanType(enc: string): (typeof KEYSCAN_TYPES)[number] | undefined {
  if (enc.startsWith("sk-ecdsa-")) return "ecdsa-sk";
  if (enc.startsWith("sk-ssh-ed25519")) return "ed25519-sk";
  if (enc.startsWith("ecdsa-sha2-")) return "ecdsa";
  return KEYSCAN_TYPES.find((t) => SHORT_TYPES[t] === enc);
}

/** The `ssh_known_hosts` state module. */
export function sshKnownHostsStates(b: Broker): Record<string, StateFunction> {
  return {
    async present(c, ctx): Promise<Outcome> {
      const { host, lookup } = hostOf(c);
      const key = strArg(c, "key");
      const fingerprint = strArg(c, "fingerprint")?.toLowerCase();
      const enc = encOf(c);
      if (key !== undefined && fingerprint !== undefined) {
        throw badArg(c, "fingerprint", 'left out when "key" is given (one of the two)');
      }
      if (key !== undefined) {
        if (enc === undefined) throw badArg(c, "enc", 'the key type when "key" is given');
        if (blobType(key) !== enc) throw badArg(c, "key", `a base64 public key of type ${enc}`);
      }
      if (fingerprint !== undefined && !FINGERPRINT.test(fingerprint)) {
        throw badArg(c, "fingerprint", "hex pairs joined by colons (16:27:ac:…)");
      }
      const hashType = oneOf(c, "fingerprint_hash_type", HASH_TYPES, "sha256");
      const hash = boolArg(c, "hash_known_hosts", true);
      const timeout = intArg(c, "timeout", { min: 1, max: 300 }) ?? 5;
      const file = location(b, c, ctx.test);
      const lines = splitLines(await file.read());
      const stored = entriesFor(lines, lookup, hashType);
      const known = key !== undefined
        ? stored.some((s) => s.entry.key === key)
        : fingerprint !== undefined
        ? stored.some((s) => s.entry.fingerprint === fingerprint)
        : stored.length > 0;
      if (known) {
        const comment = ctx.test
          ? `Host ${host} is already in ${file.config}`
          : `${host} already exists in ${file.config}`;
        return { result: true, comment, changes: {} };
      }
      let fresh: Entry[];
      if (key !== undefined) {
        fresh = [{ hostname: lookup, enc: enc!, key }];
      } else {
        const port = intArg(c, "port");
        const type = enc === undefined ? undefined : scanType(enc);
        const scan = await b.request("ssh.keyscan", { host, port, type, timeout }) as {
          keys: { enc: string; key: string }[];
          error?: string;
        };
        const found = scan.keys
          .filter((k) => enc === undefined || k.enc === enc)
          .map((k) => ({ hostname: lookup, ...k, fingerprint: fingerprintOf(k.key, hashType) }));
        if (found.length === 0) {
          const why = scan.error ? `: ${scan.error}` : "";
          return {
            result: false,
            comment: `Unable to receive remote host keys${why}`,
            changes: {},
          };
        }
        fresh = fingerprint === undefined
          ? found
          : found.filter((k) => k.fingerprint === fingerprint);
        if (fresh.length === 0) {
          return {
            result: false,
            comment: "Remote host public keys found but none of their fingerprints match the " +
              "one you have provided",
            changes: {},
          };
        }
      }
      const changes = { old: stored.length ? stored.map((s) => s.entry) : null, new: fresh };
      if (ctx.test) {
        const verb = stored.length ? "updated in" : "added to";
        return {
          result: null,
          comment: `Key for ${host} is set to be ${verb} ${file.config}`,
          changes,
        };
      }
      const replaced = new Set(
        stored.filter((s) => fresh.some((f) => f.enc === s.entry.enc)).map((s) => s.index),
      );
      const next = lines.filter((_, i) => !replaced.has(i)).concat(
        fresh.map((e) => `${hash ? hashed(lookup) : lookup} ${e.enc} ${e.key}`),
      );
      await file.write(joinLines(next));
      const saved = key !== undefined ? `key: ${key}` : `fingerprint: ${fresh[0]!.fingerprint}`;
      return {
        result: true,
        comment: `${host}'s key saved to ${file.config} (${saved})`,
        changes,
      };
    },

    async absent(c, ctx): Promise<Outcome> {
      const { host, lookup } = hostOf(c);
      const file = location(b, c, ctx.test);
      const lines = splitLines(await file.read());
      const stored = entriesFor(lines, lookup, "sha256");
      if (stored.length === 0) {
        return { result: true, comment: "Host is already absent", changes: {} };
      }
      const changes = { old: stored.map((s) => s.entry), new: null };
      if (ctx.test) {
        return {
          result: null,
          comment: `Key for ${host} is set to be removed from ${file.config}`,
          changes,
        };
      }
      const drop = new Set(stored.map((s) => s.index));
      await file.write(joinLines(lines.filter((_, i) => !drop.has(i))));
      return {
        result: true,
        comment: `Host ${lookup} removed from ${file.config}`,
        changes,
      };
    },
  };
}
