/**
 * `ssh_auth.present|absent`: keys in a user's `authorized_keys` (Salt's `name`, `user`, `enc`,
 * `comment`, `options`, `config`, or `source`: a state tree file of keys in `authorized_keys`
 * format). The peel edits the key list; the broker reads and writes the file as that user, for
 * the users its policy's `accounts` lets be managed.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import { type Broker, BrokerError } from "../broker/mod.ts";
import { ArgumentError, badArg, listArg, needStr, strArg } from "./args.ts";
import { type FileDeps, joinLines, splitLines, treeRead } from "./file_io.ts";

/** The SSH public key types, as written before a key. */
export const KEY_TYPE = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+)$/;

/**
 * `read()`, or in test mode `empty` when the user does not exist yet: a user an earlier state of
 * the same run would create has no files, so a dry run predicts against none.
 */
export async function readOfUser<T>(test: boolean, read: () => Promise<T>, empty: T): Promise<T> {
  try {
    return await read();
  } catch (e) {
    const noUser = e instanceof BrokerError && e.code === "failed" &&
      /^No such user/.test(e.message);
    if (test && noUser) return empty;
    throw e;
  }
}

/** The keys of a `source` file: its lines in `authorized_keys` format, options included. */
async function sourceKeys(c: Chunk, deps: FileDeps): Promise<{ blob: string; line: string }[]> {
  const ref = needStr(c, "source");
  const text = await treeRead(deps, ref).catch(() => {
    throw badArg(c, "source", "a key file in the state tree");
  });
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map(
    (l) => {
      const parts = l.split(/\s+/);
      // A line may start with options (`no-pty,from="…"`) before the key type.
      const opts = KEY_TYPE.test(parts[0]!) ? [] : [parts.shift()!];
      return keyOf({ ...c, name: parts.join(" "), args: { ...c.args, options: opts } });
    },
  );
}

/** The key a state names: its type, base64 body and comment, and the line to write. */
function keyOf(c: Chunk): { blob: string; line: string } {
  const parts = c.name.trim().split(/\s+/);
  const [enc, blob, ...rest] = KEY_TYPE.test(parts[0] ?? "")
    ? parts
    : [strArg(c, "enc", "ssh-rsa"), ...parts];
  if (!enc || !KEY_TYPE.test(enc)) throw badArg(c, "enc", "an SSH key type such as ssh-ed25519");
  if (!blob || !/^[A-Za-z0-9+\/]{16,}={0,3}$/.test(blob)) {
    throw badArg(c, "name", "an SSH public key (base64, with or without its type)");
  }
  const comment = strArg(c, "comment") ?? rest.join(" ");
  if (/[\n\r]/.test(comment)) throw badArg(c, "comment", "one line");
  const options = (listArg(c, "options") ?? []).flatMap((o) => o.split(/,(?=[A-Za-z-]+(?:=|,|$))/));
  for (const o of options) {
    if (!/^[A-Za-z-]+(="[^"\n\r]*")?$/.test(o)) {
      throw badArg(c, "options", 'options such as no-pty or from="10.0.0.0/8"');
    }
  }
  const line = [options.join(","), enc, blob, comment].filter(Boolean).join(" ");
  return { blob, line };
}

/** The `ssh_auth` state module; `deps.tree` holds `source` files. */
export function sshAuthStates(b: Broker, deps?: FileDeps): Record<string, StateFunction> {
  const edit = async (
    c: Chunk,
    test: boolean,
    change: (
      lines: string[],
      blob: string,
      line: string,
    ) => "New" | "Updated" | "Removed" | undefined,
  ): Promise<{ status?: string; changes: Record<string, string>; refused?: string }> => {
    const user = needStr(c, "user");
    const config = strArg(c, "config");
    let keys;
    try {
      keys = c.args.source !== undefined && deps
        ? await sourceKeys(c, deps)
        : [{ ...keyOf(c), name: c.name }];
    } catch (e) {
      // Salt's test mode takes any key and any source (a pillar placeholder) and predicts the
      // change; so do we, saying that applying will refuse it.
      if (!test || !(e instanceof ArgumentError)) throw e;
      return { status: "New", changes: { [c.name]: "New" }, refused: e.message };
    }
    const read = () =>
      b.request("ssh_auth.read", { user, config }) as Promise<{ text: string | null }>;
    const { text } = await readOfUser(test, read, { text: null });
    const lines = splitLines(text ?? "");
    const changes: Record<string, string> = {};
    let status: string | undefined;
    for (const k of keys) {
      const s = change(lines, k.blob, k.line);
      if (s) changes["name" in k ? String(k.name) : k.line] = status = s;
    }
    if (status && !test) {
      await b.request("ssh_auth.write", { user, config, text: joinLines(lines) });
    }
    return { status, changes };
  };
  const has = (l: string, blob: string) =>
    l.split(/\s+/).includes(blob) && !l.trimStart().startsWith("#");
  return {
    async present(c, ctx): Promise<Outcome> {
      const user = needStr(c, "user");
      const { status, changes, refused } = await edit(c, ctx.test, (lines, blob, line) => {
        const i = lines.findIndex((l) => has(l, blob));
        if (i >= 0 && lines[i] === line) return undefined;
        if (i >= 0) lines[i] = line;
        else lines.push(line);
        return i >= 0 ? "Updated" : "New";
      });
      if (!status) {
        return {
          result: true,
          comment: `The authorized host key ${c.name} is already present for user ${user}`,
          changes: {},
        };
      }
      const verb = status === "New" ? "added" : "updated";
      if (ctx.test) {
        return {
          result: null,
          comment: `Key ${c.name} for user ${user} is set to be ${verb}` +
            (refused ? `; applying will fail: ${refused}` : ""),
          changes,
        };
      }
      return {
        result: true,
        comment: `The authorized host key ${c.name} for user ${user} was ${verb}`,
        changes,
      };
    },

    async absent(c, ctx): Promise<Outcome> {
      const user = needStr(c, "user");
      const { status, changes, refused } = await edit(c, ctx.test, (lines, blob) => {
        const keep = lines.filter((l) => !has(l, blob));
        if (keep.length === lines.length) return undefined;
        lines.splice(0, lines.length, ...keep);
        return "Removed";
      });
      if (!status || refused) {
        // A key the broker would refuse cannot be in the file: absent, as Salt's test mode says.
        const note = refused ? `; applying will fail: ${refused}` : "";
        return { result: true, comment: `Key is already absent${note}`, changes: {} };
      }
      if (ctx.test) {
        return {
          result: null,
          comment: `Key ${c.name} for user ${user} is set for removal`,
          changes,
        };
      }
      return { result: true, comment: "Key removed", changes };
    },
  };
}
