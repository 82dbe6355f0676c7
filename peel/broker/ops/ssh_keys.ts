/**
 * `ssh_auth.read|write`: a managed user's `authorized_keys` (or another file under its home),
 * read and written as that user (`setpriv`, no other groups), so a link the user planted in
 * its home reaches nothing the user could not change itself. The user must be one the policy's
 * `accounts` lets be managed; its home is looked up under `system_root`. Equals logging in as
 * that user.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { BASE_ENV, execute } from "./run.ts";
import type { RunResult } from "./run_result.ts";
import { existing, name } from "./users.ts";

const SETPRIV = "/usr/bin/setpriv";
const TIMEOUT_MS = 30_000;
const Args = {
  user: name,
  config: s.optional(
    s.string({
      pattern: /^(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9_.][A-Za-z0-9_.\/-]*$/,
      maxLength: 256,
      expected: "a path relative to the home directory, without ..",
    }),
    ".ssh/authorized_keys",
  ),
};

/** Where the file is, and the account to act as. */
async function target(ctx: OpContext, user: string, config: string) {
  const info = await existing(ctx, user);
  if (!info.exists) throw new BrokerError("failed", `No such user "${user}"`);
  const file = posix.join(ctx.policy.section.system_root, info.home!, config);
  return { file, uid: info.uid!, gid: info.gid! };
}

/**
 * Run `argv` as the account with ids `who` (no other groups), by number, so an account of the
 * system root need not exist on this host.
 */
export async function asUser(
  ctx: OpContext,
  who: { uid: number; gid: number },
  argv: string[],
  stdin?: string,
  env: Record<string, string> = BASE_ENV,
): Promise<RunResult> {
  return await execute({
    argv: [SETPRIV, `--reuid=${who.uid}`, `--regid=${who.gid}`, "--clear-groups", "--", ...argv],
    env: { ...env },
    stdin,
    timeoutMs: TIMEOUT_MS,
    maxOutput: ctx.policy.section.max_output,
  }, ctx);
}

function check(r: RunResult, what: string): void {
  if (r.retcode !== 0) {
    throw new BrokerError("failed", `Cannot ${what}: ${(r.stderr || r.stdout).trim()}`);
  }
}

/** `ssh_auth.read`: the file's text, or null when there is none. */
export const sshAuthReadOp = defineOp({
  args: s.object(Args),
  async run(args, ctx) {
    const t = await target(ctx, args.user, args.config);
    const r = await asUser(ctx, t, ["/usr/bin/cat", "--", t.file]);
    if (r.retcode !== 0 && /No such file or directory/.test(r.stderr)) return { text: null };
    check(r, `read ${args.config} of "${args.user}"`);
    return { text: r.stdout };
  },
});

/** `ssh_auth.write`: replace the file (mode 0600, its directory 0700 if made). */
export const sshAuthWriteOp = defineOp({
  args: s.object({ ...Args, text: s.string({ maxLength: 1024 * 1024 }) }),
  async run(args, ctx) {
    const t = await target(ctx, args.user, args.config);
    const what = `write ${args.config} of "${args.user}"`;
    check(
      await asUser(ctx, t, ["/usr/bin/mkdir", "-p", "-m", "700", "--", posix.dirname(t.file)]),
      what,
    );
    check(await asUser(ctx, t, ["/usr/bin/tee", "--", t.file], args.text), what);
    check(await asUser(ctx, t, ["/usr/bin/chmod", "600", "--", t.file]), what);
    return { bytes: args.text.length };
  },
});
