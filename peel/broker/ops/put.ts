/**
 * Replacing a system file the broker owns the content of (repository files, crontabs, sysctl
 * configs): a temp file beside it with the final mode and owner, renamed over it, so readers
 * see the old file or the new one, never a part.
 * @module
 */
import { posix } from "node:path";

/** Replace `path` with `data`, creating its directory (0755) when missing. */
export async function putFile(
  path: string,
  data: string | Uint8Array,
  opts: { mode: number; uid?: number; gid?: number },
): Promise<void> {
  const dir = posix.dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = posix.join(dir, `.${posix.basename(path)}.zester-${crypto.randomUUID().slice(0, 8)}`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    await Deno.writeFile(tmp, bytes, { mode: 0o600, createNew: true });
    if (opts.uid !== undefined || opts.gid !== undefined) {
      await Deno.chown(tmp, opts.uid ?? null, opts.gid ?? null);
    }
    await Deno.chmod(tmp, opts.mode);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** The text of `path`, or null when there is no such file. */
export async function readIfAny(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
