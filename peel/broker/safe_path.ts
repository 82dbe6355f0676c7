/**
 * Whether anyone but root (or the broker's own user) could change which file a path names.
 * Checking a path and then using it is sound only when nobody else can swap one of its
 * components in between, so the broker insists on this for its policy file and audit log (as
 * sshd's StrictModes does for `authorized_keys`) and for every directory it changes something in.
 *
 * A component is safe when it is owned by root (or the broker's user) and its directory is not
 * writable by group or others — or its directory is a root-owned sticky one such as `/tmp`, where
 * only an entry's owner, the directory's owner or root may rename or remove that entry. The
 * last component itself must not be writable by group or others either (sticky or not): a
 * directory others can add entries to is not one the broker works in.
 * @module
 */
import { posix } from "node:path";

/** A component of a path that a user other than root could change. */
export interface Exposure {
  /** The component (a prefix of the path). */
  path: string;
  /** Its owner. */
  uid: number;
  /** Whether others than its owner can change it (else its owner is the only other user). */
  writable: boolean;
  /** Why it is exposed, as a clause: `owned by uid 33`, `writable by group or others`. */
  why: string;
}

function prefixes(path: string): string[] {
  const parts = posix.normalize(path).split("/").filter(Boolean);
  return ["/", ...parts.map((_, i) => "/" + parts.slice(0, i + 1).join("/"))];
}

function walk(path: string, trusted: ReadonlySet<number>): Exposure[] {
  const all = prefixes(path);
  const stats = all.map((p) => Deno.lstatSync(p));
  const out: Exposure[] = [];
  stats.forEach((st, i) => {
    const p = all[i]!;
    const uid = st.uid ?? -1;
    if (!trusted.has(uid)) out.push({ path: p, uid, writable: false, why: `owned by uid ${uid}` });
    if (st.isSymlink || ((st.mode ?? 0) & 0o022) === 0) return;
    const next = stats[i + 1];
    const sticky = ((st.mode ?? 0) & 0o1000) !== 0;
    if (next && sticky && trusted.has(uid) && trusted.has(next.uid ?? -1)) return;
    out.push({ path: p, uid, writable: true, why: "writable by group or others" });
  });
  return out;
}

/**
 * The components of `path` that a user other than root or `uid` could change, as written and
 * as resolved; empty when the path is safe. Throws `Deno.errors.NotFound` when it does not exist.
 */
export function exposures(path: string, uid: number = Deno.uid() ?? 0): Exposure[] {
  const trusted = new Set([0, uid]);
  const found = walk(path, trusted);
  const real = Deno.realPathSync(path);
  if (real !== path) {
    for (const e of walk(real, trusted)) {
      if (!found.some((f) => f.path === e.path && f.why === e.why)) found.push(e);
    }
  }
  return found;
}
