/**
 * `git.config_get|config_set|config_unset`: one git config file, read and changed with
 * `git config --file <file>` and an argv the broker builds: the key after `--`, each value one
 * whole argument, `--fixed-value` so no value is read as a pattern, `--no-includes` on reads.
 * The file is a repository's (`repo`: under `git.targets`, git running as `user` from `run_as`
 * or, in a directory only root can change, as root) or a managed user's `~/.gitconfig`
 * (`global` with `user`: the policy's `accounts`, git running as that user, which equals what
 * that user can do). Keys that make git run a program or read other files
 * ({@linkcode GIT_CONFIG_DENIED}) are refused unless `git.config_allow` lists them.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { globToRegExp } from "../glob.ts";
import type { Account } from "./accounts.ts";
import { GIT, git, gitRunner, ok, runAs, type Runner, runner, targetDir } from "./git.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { asUser } from "./ssh_keys.ts";
import { existing } from "./users.ts";

/**
 * Config keys that make git run a program, load code or read other config, as
 * `section.variable` (any subsection) or `section.*` (the whole section). Lowercase, as git
 * compares section and variable names.
 */
export const GIT_CONFIG_DENIED = [
  "core.sshcommand",
  "core.fsmonitor",
  "core.hookspath",
  "core.editor",
  "core.pager",
  "core.askpass",
  "core.gitproxy",
  "core.worktree",
  "core.alternaterefscommand",
  "sequence.editor",
  "diff.external",
  "diff.textconv",
  "diff.command",
  "merge.driver",
  "filter.*",
  "credential.helper",
  "gpg.program",
  "uploadpack.packobjectshook",
  "remote.uploadpack",
  "remote.receivepack",
  "remote.vcs",
  "submodule.update",
  "include.*",
  "includeif.*",
  "protocol.*",
  "ssh.variant",
  "safe.directory",
  "init.templatedir",
  "hook.*",
  "trace2.*",
  "pager.*",
  "interactive.difffilter",
  "web.browser",
  "browser.cmd",
  "browser.path",
  "man.cmd",
  "man.path",
  "difftool.cmd",
  "difftool.path",
  "mergetool.cmd",
  "mergetool.path",
  "sendemail.*",
  "instaweb.*",
] as const;

/** A config key split as git reads it: section and variable lowercased, subsection as given. */
export interface GitConfigKey {
  section: string;
  subsection?: string;
  variable: string;
  /** The key as git lists it (`url.https://.insteadof`). */
  canonical: string;
}

/**
 * Parse `key` as git does (`section[.subsection].variable`: section of letters, digits and `-`,
 * variable starting with a letter); undefined when git would refuse it.
 */
export function gitConfigKey(key: string): GitConfigKey | undefined {
  const m = /^([A-Za-z0-9-]+)(?:\.([^\n\0]*))?\.([A-Za-z][A-Za-z0-9-]*)$/.exec(key);
  if (!m) return undefined;
  const section = m[1]!.toLowerCase();
  const variable = m[3]!.toLowerCase();
  const sub = m[2];
  return {
    section,
    subsection: sub,
    variable,
    canonical: [section, ...(sub === undefined ? [] : [sub]), variable].join("."),
  };
}

/** The entry of {@linkcode GIT_CONFIG_DENIED} that `k` falls under, if any. */
export function gitConfigDenial(k: GitConfigKey): string | undefined {
  return GIT_CONFIG_DENIED.find((d) =>
    d === `${k.section}.*` || d === `${k.section}.${k.variable}`
  );
}

const key = s.transform(
  s.string({ maxLength: 1024 }),
  (v, path) => {
    const k = gitConfigKey(v);
    if (!k) throw new s.SchemaError(path, "a git config key (section.name)", v);
    return k;
  },
  "a git config key (section.name)",
);
const value = s.string({ pattern: /^[^\0]*$/, maxLength: 64 * 1024, expected: "a value" });
const Where = {
  repo: s.optional(s.string({ pattern: /^\//, expected: "an absolute path" })),
  global: s.optional(s.boolean(), false),
  user: runAs,
};

/** A config file, and how git runs on it: as a managed `account`, or with `r`'s account. */
interface ConfigFile {
  file: string;
  r: Runner;
  account?: Account;
}

/** The config file `a` names and how git runs on it; throws when the policy refuses it. */
async function configFile(
  ctx: OpContext,
  a: { repo?: string; global: boolean; user?: string },
): Promise<ConfigFile> {
  if (a.global) {
    if (a.user === undefined || a.repo !== undefined) {
      throw new BrokerError("bad_request", "A global git config needs a user and no repo");
    }
    const info = await existing(ctx, a.user);
    if (!info.exists) throw new BrokerError("failed", `No such user "${a.user}"`);
    const home = posix.join(ctx.policy.section.system_root, info.home!);
    const as: Account = { name: a.user, uid: info.uid!, gid: info.gid!, home };
    return { file: posix.join(home, ".gitconfig"), r: gitRunner(as), account: as };
  }
  if (a.repo === undefined) {
    throw new BrokerError("bad_request", "A git config needs a repo, or global with a user");
  }
  const r = await runner(ctx, { user: a.user });
  const repo = await ctx.policy.within(a.repo, ctx.policy.section.git.targets, "git.targets");
  const gitDir = isDir(posix.join(repo, ".git")) ? posix.join(repo, ".git") : repo;
  if (!isDir(posix.join(gitDir, "objects"))) {
    throw new BrokerError("failed", `"${a.repo}" is not a git repository`);
  }
  return { file: await targetDir(ctx, posix.join(gitDir, "config"), r.as), r };
}

function isDir(p: string): boolean {
  try {
    return Deno.lstatSync(p).isDirectory;
  } catch {
    return false;
  }
}

function allowed(ctx: OpContext, k: GitConfigKey): void {
  const denial = gitConfigDenial(k);
  if (!denial) return;
  if (ctx.policy.section.git.config_allow.some((g) => globToRegExp(g).test(k.canonical))) return;
  throw new BrokerError(
    "denied",
    `Denied by policy: git config key "${k.canonical}" can make git run a program or read ` +
      `other settings (${denial}); it is not in git.config_allow`,
  );
}

async function config(ctx: OpContext, t: ConfigFile, args: string[]) {
  const argv = ["config", "--file", t.file, ...args];
  if (!t.account) return await git(ctx, t.r, argv);
  return await asUser(ctx, t.account, [GIT, ...t.r.config, ...argv], undefined, t.r.env);
}

/** Git's exit status for "no such key or value" on `--unset`: nothing to do. */
const NOTHING_SET = 5;

/**
 * `git.config_get`: every key and value in the file, in order (none when there is no file).
 * `keys` are checked as a change of them would be, so a dry run is refused as the change is.
 */
export const gitConfigGetOp = defineOp({
  auditsItself: true,
  args: s.object({ ...Where, keys: s.optional(s.array(key, { maxItems: 1000 }), []) }),
  async run(a, ctx) {
    for (const k of a.keys) allowed(ctx, k);
    const t = await configFile(ctx, a);
    ctx.intent({ file: t.file, as_user: t.r.as?.name });
    const r = await config(ctx, t, ["--no-includes", "--list", "-z"]);
    if (r.retcode !== 0 && /No such file or directory/.test(r.stderr)) {
      return { file: t.file, entries: [] };
    }
    const out = ok(r, `read "${t.file}"`);
    const entries = out.split("\0").filter(Boolean).map((e) => {
      const nl = e.indexOf("\n");
      return nl < 0 ? [e, ""] : [e.slice(0, nl), e.slice(nl + 1)];
    });
    return { file: t.file, entries };
  },
});

/** `git.config_set`: make `values` (in order) the only values of `key`. */
export const gitConfigSetOp = defineOp({
  auditsItself: true,
  args: s.object({ ...Where, key, values: s.array(value, { maxItems: 1000 }) }),
  async run(a, ctx) {
    allowed(ctx, a.key);
    const t = await configFile(ctx, a);
    ctx.intent({ file: t.file, key: a.key.canonical, as_user: t.r.as?.name });
    const k = a.key.canonical;
    const what = `set "${k}" in "${t.file}"`;
    if (a.values.length === 0) throw new BrokerError("bad_request", `No value to set "${k}" to`);
    if (a.values.length === 1) {
      ok(await config(ctx, t, ["--replace-all", "--", k, a.values[0]!]), what);
      return { file: t.file };
    }
    const cleared = await config(ctx, t, ["--unset-all", "--", k]);
    if (cleared.retcode !== NOTHING_SET) ok(cleared, what);
    for (const v of a.values) ok(await config(ctx, t, ["--add", "--", k, v]), what);
    return { file: t.file };
  },
});

/** `git.config_unset`: remove `key`'s values equal to one of `values`, or all of them. */
export const gitConfigUnsetOp = defineOp({
  auditsItself: true,
  args: s.object({ ...Where, key, values: s.optional(s.array(value, { maxItems: 1000 })) }),
  async run(a, ctx) {
    allowed(ctx, a.key);
    const t = await configFile(ctx, a);
    ctx.intent({ file: t.file, key: a.key.canonical, as_user: t.r.as?.name });
    const k = a.key.canonical;
    const runs = a.values === undefined
      ? [["--unset-all", "--", k]]
      : a.values.map((v) => ["--fixed-value", "--unset-all", "--", k, v]);
    for (const args of runs) {
      const r = await config(ctx, t, args);
      if (r.retcode !== NOTHING_SET) ok(r, `unset "${k}" in "${t.file}"`);
    }
    return { file: t.file };
  },
});
