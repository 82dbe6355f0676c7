/**
 * System settings the broker changes itself, under the policy's `system_root`:
 * `cron.read|write` (a user's crontab in the cron spool, for the users `crontabs` names),
 * `sysctl.get|set` (a kernel parameter at run time in `proc/sys` and in a `sysctl.d` file, for
 * the keys `sysctl` names) and `timezone.get|set` (`etc/timezone` and the `etc/localtime` link,
 * when `timezone` is on).
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { globToRegExp } from "../glob.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { putFile, readIfAny } from "./put.ts";
import { BASE_ENV, execute } from "./run.ts";
import { runFailure } from "./run_result.ts";
import { groupEntry, name, userInfo } from "./users.ts";

function deny(message: string): BrokerError {
  return new BrokerError("denied", `Denied by policy: ${message}`);
}

const under = (ctx: OpContext, ...parts: string[]) =>
  posix.join(ctx.policy.section.system_root, ...parts);

function wrap(what: string, e: unknown): BrokerError {
  if (e instanceof BrokerError) return e;
  return new BrokerError("failed", `Cannot ${what}: ${(e as Error).message}`, { cause: e });
}

/** The crontab of `user` (allowed by `crontabs`): its path and owner. */
async function crontab(ctx: OpContext, user: string) {
  if (!ctx.policy.section.crontabs.some((g) => globToRegExp(g).test(user))) {
    throw deny(`crontab of "${user}" is not in crontabs`);
  }
  const info = await userInfo(ctx, user);
  if (!info.exists) throw new BrokerError("failed", `No such user "${user}"`);
  // Debian's cron reads crontabs/<user> (group crontab); cronie reads <user> in the spool.
  const debian = await Deno.stat(under(ctx, "var/spool/cron/crontabs")).then(
    () => true,
    () => false,
  );
  const group = debian ? await groupEntry(ctx, "crontab") : undefined;
  return {
    path: under(ctx, debian ? "var/spool/cron/crontabs" : "var/spool/cron", user),
    uid: info.uid!,
    gid: group ? Number(group[2]) : info.gid!,
  };
}

/** `cron.read`: the user's crontab, or null when it has none. */
export const cronReadOp = defineOp({
  args: s.object({ user: name }),
  async run(args, ctx) {
    const t = await crontab(ctx, args.user);
    try {
      return { text: await readIfAny(t.path) };
    } catch (e) {
      throw wrap(`read the crontab of "${args.user}"`, e);
    }
  },
});

/** `cron.write`: replace the user's crontab (mode 0600, the user's). */
export const cronWriteOp = defineOp({
  args: s.object({ user: name, text: s.string({ maxLength: 1024 * 1024 }) }),
  async run(args, ctx) {
    const t = await crontab(ctx, args.user);
    if (args.text && !args.text.endsWith("\n")) {
      throw new BrokerError("bad_request", "A crontab must end with a newline");
    }
    try {
      await putFile(t.path, args.text, { mode: 0o600, uid: t.uid, gid: t.gid });
      return { bytes: args.text.length };
    } catch (e) {
      throw wrap(`write the crontab of "${args.user}"`, e);
    }
  },
});

const key = s.string({
  pattern: /^[a-z0-9_]+(?:[.\/][A-Za-z0-9_:@-]+)+$/,
  maxLength: 256,
  expected: "a sysctl key (net.ipv4.ip_forward)",
});
const config = s.optional(
  s.string({
    pattern: /^\/etc\/sysctl\.d\/[A-Za-z0-9_.-]+\.conf$|^\/etc\/sysctl\.conf$/,
    expected: "/etc/sysctl.conf or a /etc/sysctl.d/<name>.conf file",
  }),
  "/etc/sysctl.d/99-salt.conf",
);

/** The key `key` (allowed by `sysctl`): its `proc/sys` file. */
function sysctlFile(ctx: OpContext, k: string): string {
  if (!ctx.policy.section.sysctl.some((g) => globToRegExp(g).test(k))) {
    throw deny(`sysctl "${k}" is not in sysctl`);
  }
  return under(ctx, "proc/sys", k.replaceAll(".", "/"));
}

const KEY_LINE = /^\s*([^#;=\s][^=]*?)\s*=\s*(.*?)\s*$/;

/**
 * Read or write a `proc/sys` file through cat or tee: Deno opens nothing under /proc without
 * --allow-all, and these files take a plain write, no temp file and rename. Read: the text, or
 * null when there is no such key.
 */
async function proc(ctx: OpContext, file: string, write?: string): Promise<string | null> {
  const r = await execute({
    argv: write === undefined ? ["/usr/bin/cat", "--", file] : ["/usr/bin/tee", "--", file],
    env: { ...BASE_ENV },
    stdin: write,
    timeoutMs: 10_000,
    maxOutput: 64 * 1024,
  }, ctx);
  if (r.retcode === 0) return r.stdout;
  if (write === undefined && /No such file or directory/.test(r.stderr)) return null;
  throw new BrokerError("failed", runFailure(r));
}

/** `sysctl.get`: the value now (null: no such key) and in the config file (null: not set). */
export const sysctlGetOp = defineOp({
  args: s.object({ key, config }),
  async run(args, ctx) {
    const file = sysctlFile(ctx, args.key);
    try {
      const now = await proc(ctx, file);
      const conf = (await readIfAny(under(ctx, args.config))) ?? "";
      const line = conf.split("\n").map((l) => KEY_LINE.exec(l)).findLast((m) =>
        m?.[1] === args.key
      );
      return { value: now?.trim().replace(/\s+/g, " ") ?? null, persisted: line?.[2] ?? null };
    } catch (e) {
      throw wrap(`read sysctl "${args.key}"`, e);
    }
  },
});

/** `sysctl.set`: write the value to `proc/sys`, and `key = value` into the config file. */
export const sysctlSetOp = defineOp({
  args: s.object({
    key,
    value: s.string({ pattern: /^[^\n\r=]*$/, maxLength: 4096, expected: "one line without =" }),
    config,
  }),
  async run(args, ctx) {
    const file = sysctlFile(ctx, args.key);
    try {
      if (await proc(ctx, file) === null) {
        throw new BrokerError("failed", `No such sysctl "${args.key}"`);
      }
      await proc(ctx, file, args.value + "\n");
      const confPath = under(ctx, args.config);
      const lines = ((await readIfAny(confPath)) ?? "").split("\n");
      if (lines.at(-1) === "") lines.pop();
      const entry = `${args.key} = ${args.value}`;
      const at = lines.findIndex((l) => KEY_LINE.exec(l)?.[1] === args.key);
      if (at >= 0) lines[at] = entry;
      else lines.push(entry);
      await putFile(confPath, lines.join("\n") + "\n", { mode: 0o644 });
      return { key: args.key };
    } catch (e) {
      throw wrap(`set sysctl "${args.key}"`, e);
    }
  },
});

const zone = s.string({
  pattern: /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/,
  maxLength: 128,
  expected: "a time zone (Europe/Paris, UTC)",
});

function allowTimezone(ctx: OpContext): void {
  if (!ctx.policy.section.timezone) throw deny("the time zone may not be set (timezone is off)");
}

/** `timezone.get`: the zone `etc/localtime` points to (else `etc/timezone` says), or null. */
export const timezoneGetOp = defineOp({
  args: s.object({}),
  async run(_args, ctx) {
    allowTimezone(ctx);
    const link = await Deno.readLink(under(ctx, "etc/localtime")).catch(() => null);
    const fromLink = link?.match(/zoneinfo\/(.+)$/)?.[1] ?? null;
    const file = (await readIfAny(under(ctx, "etc/timezone")))?.trim() || null;
    return { zone: fromLink ?? file, file };
  },
});

/** `timezone.set`: point `etc/localtime` at the zone and write `etc/timezone`. */
export const timezoneSetOp = defineOp({
  args: s.object({ zone }),
  async run(args, ctx) {
    allowTimezone(ctx);
    const info = `/usr/share/zoneinfo/${args.zone}`;
    try {
      if (!(await Deno.stat(under(ctx, info))).isFile) throw new Error("not a zone file");
    } catch {
      throw new BrokerError("failed", `No time zone "${args.zone}" in /usr/share/zoneinfo`);
    }
    try {
      const localtime = under(ctx, "etc/localtime");
      const tmp = `${localtime}.zester-${crypto.randomUUID().slice(0, 8)}`;
      await Deno.symlink(info, tmp);
      await Deno.rename(tmp, localtime);
      await putFile(under(ctx, "etc/timezone"), args.zone + "\n", { mode: 0o644 });
      return { zone: args.zone };
    } catch (e) {
      throw wrap(`set the time zone to "${args.zone}"`, e);
    }
  },
});
