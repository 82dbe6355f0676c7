/**
 * `backup`: keep a copy of a file before a state replaces it (`file.managed` with
 * `backup: minion`), under the policy's `backup_dir`, named as Salt names its backups
 * (`<backup_dir>/<path>_<Www_Mmm_dd_HH:MM:SS_ffffff_YYYY>`), readable by root alone.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { defineOp } from "./op.ts";
import { BrokerError } from "../protocol.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Salt's backup suffix for `t` (local time, microseconds as six digits). */
export function backupStamp(t: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${DAYS[t.getDay()]}_${MONTHS[t.getMonth()]}_${p(t.getDate())}_` +
    `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}_` +
    `${p(t.getMilliseconds() * 1000, 6)}_${t.getFullYear()}`;
}

/** The `backup` operation: `{ backup: <copy> }`, or `{ backup: null }` when there is no file. */
export const backupOp = defineOp({
  args: s.object({ path: s.string({ pattern: /^\//, expected: "an absolute path" }) }),
  async run(args, ctx) {
    const dir = ctx.policy.section.backup_dir;
    if (dir === undefined) {
      throw new BrokerError("denied", "Denied by policy: backups need backup_dir");
    }
    const src = await ctx.policy.read(args.path);
    const dest = posix.join(dir, `${src}_${backupStamp(new Date())}`);
    try {
      const st = await Deno.lstat(src);
      if (!st.isFile) throw new BrokerError("failed", `Cannot back up "${args.path}": not a file`);
      await Deno.mkdir(posix.dirname(dest), { recursive: true, mode: 0o700 });
      await Deno.chmod(dir, 0o700);
      const data = await Deno.readFile(src);
      await Deno.writeFile(dest, data, { mode: 0o600, createNew: true });
      return { backup: dest };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { backup: null };
      if (e instanceof BrokerError) throw e;
      throw new BrokerError("failed", `Cannot back up "${args.path}": ${(e as Error).message}`, {
        cause: e,
      });
    }
  },
});
