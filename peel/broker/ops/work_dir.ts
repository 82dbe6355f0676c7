/**
 * The directory a file operation changes something in, and who may act there. The broker works
 * as root only in a directory no other user can change (`safe_path.ts`): there its checks stay
 * true until it acts, as its own operations take turns. A directory a non-root user owns is
 * refused — unless it lies under a `user_dirs` entry and that one user is the only other who
 * could change it (no group- or world-writable directory on the way): then the operation runs
 * as that user (`as_owner.ts`), and a race it wins lands only where it could already write.
 * @module
 */
import { posix } from "node:path";
import type { Policy } from "../policy.ts";
import { exposures } from "../safe_path.ts";
import { type Account, user } from "./accounts.ts";
import { BrokerError } from "../protocol.ts";

function within(path: string, dir: string): boolean {
  return path === dir || dir === "/" || path.startsWith(dir + "/");
}

function existing(path: string): string {
  for (;;) {
    try {
      Deno.lstatSync(path);
      return path;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      path = posix.dirname(path);
    }
  }
}

/**
 * Check directory `dir` (resolved, perhaps not there yet) for using `target` in it: returns the
 * user to act as under `user_dirs`, or undefined to act as root; throws `BrokerError("denied")`
 * saying why when neither will do.
 */
export async function actAs(
  dir: string,
  policy: Policy,
  target: string,
): Promise<Account | undefined> {
  const found = exposures(existing(dir));
  if (found.length === 0) return undefined;
  const root = policy.section.user_dirs.find((d) => within(dir, d.replace(/(.)\/+$/, "$1")));
  const uid = found[0]!.uid;
  if (
    root !== undefined &&
    found.every((e) => !e.writable && e.uid === uid && within(e.path, root))
  ) {
    return await user(String(uid));
  }
  const e = found.find((e) => root === undefined || !within(e.path, root) || e.writable) ??
    found[0]!;
  throw new BrokerError(
    "denied",
    `Denied: "${e.path}" is ${e.why}, so another user could change what "${target}" names ` +
      `between the check and the use` + (root ? "" : " (see user_dirs)"),
  );
}

/** Device and inode of directory `dir`, to {@linkcode recheck} it before acting. */
export function pin(dir: string): { dev: number; ino: number } {
  const st = Deno.lstatSync(dir);
  if (!st.isDirectory || Deno.realPathSync(dir) !== dir) {
    throw new BrokerError("failed", `"${dir}" changed during the operation`);
  }
  return { dev: st.dev, ino: st.ino ?? -1 };
}

/** Throw `BrokerError("failed")` unless `dir` still resolves to itself and is the pinned directory. */
export function recheck(dir: string, pinned: { dev: number; ino: number }): void {
  const now = pin(dir);
  if (now.dev !== pinned.dev || now.ino !== pinned.ino) {
    throw new BrokerError("failed", `"${dir}" changed during the operation`);
  }
}
