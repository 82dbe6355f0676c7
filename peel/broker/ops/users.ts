/**
 * `user.info|add|mod|del` and `group.info|add|mod|del`: accounts under the policy's
 * `system_root`, through `useradd`, `usermod`, `userdel`, `groupadd`, `groupmod` and `groupdel`
 * with argv the broker builds itself (`--prefix` when the root is not `/`), names validated and
 * after `--`. The policy's `accounts` decides: which users and groups (globs), which groups a
 * user may join or leave, whether system accounts may be touched, where homes may be. Root
 * (uid or gid 0) is never created, changed or given.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { globToRegExp } from "../glob.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { BASE_ENV, execute } from "./run.ts";
import type { RunResult } from "./run_result.ts";

/** Ids below this are system accounts (login.defs' UID_MIN and GID_MIN). */
const FIRST_REGULAR_ID = 1000;
const TIMEOUT_MS = 60_000;

/** An account name. */
export const name = s.string({
  pattern: /^[a-z_][a-z0-9_-]{0,31}$/,
  expected: "an account name (a lowercase letter or _, then lowercase letters, digits, _ or -, " +
    "at most 32)",
});
const id = s.int({ min: 0, max: 2 ** 31 - 2 });
const path = s.string({
  pattern: /^\/[A-Za-z0-9_.+@\/-]*$/,
  maxLength: 1024,
  expected: "an absolute path (letters, digits, _ . + @ - /)",
});
const UserFields = {
  uid: s.optional(id),
  /** The primary group, by name or number. */
  gid: s.optional(s.union(name, id)),
  /** Supplementary groups: the whole list. */
  groups: s.optional(s.array(name, { maxItems: 256 })),
  home: s.optional(path),
  shell: s.optional(path),
  fullname: s.optional(s.string({
    pattern: /^[^:,\n\r]*$/,
    maxLength: 256,
    expected: "a name without : , or line breaks",
  })),
  /** A crypt(3) hash, `!` or `*`. */
  password: s.optional(s.string({
    pattern: /^[A-Za-z0-9.\/$!*=+-]*$/,
    maxLength: 512,
    expected: "a password hash",
  })),
};

/** A user as `user.info` reports it. */
export interface UserInfo {
  exists: boolean;
  name?: string;
  uid?: number;
  gid?: number;
  /** The primary group's name. */
  group?: string;
  /** Supplementary groups, sorted. */
  groups?: string[];
  home?: string;
  shell?: string;
  fullname?: string;
  /** Present when the request gave a password: whether the stored hash is that one. */
  password_matches?: boolean;
}

/** A group as `group.info` reports it. */
export interface GroupInfo {
  exists: boolean;
  name?: string;
  gid?: number;
  members?: string[];
}

async function table(ctx: OpContext, file: string): Promise<string[][]> {
  try {
    const text = await Deno.readTextFile(posix.join(ctx.policy.section.system_root, "etc", file));
    return text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new BrokerError("failed", `Cannot read /etc/${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** The line of group `g` (a name or gid) in `groups`, the lines of a `group` file. */
function findGroup(groups: string[][], g: string | number): string[] | undefined {
  return groups.find((f) => typeof g === "number" ? f[2] === String(g) : f[0] === g);
}

/** The `group` line of `g` (a name or gid) under the system root. */
export async function groupEntry(
  ctx: OpContext,
  g: string | number,
): Promise<string[] | undefined> {
  return findGroup(await table(ctx, "group"), g);
}

/** The user `user` under the system root, without any policy check. */
export async function userInfo(ctx: OpContext, user: string): Promise<UserInfo> {
  const f = (await table(ctx, "passwd")).find((x) => x[0] === user);
  if (!f) return { exists: false };
  const groups = await table(ctx, "group");
  return {
    exists: true,
    name: user,
    uid: Number(f[2]),
    gid: Number(f[3]),
    group: groups.find((g) => g[2] === f[3])?.[0] ?? f[3],
    groups: groups.filter((g) => (g[3] ?? "").split(",").includes(user)).map((g) => g[0]!)
      .sort(),
    home: f[5] ?? "",
    shell: f[6] ?? "",
    fullname: (f[4] ?? "").split(",")[0] ?? "",
  };
}

function deny(message: string): BrokerError {
  return new BrokerError("denied", `Denied by policy: ${message}`);
}

/** The policy's `accounts` checks, for one operation. */
function checks(ctx: OpContext) {
  const a = ctx.policy.section.accounts;
  const matches = (globs: string[], n: string) => globs.some((g) => globToRegExp(g).test(n));
  return {
    user(n: string) {
      if (!matches(a.users, n)) throw deny(`user "${n}" is not in accounts.users`);
    },
    group(n: string) {
      if (!matches(a.groups, n)) throw deny(`group "${n}" is not in accounts.groups`);
    },
    id(n: number | undefined, what: string) {
      if (n === undefined) return;
      if (n === 0) throw deny(`${what} 0 is root's`);
      if (n < FIRST_REGULAR_ID && !a.system) {
        throw deny(`${what} ${n} is a system account's (accounts.system is off)`);
      }
    },
    system(on: boolean | undefined) {
      if (on && !a.system) throw deny("system accounts need accounts.system");
    },
    home(h: string | undefined) {
      if (h === undefined) return;
      const norm = posix.normalize(h);
      if (!a.homes.some((p) => norm.startsWith(p.replace(/\/+$/, "") + "/"))) {
        throw deny(`home "${h}" is not under accounts.homes`);
      }
    },
  };
}

async function tool(ctx: OpContext, prog: string, opts: string[], n: string): Promise<RunResult> {
  const root = ctx.policy.section.system_root;
  const prefix = root === "/" ? [] : ["--prefix", root];
  return await execute({
    argv: [`/usr/sbin/${prog}`, ...prefix, ...opts, "--", n],
    env: { ...BASE_ENV },
    timeoutMs: TIMEOUT_MS,
    maxOutput: ctx.policy.section.max_output,
  }, ctx);
}

/**
 * A group given by name or number, looked up in `groups` (the `group` file's lines), which the
 * policy must let users be put in.
 */
function primaryGroup(ctx: OpContext, groups: string[][], g: string | number): string {
  const entry = findGroup(groups, g);
  if (!entry) throw new BrokerError("failed", `No such group "${g}"`);
  checks(ctx).id(Number(entry[2]), "gid");
  checks(ctx).group(entry[0]!);
  return entry[0]!;
}

/** The user `n`, which the policy must let be managed (not root, no system account). */
export async function existing(ctx: OpContext, n: string): Promise<UserInfo> {
  const c = checks(ctx);
  c.user(n);
  const now = await userInfo(ctx, n);
  if (now.exists) c.id(now.uid, "uid");
  return now;
}

/** `user.info`: the user (with `password`, whether its hash is that one). */
export const userInfoOp = defineOp({
  args: s.object({ name, password: UserFields.password }),
  async run(args, ctx) {
    const info = await existing(ctx, args.name);
    if (info.exists && args.password !== undefined) {
      const shadow = (await table(ctx, "shadow")).find((f) => f[0] === args.name);
      info.password_matches = shadow?.[1] === args.password;
    }
    return info;
  },
});

/** `user.add`: create a user (with its home, unless `createhome` is false). */
export const userAddOp = defineOp({
  args: s.object({
    name,
    ...UserFields,
    createhome: s.optional(s.boolean(), true),
    system: s.optional(s.boolean(), false),
  }),
  async run(args, ctx) {
    const c = checks(ctx);
    if ((await existing(ctx, args.name)).exists) {
      throw new BrokerError("failed", `User "${args.name}" already exists`);
    }
    c.id(args.uid, "uid");
    c.system(args.system);
    const home = args.home ?? `/home/${args.name}`;
    c.home(home);
    for (const g of args.groups ?? []) c.group(g);
    // A group named as the user becomes its primary group, as useradd would refuse to make one.
    const groups = await table(ctx, "group");
    const gid = args.gid ?? (findGroup(groups, args.name) ? args.name : undefined);
    const opts = [
      ...(args.uid === undefined ? [] : ["-u", String(args.uid)]),
      ...(gid === undefined ? [] : ["-g", primaryGroup(ctx, groups, gid)]),
      ...(args.groups?.length ? ["-G", args.groups.join(",")] : []),
      "-d",
      home,
      args.createhome ? "-m" : "-M",
      ...(args.shell === undefined ? [] : ["-s", args.shell]),
      ...(args.fullname === undefined ? [] : ["-c", args.fullname]),
      ...(args.password === undefined ? [] : ["-p", args.password]),
      ...(args.system ? ["-r"] : []),
    ];
    return await tool(ctx, "useradd", opts, args.name);
  },
});

/** `user.mod`: change a user; `groups` is the whole list of supplementary groups. */
export const userModOp = defineOp({
  args: s.object({ name, ...UserFields, move_home: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    const c = checks(ctx);
    const now = await existing(ctx, args.name);
    if (!now.exists) throw new BrokerError("failed", `No such user "${args.name}"`);
    c.id(args.uid, "uid");
    if (args.home !== undefined) {
      c.home(args.home);
      if (args.move_home) c.home(now.home);
    }
    if (args.groups !== undefined) {
      const before = new Set(now.groups);
      const after = new Set(args.groups);
      for (const g of [...before, ...after]) if (before.has(g) !== after.has(g)) c.group(g);
    }
    const opts = [
      ...(args.uid === undefined ? [] : ["-u", String(args.uid)]),
      ...(args.gid === undefined
        ? []
        : ["-g", primaryGroup(ctx, await table(ctx, "group"), args.gid)]),
      ...(args.groups === undefined ? [] : ["-G", args.groups.join(",")]),
      ...(args.home === undefined ? [] : ["-d", args.home, ...(args.move_home ? ["-m"] : [])]),
      ...(args.shell === undefined ? [] : ["-s", args.shell]),
      ...(args.fullname === undefined ? [] : ["-c", args.fullname]),
      ...(args.password === undefined ? [] : ["-p", args.password]),
    ];
    if (opts.length === 0) {
      throw new BrokerError("bad_request", "user.mod needs something to change");
    }
    return await tool(ctx, "usermod", opts, args.name);
  },
});

/** `user.del`: remove a user (with `purge`, its home and mail too). */
export const userDelOp = defineOp({
  args: s.object({ name, purge: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    const now = await existing(ctx, args.name);
    if (!now.exists) throw new BrokerError("failed", `No such user "${args.name}"`);
    if (args.purge) checks(ctx).home(now.home);
    return await tool(ctx, "userdel", args.purge ? ["-r"] : [], args.name);
  },
});

async function existingGroup(ctx: OpContext, n: string): Promise<GroupInfo> {
  checks(ctx).group(n);
  const f = await groupEntry(ctx, n);
  if (!f) return { exists: false };
  checks(ctx).id(Number(f[2]), "gid");
  return {
    exists: true,
    name: n,
    gid: Number(f[2]),
    members: (f[3] ?? "").split(",").filter(Boolean).sort(),
  };
}

/** `group.info`: the group and its members. */
export const groupInfoOp = defineOp({
  args: s.object({ name }),
  run: (args, ctx) => existingGroup(ctx, args.name),
});

/** `group.add`: create a group. */
export const groupAddOp = defineOp({
  args: s.object({ name, gid: s.optional(id), system: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    if ((await existingGroup(ctx, args.name)).exists) {
      throw new BrokerError("failed", `Group "${args.name}" already exists`);
    }
    checks(ctx).id(args.gid, "gid");
    checks(ctx).system(args.system);
    const opts = [
      ...(args.gid === undefined ? [] : ["-g", String(args.gid)]),
      ...(args.system ? ["-r"] : []),
    ];
    return await tool(ctx, "groupadd", opts, args.name);
  },
});

/** `group.mod`: change a group's gid, or set its members (the whole list). */
export const groupModOp = defineOp({
  args: s.object({
    name,
    gid: s.optional(id),
    members: s.optional(s.array(name, { maxItems: 4096 })),
  }),
  async run(args, ctx) {
    if (!(await existingGroup(ctx, args.name)).exists) {
      throw new BrokerError("failed", `No such group "${args.name}"`);
    }
    checks(ctx).id(args.gid, "gid");
    const opts = [
      ...(args.gid === undefined ? [] : ["-g", String(args.gid)]),
      ...(args.members === undefined ? [] : ["-U", args.members.join(",")]),
    ];
    if (opts.length === 0) {
      throw new BrokerError("bad_request", "group.mod needs something to change");
    }
    return await tool(ctx, "groupmod", opts, args.name);
  },
});

/** `group.del`: remove a group. */
export const groupDelOp = defineOp({
  args: s.object({ name }),
  async run(args, ctx) {
    if (!(await existingGroup(ctx, args.name)).exists) {
      throw new BrokerError("failed", `No such group "${args.name}"`);
    }
    return await tool(ctx, "groupdel", [], args.name);
  },
});

/** `system.root`: where the system states act (the policy's `system_root`). */
export const systemRootOp = defineOp({
  args: s.object({}),
  run: (_args, ctx) => Promise.resolve({ root: ctx.policy.section.system_root }),
});
