/**
 * `git.info|remote|clone|fetch|checkout`: git repositories, with argv the broker builds. URLs
 * must match the policy's `git.repos` and be of a transport git speaks by itself (no `ext::`,
 * `fd::` or other `<transport>::` helpers, nothing that reads as an option); revisions are
 * plain names or hashes; user data comes after `--` or as the value of a fixed option. Each git
 * runs with only the transports a URL may name (never `ext` or `fd`), no hooks, no fsmonitor, no system or global config, no
 * prompts, and an ssh command the broker sets (with the `identity` key, in the read paths).
 * Targets must lie under `git.targets`; git runs as `user` (in `run_as`) or, in a directory only
 * root can change, as root.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { type Account, user } from "./accounts.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { BASE_ENV, execute } from "./run.ts";
import type { RunResult } from "./run_result.ts";
import { actAs } from "./work_dir.ts";

/** The git the broker runs. */
export const GIT = "/usr/bin/git";
const TIMEOUT_MS = 600_000;

const url = s.string({
  pattern:
    /^(?:(?:https?|ssh|git|file):\/\/[^\s"'\\]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s"'\\:]+)$/,
  maxLength: 2048,
  expected: "a repository URL (https, http, ssh, git or file; or user@host:path)",
});
const rev = s.string({
  pattern: /^(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9_][A-Za-z0-9._\/-]*$/,
  maxLength: 255,
  expected: "a branch, tag or commit (letters, digits, . _ / -; not starting with - or .)",
});
const sha = s.string({ pattern: /^[0-9a-f]{40}$/, expected: "a 40-digit commit hash" });
const target = s.string({ pattern: /^\//, expected: "an absolute path" });
const identity = s.optional(s.string({
  pattern: /^\/[A-Za-z0-9._\/-]+$/,
  expected: "an absolute path of letters, digits, . _ / -",
}));
/** A user git may run as (in `run_as`). */
export const runAs = s.optional(
  s.string({ pattern: /^[a-z_][a-z0-9_-]*\$?$/, expected: "a user name" }),
);
const depth = s.optional(s.int({ min: 1, max: 1_000_000 }));

/** How git runs for one operation: its account, environment and fixed `-c` settings. */
export interface Runner {
  as?: Account;
  env: Record<string, string>;
  config: string[];
}

/**
 * How git runs as `as` (root when undefined): no system or global config, no prompts, only the
 * transports a URL may name, no hooks or fsmonitor, and an ssh that uses `key` if given.
 */
export function gitRunner(as: Account | undefined, key?: string): Runner {
  const ssh = [
    "ssh",
    "-o",
    "BatchMode=yes",
    ...(key ? ["-o", "IdentitiesOnly=yes", "-i", key] : []),
  ]
    .join(" ");
  return {
    as,
    env: {
      ...BASE_ENV,
      HOME: as?.home ?? "/root",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
    },
    config: [
      // Only the transports a URL may name; ext:: and fd:: (which run commands) never.
      "protocol.allow=never",
      ...["https", "http", "ssh", "git", "file"].map((p) => `protocol.${p}.allow=always`),
      "protocol.ext.allow=never",
      "protocol.fd.allow=never",
      "core.hooksPath=/dev/null",
      "core.fsmonitor=false",
      `core.sshCommand=${ssh}`,
    ].flatMap((kv) => ["-c", kv]),
  };
}

/** The runner for `user` (which must be in `run_as`) or root, with the `identity` key. */
export async function runner(
  ctx: OpContext,
  opts: { user?: string; identity?: string },
): Promise<Runner> {
  if (opts.user !== undefined && !ctx.policy.section.run_as.includes(opts.user)) {
    throw new BrokerError("denied", `Denied by policy: commands may not run as "${opts.user}"`);
  }
  const as = opts.user === undefined ? undefined : await user(opts.user);
  const key = opts.identity === undefined ? undefined : await ctx.policy.read(opts.identity);
  return gitRunner(as, key);
}

/** Run git with `r`'s account, environment and settings. */
export async function git(
  ctx: OpContext,
  r: Runner,
  args: string[],
  cwd?: string,
): Promise<RunResult> {
  return await execute({
    argv: [GIT, ...r.config, ...args],
    env: r.env,
    cwd,
    user: r.as,
    timeoutMs: TIMEOUT_MS,
    maxOutput: ctx.policy.section.max_output,
  }, ctx);
}

/** The stdout of a git run that succeeded; otherwise an `BrokerError("failed")` saying `what`. */
export function ok(r: RunResult, what: string): string {
  if (r.retcode !== 0) {
    throw new BrokerError(
      "failed",
      `Cannot ${what}: ${(r.stderr || r.stdout).trim() || r.retcode}`,
    );
  }
  return r.stdout.trim();
}

/** Check `dir` for git to change: under `git.targets`, and safe for the account it runs as. */
export async function targetDir(ctx: OpContext, dir: string, as?: Account): Promise<string> {
  const p = await ctx.policy.within(dir, ctx.policy.section.git.targets, "git.targets");
  // As a user, git can only write where that user could anyway.
  if (!as) {
    const owner = await actAs(posix.dirname(p), ctx.policy, p);
    if (owner) {
      throw new BrokerError(
        "denied",
        `Denied: "${posix.dirname(p)}" belongs to "${owner.name}": give user: ${owner.name}`,
      );
    }
  }
  return p;
}

function repoUrl(ctx: OpContext, u: string): void {
  ctx.policy.url(u, ctx.policy.section.git.repos, "git.repos");
}

/** `git.info`: whether `target` is a repository; its HEAD, branch, origin, local changes. */
export const gitInfoOp = defineOp({
  auditsItself: true,
  args: s.object({ target, user: runAs, ancestor: s.optional(sha) }),
  async run(a, ctx) {
    const r = await runner(ctx, { user: a.user });
    const p = await targetDir(ctx, a.target, r.as);
    ctx.intent({ target: p, as_user: r.as?.name });
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(p);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { exists: false };
      throw e;
    }
    if (!st.isDirectory) return { exists: true, repo: false };
    const top = await git(ctx, r, ["rev-parse", "--show-toplevel"], p);
    if (top.retcode !== 0 || top.stdout.trim() !== p) return { exists: true, repo: false };
    const head = await git(ctx, r, ["rev-parse", "--verify", "-q", "HEAD"], p);
    const branch = await git(ctx, r, ["symbolic-ref", "--short", "-q", "HEAD"], p);
    const origin = await git(ctx, r, ["config", "--get", "remote.origin.url"], p);
    const status = await git(ctx, r, ["status", "--porcelain", "--untracked-files=no"], p);
    const out: Record<string, unknown> = {
      exists: true,
      repo: true,
      head: head.retcode === 0 ? head.stdout.trim() : null,
      branch: branch.retcode === 0 ? branch.stdout.trim() : null,
      origin: origin.retcode === 0 ? origin.stdout.trim() : null,
      dirty: ok(status, `read the status of "${p}"`) !== "",
    };
    if (a.ancestor !== undefined && out.head) {
      const m = await git(ctx, r, ["merge-base", "--is-ancestor", String(out.head), a.ancestor], p);
      out.fast_forward = m.retcode === 0;
    }
    return out;
  },
});

/**
 * `git.remote`: the commit `rev` names at `url` (a branch, a tag, or HEAD), with whether it is
 * a branch; null when the repository has no such name.
 */
export const gitRemoteOp = defineOp({
  auditsItself: true,
  args: s.object({ url, rev, user: runAs, identity }),
  async run(a, ctx) {
    repoUrl(ctx, a.url);
    const r = await runner(ctx, a);
    ctx.intent({ url: a.url, as_user: r.as?.name });
    const out = ok(
      await git(ctx, r, ["ls-remote", "--", a.url, a.rev, `refs/tags/${a.rev}^{}`]),
      `list "${a.url}"`,
    );
    const refs = new Map(
      out.split("\n").filter(Boolean).map((l) => {
        const [h, name] = l.split("\t");
        return [name!, h!];
      }),
    );
    const branch = refs.get(`refs/heads/${a.rev}`);
    if (branch) return { commit: branch, branch: true };
    const tag = refs.get(`refs/tags/${a.rev}^{}`) ?? refs.get(`refs/tags/${a.rev}`);
    return { commit: tag ?? refs.get(a.rev) ?? null, branch: false };
  },
});

/**
 * `git.clone`: clone `url` into `target`, at `branch` when given; with `replace`, whatever is at
 * `target` is removed first (Salt's `force_clone`).
 */
export const gitCloneOp = defineOp({
  auditsItself: true,
  args: s.object({
    url,
    target,
    branch: s.optional(rev),
    depth,
    user: runAs,
    identity,
    replace: s.optional(s.boolean(), false),
  }),
  async run(a, ctx) {
    repoUrl(ctx, a.url);
    const r = await runner(ctx, a);
    const p = await targetDir(ctx, a.target, r.as);
    ctx.intent({ url: a.url, target: p, as_user: r.as?.name, replace: a.replace });
    if (a.replace) {
      const rm = await execute({
        argv: ["/usr/bin/rm", "-rf", "--", p],
        env: { ...BASE_ENV },
        user: r.as,
        maxOutput: 64 * 1024,
      }, ctx);
      ok(rm, `remove "${p}"`);
    }
    const opts = [
      ...(a.depth ? ["--depth", String(a.depth)] : []),
      ...(a.branch ? ["--branch", a.branch] : []),
    ];
    ok(await git(ctx, r, ["clone", "--quiet", ...opts, "--", a.url, p]), `clone "${a.url}"`);
    return { target: p };
  },
});

/** `git.fetch`: fetch origin (which must be `url`) with its tags into `target`. */
export const gitFetchOp = defineOp({
  auditsItself: true,
  args: s.object({ url, target, depth, user: runAs, identity }),
  async run(a, ctx) {
    repoUrl(ctx, a.url);
    const r = await runner(ctx, a);
    const p = await targetDir(ctx, a.target, r.as);
    ctx.intent({ url: a.url, target: p, as_user: r.as?.name });
    const origin = ok(
      await git(ctx, r, ["config", "--get", "remote.origin.url"], p),
      `read the origin of "${p}"`,
    );
    if (origin !== a.url) {
      throw new BrokerError("failed", `The origin of "${p}" is "${origin}", not "${a.url}"`);
    }
    const opts = a.depth ? ["--depth", String(a.depth)] : [];
    ok(
      await git(ctx, r, ["fetch", "--quiet", "--tags", "--force", ...opts, "origin"], p),
      `fetch "${a.url}" into "${p}"`,
    );
    return { target: p };
  },
});

/**
 * `git.checkout`: put `target`'s working tree at `commit`: on `branch` (made or moved there) or
 * detached; `force` discards local changes to tracked files.
 */
export const gitCheckoutOp = defineOp({
  auditsItself: true,
  args: s.object({
    target,
    commit: sha,
    branch: s.optional(rev),
    force: s.optional(s.boolean(), false),
    user: runAs,
  }),
  async run(a, ctx) {
    const r = await runner(ctx, a);
    const p = await targetDir(ctx, a.target, r.as);
    ctx.intent({ target: p, as_user: r.as?.name });
    const where = a.branch ? ["-B", a.branch] : ["--detach"];
    ok(
      await git(ctx, r, [
        "checkout",
        "--quiet",
        ...(a.force ? ["-f"] : []),
        ...where,
        a.commit,
        "--",
      ], p),
      `check out ${a.commit} in "${p}"`,
    );
    return { target: p };
  },
});
