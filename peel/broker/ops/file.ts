/**
 * File operations for the file state modules: stat, read, atomic write with mode and owner,
 * chmod, chown, mkdir, remove, symlink, rename. They take turns, one at a time, so no request
 * races another. Each path is checked against the policy after resolving `..` and symlinks, in
 * a directory checked by `work_dir.ts`, and audited (resolved) before anything changes.
 *
 * A write creates its temp file without following links, sets owner and mode through the open
 * file, then checks that the directory still resolves to itself with the same device and inode
 * and that the temp file is still its own, and only then renames it into place; otherwise it
 * removes the temp file and fails. chmod and chown also act through an open file, never a path
 * that could have become a link.
 * @module
 */
import fs from "node:fs";
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { Slots } from "../slots.ts";
import type { Account } from "./accounts.ts";
import { asOwner, octal } from "./as_owner.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { actAs, pin, recheck } from "./work_dir.ts";

const path = s.string({ pattern: /^\//, expected: "an absolute path" });
const mode = s.int({ min: 0, max: 0o7777 });
const ownerName = s.string({
  pattern: /^[a-z_][a-z0-9_-]*\$?$|^\d+$/,
  expected: "a user or group name",
});
/** Largest file `read` returns. */
const MAX_READ = 16 * 1024 * 1024;
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = fs.constants;
const DD = "/usr/bin/dd";
const MV = "/usr/bin/mv";
const RM = "/usr/bin/rm";

/** File operations take turns: one at a time. */
const turn = new Slots(1);

function wrap(what: string, p: string, e: unknown): BrokerError {
  if (e instanceof BrokerError) return e;
  return new BrokerError("failed", `Cannot ${what} "${p}": ${(e as Error).message}`, { cause: e });
}

/** Run `fn` on its turn, turning a failure into `BrokerError` about `what` of `p`. */
async function onTurn<T>(ctx: OpContext, what: string, p: string, fn: () => Promise<T>) {
  return await turn.with(ctx.signal, async () => {
    try {
      return await fn();
    } catch (e) {
      throw wrap(what, p, e);
    }
  });
}

/** Open `p` itself (never through a final link) and run `fn` on a file or directory there. */
function throughFile(p: string, fn: (fd: number) => void): void {
  const fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() && !st.isDirectory()) {
      throw new BrokerError("failed", `"${p}" is neither a file nor a directory`);
    }
    fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Up to `max` bytes of file `p`, read through a descriptor opened without following links. */
function readAtMost(p: string, max: number): Uint8Array {
  const fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  try {
    const buf = new Uint8Array(Math.min(fs.fstatSync(fd).size, max - 1) + 1);
    let n = 0;
    while (n < buf.byteLength) {
      const k = fs.readSync(fd, buf, n, buf.byteLength - n, null);
      if (k === 0) break;
      n += k;
    }
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function lstatOrNull(p: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(p);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Under `user_dirs` files belong to the directory's owner: only groups can be chosen. */
function ownerOnly(owner: Account, uid: number | undefined): void {
  if (uid !== undefined && uid !== owner.uid) {
    throw new BrokerError(
      "denied",
      `Denied: in a directory of "${owner.name}" (user_dirs) files belong to "${owner.name}"`,
    );
  }
}

/** `stat`: what is at a path (without following a final symlink). */
export const statOp = defineOp({
  auditsItself: true,
  args: s.object({ path }),
  async run(args, ctx) {
    return await onTurn(ctx, "stat", args.path, async () => {
      const full = await ctx.policy.readLink(args.path);
      ctx.intent({ path: full });
      const st = lstatOrNull(full);
      if (!st) return { exists: false };
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
    });
  },
});

/** `read`: a file's bytes. */
export const readOp = defineOp({
  auditsItself: true,
  args: s.object({ path }),
  async run(args, ctx) {
    return await onTurn(ctx, "read", args.path, async () => {
      const p = await ctx.policy.read(args.path);
      const owner = await actAs(posix.dirname(p), ctx.policy, p);
      ctx.intent({ path: p, as_user: owner?.name });
      const tooBig = new BrokerError("failed", `"${args.path}" is over ${MAX_READ} bytes`);
      if (Deno.statSync(p).size > MAX_READ) throw tooBig;
      // Read one byte past the limit, in case the file grew since.
      const data = owner
        ? await asOwner(owner, ["/usr/bin/head", "-c", `${MAX_READ + 1}`, "--", p])
        : readAtMost(p, MAX_READ + 1);
      if (data.byteLength > MAX_READ) throw tooBig;
      return { data };
    });
  },
});

/** `write`: replace a file atomically (temp file, owner, mode, rename). */
export const writeOp = defineOp({
  auditsItself: true,
  args: s.object({
    path,
    data: s.union(s.bytes(), s.string()),
    mode: s.optional(mode),
    user: s.optional(ownerName),
    group: s.optional(ownerName),
    makedirs: s.optional(s.boolean(), false),
  }),
  async run(args, ctx) {
    const data = typeof args.data === "string" ? new TextEncoder().encode(args.data) : args.data;
    return await onTurn(ctx, "write", args.path, async () => {
      const p = await ctx.policy.write(args.path);
      ctx.policy.mode(args.mode);
      const ids = await ctx.policy.owners(args.user, args.group);
      const dir = posix.dirname(p);
      const tmp = posix.join(
        dir,
        `.${posix.basename(p)}.zester-${crypto.randomUUID().slice(0, 8)}`,
      );
      const owner = await actAs(dir, ctx.policy, p);
      if (owner) ownerOnly(owner, ids.uid);
      ctx.intent({ path: p, as_user: owner?.name });
      const old = lstatOrNull(p);
      const keepMode = old?.isFile ? old.mode! & 0o7777 : undefined;
      const fileMode = args.mode ?? keepMode ?? 0o644;
      if (owner) {
        if (args.makedirs) await asOwner(owner, ["/usr/bin/mkdir", "-p", "--", dir]);
        await asOwner(owner, [DD, `of=${tmp}`, "oflag=nofollow", "conv=excl", "status=none"], data);
        try {
          if (ids.gid !== undefined) {
            await asOwner(owner, ["/usr/bin/chgrp", `${ids.gid}`, "--", tmp]);
          }
          await asOwner(owner, ["/usr/bin/chmod", octal(fileMode), "--", tmp]);
          await asOwner(owner, [MV, "-fT", "--", tmp, p]);
        } catch (e) {
          await asOwner(owner, [RM, "-f", "--", tmp]).catch(() => {});
          throw e;
        }
        return { path: p, bytes: data.byteLength };
      }
      if (args.makedirs) Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
      const pinned = pin(dir);
      const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        let mine: fs.Stats;
        try {
          for (let o = 0; o < data.byteLength;) o += fs.writeSync(fd, data, o);
          if (ids.uid !== undefined || ids.gid !== undefined) {
            fs.fchownSync(fd, ids.uid ?? -1, ids.gid ?? -1); // Before the mode: chown clears setid.
          }
          fs.fchmodSync(fd, fileMode);
          mine = fs.fstatSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        recheck(dir, pinned);
        const st = Deno.lstatSync(tmp);
        if (st.dev !== mine.dev || st.ino !== mine.ino) {
          throw new BrokerError("failed", `Temp file "${tmp}" changed during the write`);
        }
        Deno.renameSync(tmp, p);
      } catch (e) {
        try {
          Deno.removeSync(tmp);
        } catch { /* gone */ }
        throw e;
      }
      return { path: p, bytes: data.byteLength };
    });
  },
});

/** `chmod`. */
export const chmodOp = defineOp({
  auditsItself: true,
  args: s.object({ path, mode }),
  async run(args, ctx) {
    return await onTurn(ctx, "chmod", args.path, async () => {
      const p = await ctx.policy.write(args.path);
      ctx.policy.mode(args.mode);
      const owner = await actAs(posix.dirname(p), ctx.policy, p);
      ctx.intent({ path: p, as_user: owner?.name });
      if (owner) await asOwner(owner, ["/usr/bin/chmod", octal(args.mode), "--", p]);
      else throughFile(p, (fd) => fs.fchmodSync(fd, args.mode));
      return { path: p };
    });
  },
});

/** `chown`: user and/or group by name. */
export const chownOp = defineOp({
  auditsItself: true,
  args: s.object({ path, user: s.optional(ownerName), group: s.optional(ownerName) }),
  async run(args, ctx) {
    return await onTurn(ctx, "chown", args.path, async () => {
      const p = await ctx.policy.write(args.path);
      const ids = await ctx.policy.owners(args.user, args.group);
      const owner = await actAs(posix.dirname(p), ctx.policy, p);
      if (owner) ownerOnly(owner, ids.uid);
      ctx.intent({ path: p, as_user: owner?.name });
      if (owner) {
        if (ids.gid !== undefined) {
          await asOwner(owner, ["/usr/bin/chgrp", `${ids.gid}`, "--", p]);
        }
      } else if (ids.uid !== undefined || ids.gid !== undefined) {
        throughFile(p, (fd) => fs.fchownSync(fd, ids.uid ?? -1, ids.gid ?? -1));
      }
      return { path: p };
    });
  },
});

/** `mkdir`. */
export const mkdirOp = defineOp({
  auditsItself: true,
  args: s.object({ path, mode: s.optional(mode), parents: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    return await onTurn(ctx, "mkdir", args.path, async () => {
      const p = await ctx.policy.write(args.path);
      ctx.policy.mode(args.mode);
      const owner = await actAs(posix.dirname(p), ctx.policy, p);
      ctx.intent({ path: p, as_user: owner?.name });
      if (owner) {
        await asOwner(owner, [
          "/usr/bin/mkdir",
          ...(args.parents ? ["-p"] : []),
          "-m",
          octal(args.mode ?? 0o755),
          "--",
          p,
        ]);
        return { path: p };
      }
      Deno.mkdirSync(p, { recursive: args.parents, mode: args.mode ?? 0o755 });
      if (args.mode !== undefined) throughFile(p, (fd) => fs.fchmodSync(fd, args.mode!));
      return { path: p };
    });
  },
});

/** `remove`: a file, link or (with `recursive`) a tree. The link itself, never its target. */
export const removeOp = defineOp({
  auditsItself: true,
  args: s.object({ path, recursive: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    return await onTurn(ctx, "remove", args.path, async () => {
      const p = await ctx.policy.writeLink(args.path);
      const owner = await actAs(posix.dirname(p), ctx.policy, p);
      ctx.intent({ path: p, as_user: owner?.name });
      if (!lstatOrNull(p)) return { path: p, removed: false };
      if (owner) {
        await asOwner(owner, [RM, "-f", ...(args.recursive ? ["-r"] : []), "--", p]);
      } else Deno.removeSync(p, { recursive: args.recursive });
      return { path: p, removed: true };
    });
  },
});

/** `symlink`: create link `path` pointing to `target`, which must itself be writable. */
export const symlinkOp = defineOp({
  auditsItself: true,
  args: s.object({ path, target: s.string({ minLength: 1 }) }),
  async run(args, ctx) {
    return await onTurn(ctx, "symlink", args.path, async () => {
      const p = await ctx.policy.writeLink(args.path);
      const target = await ctx.policy.linkTarget(args.target, p);
      const owner = await actAs(posix.dirname(p), ctx.policy, p);
      ctx.intent({ path: p, target, as_user: owner?.name });
      if (owner) await asOwner(owner, ["/usr/bin/ln", "-sT", "--", args.target, p]);
      else Deno.symlinkSync(args.target, p);
      return { path: p };
    });
  },
});

/** `rename`: both ends must be writable, and in directories of the same owner. */
export const renameOp = defineOp({
  auditsItself: true,
  args: s.object({ from: path, to: path }),
  async run(args, ctx) {
    return await onTurn(ctx, "rename", args.from, async () => {
      const from = await ctx.policy.writeLink(args.from);
      const to = await ctx.policy.writeLink(args.to);
      const a = await actAs(posix.dirname(from), ctx.policy, from);
      const b = await actAs(posix.dirname(to), ctx.policy, to);
      if (a?.uid !== b?.uid) {
        throw new BrokerError(
          "denied",
          `Denied: "${from}" and "${to}" are in directories of different owners`,
        );
      }
      ctx.intent({ from, to, as_user: a?.name });
      if (a) await asOwner(a, [MV, "-T", "--", from, to]);
      else Deno.renameSync(from, to);
      return { path: to };
    });
  },
});
