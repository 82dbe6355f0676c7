/**
 * File operations for the file state modules: stat, read, atomic write with mode and owner,
 * chmod, chown, mkdir, remove, symlink, rename. Every path is checked against the policy after
 * resolving `..` and symlinks.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { groupId, user } from "./accounts.ts";
import { defineOp, OpError } from "./op.ts";

const path = s.string({ pattern: /^\//, expected: "an absolute path" });
const mode = s.int({ min: 0, max: 0o7777 });
const owner = s.string({
  pattern: /^[a-z_][a-z0-9_-]*\$?$|^\d+$/,
  expected: "a user or group name",
});
/** Largest file `read` returns. */
const MAX_READ = 16 * 1024 * 1024;

function wrap(what: string, p: string, e: unknown): OpError {
  if (e instanceof OpError) return e;
  return new OpError("failed", `Cannot ${what} "${p}": ${(e as Error).message}`, { cause: e });
}

async function applyOwner(p: string, u?: string, g?: string): Promise<void> {
  if (u === undefined && g === undefined) return;
  const uid = u === undefined ? null : (await user(u)).uid;
  const gid = g === undefined ? null : await groupId(g);
  await Deno.chown(p, uid, gid);
}

/** `stat`: what is at a path (without following a final symlink). */
export const statOp = defineOp({
  args: s.object({ path }),
  async run(args, ctx) {
    const full = await ctx.policy.readLink(args.path);
    try {
      const st = await Deno.lstat(full);
      return {
        exists: true,
        type: st.isFile
          ? "file"
          : st.isDirectory
          ? "directory"
          : st.isSymlink
          ? "symlink"
          : "other",
        mode: (st.mode ?? 0) & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: st.size,
        mtime: st.mtime?.toISOString(),
        target: st.isSymlink ? await Deno.readLink(full) : undefined,
      };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { exists: false };
      throw wrap("stat", args.path, e);
    }
  },
});

/** `read`: a file's bytes. */
export const readOp = defineOp({
  args: s.object({ path }),
  async run(args, ctx) {
    const p = await ctx.policy.read(args.path);
    try {
      const st = await Deno.stat(p);
      if (st.size > MAX_READ) {
        throw new OpError("failed", `"${args.path}" is over ${MAX_READ} bytes`);
      }
      return { data: await Deno.readFile(p) };
    } catch (e) {
      throw wrap("read", args.path, e);
    }
  },
});

/** `write`: replace a file atomically (temp file, mode, owner, rename). */
export const writeOp = defineOp({
  args: s.object({
    path,
    data: s.union(s.bytes(), s.string()),
    mode: s.optional(mode),
    user: s.optional(owner),
    group: s.optional(owner),
    makedirs: s.optional(s.boolean(), false),
  }),
  async run(args, ctx) {
    const p = await ctx.policy.write(args.path);
    const dir = posix.dirname(p);
    const tmp = posix.join(dir, `.${posix.basename(p)}.zester-${crypto.randomUUID().slice(0, 8)}`);
    try {
      if (args.makedirs) await Deno.mkdir(dir, { recursive: true });
      const data = typeof args.data === "string" ? new TextEncoder().encode(args.data) : args.data;
      let keepMode: number | undefined;
      try {
        keepMode = (await Deno.stat(p)).mode! & 0o7777;
      } catch { /* new file */ }
      await Deno.writeFile(tmp, data, { mode: 0o600, createNew: true });
      await Deno.chmod(tmp, args.mode ?? keepMode ?? 0o644);
      await applyOwner(tmp, args.user, args.group);
      await Deno.rename(tmp, p);
      return { path: p, bytes: data.byteLength };
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw wrap("write", args.path, e);
    }
  },
});

/** `chmod`. */
export const chmodOp = defineOp({
  args: s.object({ path, mode }),
  async run(args, ctx) {
    const p = await ctx.policy.write(args.path);
    try {
      await Deno.chmod(p, args.mode);
      return { path: p };
    } catch (e) {
      throw wrap("chmod", args.path, e);
    }
  },
});

/** `chown`: user and/or group by name. */
export const chownOp = defineOp({
  args: s.object({ path, user: s.optional(owner), group: s.optional(owner) }),
  async run(args, ctx) {
    const p = await ctx.policy.write(args.path);
    try {
      await applyOwner(p, args.user, args.group);
      return { path: p };
    } catch (e) {
      throw wrap("chown", args.path, e);
    }
  },
});

/** `mkdir`. */
export const mkdirOp = defineOp({
  args: s.object({ path, mode: s.optional(mode), parents: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    const p = await ctx.policy.write(args.path);
    try {
      await Deno.mkdir(p, { recursive: args.parents, mode: args.mode ?? 0o755 });
      if (args.mode !== undefined) await Deno.chmod(p, args.mode);
      return { path: p };
    } catch (e) {
      throw wrap("mkdir", args.path, e);
    }
  },
});

/** `remove`: a file, link or (with `recursive`) a tree. The link itself, never its target. */
export const removeOp = defineOp({
  args: s.object({ path, recursive: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    const p = await ctx.policy.writeLink(args.path);
    try {
      await Deno.remove(p, { recursive: args.recursive });
      return { path: p, removed: true };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { path: p, removed: false };
      throw wrap("remove", args.path, e);
    }
  },
});

/** `symlink`: create link `path` pointing to `target`. */
export const symlinkOp = defineOp({
  args: s.object({ path, target: s.string({ minLength: 1 }) }),
  async run(args, ctx) {
    const p = await ctx.policy.writeLink(args.path);
    try {
      await Deno.symlink(args.target, p);
      return { path: p };
    } catch (e) {
      throw wrap("symlink", args.path, e);
    }
  },
});

/** `rename`: both ends must be writable. */
export const renameOp = defineOp({
  args: s.object({ from: path, to: path }),
  async run(args, ctx) {
    const from = await ctx.policy.writeLink(args.from);
    const to = await ctx.policy.writeLink(args.to);
    try {
      await Deno.rename(from, to);
      return { path: to };
    } catch (e) {
      throw wrap("rename", args.from, e);
    }
  },
});
