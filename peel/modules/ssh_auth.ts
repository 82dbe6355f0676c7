/**
 * `ssh_auth.present|absent`: one key in a user's `authorized_keys` (Salt's `name`, `user`,
 * `enc`, `comment`, `options`, `config`). The peel edits the key list; the broker reads and
 * writes the file as that user, for the users its policy's `accounts` lets be managed.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { Broker } from "../functions/mod.ts";
import { badArg, listArg, needStr, strArg } from "./args.ts";
import { joinLines, splitLines } from "./file_io.ts";

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+)$/;

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
  const options = listArg(c, "options") ?? [];
  for (const o of options) {
    if (!/^[A-Za-z-]+(="[^"\n\r]*")?$/.test(o)) {
      throw badArg(c, "options", 'options such as no-pty or from="10.0.0.0/8"');
    }
  }
  const line = [options.join(","), enc, blob, comment].filter(Boolean).join(" ");
  return { blob, line };
}

/** The `ssh_auth` state module. */
export function sshAuthStates(b: Broker): Record<string, StateFunction> {
  const edit = async (
    c: Chunk,
    test: boolean,
    change: (
      lines: string[],
      blob: string,
      line: string,
    ) => "New" | "Updated" | "Removed" | undefined,
  ): Promise<{ status?: string; blob: string }> => {
    const user = needStr(c, "user");
    const config = strArg(c, "config");
    const { blob, line } = keyOf(c);
    const { text } = await b.request("ssh_auth.read", { user, config }) as { text: string | null };
    const lines = splitLines(text ?? "");
    const status = change(lines, blob, line);
    if (status && !test) {
      await b.request("ssh_auth.write", { user, config, text: joinLines(lines) });
    }
    return { status, blob };
  };
  const has = (l: string, blob: string) =>
    l.split(/\s+/).includes(blob) && !l.trimStart().startsWith("#");
  return {
    async present(c, ctx): Promise<Outcome> {
      const user = needStr(c, "user");
      const { status } = await edit(c, ctx.test, (lines, blob, line) => {
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
      const changes = { [c.name]: status };
      const verb = status === "New" ? "added" : "updated";
      if (ctx.test) {
        return {
          result: null,
          comment: `Key ${c.name} for user ${user} is set to be ${verb}`,
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
      const { status } = await edit(c, ctx.test, (lines, blob) => {
        const keep = lines.filter((l) => !has(l, blob));
        if (keep.length === lines.length) return undefined;
        lines.splice(0, lines.length, ...keep);
        return "Removed";
      });
      if (!status) return { result: true, comment: "Key is already absent", changes: {} };
      const changes = { [c.name]: "Removed" };
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
