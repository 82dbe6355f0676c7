/**
 * `list`: the entries of a directory, optionally of its whole tree, for `file.recurse` with
 * `clean`. Checked as a read of the directory; links are reported, never followed.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { defineOp } from "./op.ts";
import { BrokerError } from "../protocol.ts";

/** Most entries one `list` returns. */
const MAX_ENTRIES = 100_000;

/** One entry: its path relative to the listed directory, and what it is. */
export interface ListEntry {
  path: string;
  type: "file" | "directory" | "symlink" | "other";
}

function typeOf(e: Deno.DirEntry): ListEntry["type"] {
  return e.isFile ? "file" : e.isDirectory ? "directory" : e.isSymlink ? "symlink" : "other";
}

/** The `list` operation: `{ exists: false }` for a missing directory. */
export const listOp = defineOp({
  args: s.object({
    path: s.string({ pattern: /^\//, expected: "an absolute path" }),
    recursive: s.optional(s.boolean(), false),
  }),
  async run(args, ctx) {
    const root = await ctx.policy.read(args.path);
    const entries: ListEntry[] = [];
    const walk = async (rel: string): Promise<void> => {
      for await (const e of Deno.readDir(rel ? posix.join(root, rel) : root)) {
        if (entries.length >= MAX_ENTRIES) {
          throw new BrokerError("failed", `"${args.path}" holds over ${MAX_ENTRIES} entries`);
        }
        const entry = { path: rel ? `${rel}/${e.name}` : e.name, type: typeOf(e) };
        entries.push(entry);
        if (args.recursive && entry.type === "directory") await walk(entry.path);
      }
    };
    try {
      if (!(await Deno.lstat(root)).isDirectory) {
        throw new BrokerError("failed", `Cannot list "${args.path}": not a directory`);
      }
      await walk("");
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { exists: false, entries: [] };
      if (e instanceof BrokerError) throw e;
      throw new BrokerError("failed", `Cannot list "${args.path}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    entries.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    return { exists: true, entries };
  },
});
