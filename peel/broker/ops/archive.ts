/**
 * `archive.list|extract|chown`: tar and zip archives, listed and extracted by GNU tar and
 * Info-ZIP unzip with fixed argv, never a shell. The source (bytes from the state tree, a host
 * file in the read paths, or a URL the policy's `fetch` lists, downloaded by curl) is copied
 * into a private temp file and checked against its hash first, so what is listed is what is
 * extracted. Every member is checked before anything is written, on the tool's own listing (no
 * second parser to disagree with it): no absolute path, no `..`, no device or fifo, no member
 * under a link, links only to places inside the target, hard links only to earlier files,
 * setuid and setgid only with `allow_setid`, and no link already on disk on a member's way.
 * tar runs with `--no-same-owner` and `--no-overwrite-dir`; zip archives with links are refused
 * (unzip would write through them).
 * @module
 */
import fs from "node:fs";
import { createHash } from "node:crypto";
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { exposures } from "../safe_path.ts";
import type { Account } from "./accounts.ts";
import { asOwner } from "./as_owner.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { BASE_ENV, execute } from "./run.ts";
import { runFailure, type RunResult } from "./run_result.ts";
import { actAs } from "./work_dir.ts";

const TAR = "/usr/bin/tar";
const UNZIP = "/usr/bin/unzip";
const CURL = "/usr/bin/curl";
const TIMEOUT_MS = 600_000;
/** Cap on a listing's output: about 300,000 members. */
const MAX_LISTING = 32 * 1024 * 1024;

const path = s.string({ pattern: /^\//, expected: "an absolute path" });
const ownerName = s.string({
  pattern: /^[a-z_][a-z0-9_-]*\$?$|^\d+$/,
  expected: "a user or group name",
});
const Source = {
  /** A file on this host, in the read paths. */
  path: s.optional(path),
  /** The archive's bytes (a state tree file). */
  data: s.optional(s.bytes()),
  /** An http(s) URL the policy's `fetch` lists. */
  url: s.optional(s.string({
    pattern: /^https?:\/\/[^\s"'\\<>]+$/,
    maxLength: 2048,
    expected: "an http or https URL without blanks or quotes",
  })),
  hash: s.optional(s.object({
    alg: s.literal("md5", "sha1", "sha256", "sha512"),
    hex: s.string({ pattern: /^[0-9a-f]+$/, expected: "a lowercase hex digest" }),
  })),
  format: s.literal("tar", "zip"),
  /** The directory extracted into. */
  dest: path,
};
const ListArgs = s.object({
  ...Source,
  user: s.optional(ownerName),
  group: s.optional(ownerName),
});
const ExtractArgs = s.object({
  ...Source,
  user: s.optional(ownerName),
  group: s.optional(ownerName),
  /** Remove the archive's top-level paths from `dest` before extracting (Salt's `clean`). */
  clean: s.optional(s.boolean(), false),
});
type SourceArgs = s.Infer<typeof ListArgs>;

/** One member of an archive, by its path relative to the target. */
export interface Member {
  path: string;
  type: "file" | "dir" | "link" | "hardlink";
  /** A link's target, as stored. */
  target?: string;
  setid: boolean;
}

/** What `archive.list` reports of each member on disk. */
export interface ListedMember extends Member {
  /** `present` with the member's type, `missing`, or `other` (there, of another type). */
  at: "present" | "missing" | "other";
  /** With `user`/`group`: whether the path on disk has them. */
  owned?: boolean;
}

// deno-lint-ignore no-control-regex -- names with control characters are what it refuses
const CONTROL = /[\x00-\x1f\x7f]/;

function refuse(why: string): never {
  throw new BrokerError("denied", `Refusing archive: ${why}`);
}

/** C-quoted name as tar's `--quoting-style=c` prints it. */
function unquote(q: string): string {
  return q.replace(/\\([0-7]{1,3}|.)/g, (_, e: string) => {
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v" } as Record<
      string,
      string
    >)[e] ?? e;
  });
}

const TAR_LINE =
  /^(\S)(\S{9}) \S+ +\S+ \S+ \S+ "((?:[^"\\]|\\.)*)"(?: (->|link to) "((?:[^"\\]|\\.)*)")?$/;
const TAR_TYPES: Record<string, Member["type"]> = {
  "-": "file",
  d: "dir",
  l: "link",
  h: "hardlink",
};

/** Members from `tar --list --verbose --quoting-style=c`: names whole, whatever they hold. */
export function parseTarListing(text: string): Member[] {
  const out: Member[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = TAR_LINE.exec(line);
    if (!m) refuse(`unreadable listing line ${JSON.stringify(line)}`);
    const type = TAR_TYPES[m[1]!];
    const name = unquote(m[3]!);
    if (!type) refuse(`member "${name}" is a device, fifo or other special file`);
    out.push({
      path: name,
      type,
      target: m[5] === undefined ? undefined : unquote(m[5]),
      setid: /[sS]/.test(m[2]![2]! + m[2]![5]!),
    });
  }
  return out;
}

const ZIP_LINE = /^(\S)(\S+)\s+\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+ (.+)$/;

/** Members from `unzip -Z`, whose entry count must match (a name with a newline would not). */
export function parseZipListing(text: string): Member[] {
  const lines = text.split("\n");
  const count = /number of entries: (\d+)/.exec(lines[1] ?? "")?.[1];
  const out: Member[] = [];
  for (const line of lines.slice(2)) {
    if (line === "" || /^\d+ files?, /.test(line)) continue;
    const m = ZIP_LINE.exec(line);
    if (!m) refuse(`unreadable listing line ${JSON.stringify(line)}`);
    const kind = m[1]!;
    const name = m[3]!;
    if (kind === "l") refuse(`member "${name}" is a symbolic link (not extracted from zip files)`);
    if (kind !== "-" && kind !== "d") refuse(`member "${name}" is a special file`);
    out.push({ path: name, type: kind === "d" ? "dir" : "file", setid: /[sS]/.test(m[2]!) });
  }
  if (count === undefined || Number(count) !== out.length) {
    refuse(`the listing has ${out.length} entries, the archive says ${count ?? "none"}`);
  }
  return out;
}

const outside = (rel: string) => rel === ".." || rel.startsWith("../") || rel.startsWith("/");

/**
 * Check `members` as the module doc says and return them with normalized paths (no `./`, no
 * trailing `/`; the archive's root entry dropped). Throws `BrokerError("denied")` naming the member.
 */
export function checkMembers(members: readonly Member[], allowSetid: boolean): Member[] {
  const out: Member[] = [];
  const seen = new Map<string, Member["type"]>();
  for (const m of members) {
    if (CONTROL.test(m.path) || m.path === "") refuse(`member name ${JSON.stringify(m.path)}`);
    if (m.path.startsWith("/")) refuse(`member "${m.path}" has an absolute path`);
    if (m.path.split("/").includes("..")) refuse(`member "${m.path}" contains ".."`);
    const p = posix.normalize(m.path).replace(/\/+$/, "");
    if (p === ".") continue;
    if (m.setid && !allowSetid) {
      refuse(`member "${p}" is setuid or setgid (allow_setid is off)`);
    }
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      if (seen.get(parts.slice(0, i).join("/")) === "link") {
        refuse(`member "${p}" lies under a symbolic link of the archive`);
      }
    }
    if (m.type === "link") {
      const t = m.target ?? "";
      if (t === "" || CONTROL.test(t) || t.startsWith("/")) {
        refuse(`link "${p}" points to ${JSON.stringify(t)}, outside the target`);
      }
      if (outside(posix.normalize(posix.join(posix.dirname(p), t)))) {
        refuse(`link "${p}" points to "${t}", outside the target`);
      }
    }
    if (m.type === "hardlink") {
      const t = posix.normalize(m.target ?? "");
      if (seen.get(t) !== "file") {
        refuse(`hard link "${p}" is not to an earlier file of the archive`);
      }
      out.push({ ...m, path: p, target: t });
    } else out.push({ ...m, path: p });
    seen.set(p, m.type);
  }
  return out;
}

function lstatOrNull(p: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(p);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/**
 * Refuse when a path on a member's way under `dest` is a link already on disk, or a directory
 * another user could change (extracting there as root could be redirected; see `user_dirs`).
 */
function safeWays(dest: string, members: readonly Member[]): void {
  const checked = new Set<string>();
  for (const m of members) {
    const parts = m.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const p = posix.join(dest, ...parts.slice(0, i));
      if (checked.has(p)) continue;
      checked.add(p);
      const st = lstatOrNull(p);
      if (st?.isSymlink) refuse(`"${p}" is a symbolic link on the way to member "${m.path}"`);
      if (st && (st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o022) !== 0)) {
        refuse(`"${p}" is owned by uid ${st.uid} or writable by others (see user_dirs)`);
      }
    }
  }
}

/** The digest of file `p` with `alg`, in hex. */
async function digest(p: string, alg: string): Promise<string> {
  const h = createHash(alg);
  using f = await Deno.open(p);
  for await (const chunk of f.readable) h.update(chunk);
  return h.digest("hex");
}

/** Where the source's name is, for messages: its path or URL. */
const sourceName = (a: SourceArgs) => a.path ?? a.url ?? "(state tree file)";

/** Check the source against the policy; returns the resolved host path of a path source. */
async function checkSource(a: SourceArgs, ctx: OpContext): Promise<string | undefined> {
  const given = [a.path, a.data, a.url].filter((x) => x !== undefined).length;
  if (given !== 1) throw new BrokerError("bad_request", "Give exactly one of path, data and url");
  if (a.url !== undefined) {
    ctx.policy.url(a.url, ctx.policy.section.fetch, "fetch");
    if (!a.hash) throw new BrokerError("bad_request", `A hash is required for "${a.url}"`);
  }
  if (a.path === undefined) return undefined;
  const p = await ctx.policy.read(a.path);
  const e = exposures(posix.dirname(p))[0];
  if (e) throw new BrokerError("denied", `Denied: "${e.path}" is ${e.why}, so "${p}" could change`);
  return p;
}

/**
 * Copy the source to `file` (a fresh private file) and check its hash. A URL is downloaded by
 * curl: no config file, http and https only, no redirects.
 */
async function materialize(
  a: SourceArgs,
  hostPath: string | undefined,
  file: string,
  ctx: OpContext,
): Promise<void> {
  if (a.data !== undefined) await Deno.writeFile(file, a.data, { mode: 0o600, createNew: true });
  else if (hostPath !== undefined) {
    const from = fs.openSync(hostPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const to = fs.openSync(file, "wx", 0o600);
    try {
      const buf = new Uint8Array(1 << 20);
      for (let n; (n = fs.readSync(from, buf)) > 0;) {
        for (let o = 0; o < n;) o += fs.writeSync(to, buf, o, n - o);
      }
    } finally {
      fs.closeSync(from);
      fs.closeSync(to);
    }
  } else {
    const r = await execute({
      argv: [CURL, "-q", "--fail", "--silent", "--show-error", "--proto", "=http,https"]
        .concat(["--max-time", "600", "--output", file, "--url", a.url!]),
      env: { ...BASE_ENV },
      timeoutMs: TIMEOUT_MS,
      maxOutput: 64 * 1024,
    }, ctx);
    if (r.retcode !== 0) {
      throw new BrokerError(
        "failed",
        `Cannot download "${a.url}": ${r.stderr.trim() || r.retcode}`,
      );
    }
  }
  if (a.hash) {
    const got = await digest(file, a.hash.alg);
    if (got !== a.hash.hex) {
      throw new BrokerError(
        "failed",
        `Source "${sourceName(a)}" does not match source_hash ${a.hash.alg}=${a.hash.hex} ` +
          `(it has ${got})`,
      );
    }
  }
}

function tool(r: RunResult, what: string): RunResult {
  if (r.retcode !== 0 || r.truncated) {
    const why = r.truncated ? "output too large" : runFailure(r);
    throw new BrokerError("failed", `Cannot ${what}: ${why}`);
  }
  return r;
}

/** List the archive in `file` with its own tool and check every member. */
async function members(
  a: SourceArgs,
  file: string,
  ctx: OpContext,
  as?: Account,
): Promise<Member[]> {
  const argv = a.format === "tar"
    ? [TAR, "--list", "--verbose", "--numeric-owner", "--quoting-style=c", "--force-local"]
      .concat(["--file", file])
    : [UNZIP, "-Z", file];
  const r = tool(
    await execute({
      argv,
      env: { ...BASE_ENV },
      timeoutMs: TIMEOUT_MS,
      maxOutput: MAX_LISTING,
      user: as,
    }, ctx),
    `list "${sourceName(a)}" as a ${a.format} archive`,
  );
  const listed = a.format === "tar" ? parseTarListing(r.stdout) : parseZipListing(r.stdout);
  return checkMembers(listed, ctx.policy.section.allow_setid);
}

/**
 * Run `fn` with the source in a fresh private temp dir (readable by `as`, when the work is done
 * as another user), removed afterwards.
 */
async function withSource<T>(
  a: SourceArgs,
  ctx: OpContext,
  resolved: Record<string, unknown>,
  as: Account | undefined,
  fn: (file: string) => Promise<T>,
): Promise<T> {
  const hostPath = await checkSource(a, ctx);
  ctx.intent({ ...resolved, source: hostPath ?? a.url, as_user: as?.name });
  const dir = await Deno.makeTempDir({ prefix: "zester-archive-" });
  try {
    const file = posix.join(dir, "archive");
    await materialize(a, hostPath, file, ctx);
    if (as) {
      await Deno.chmod(dir, 0o711);
      await Deno.chmod(file, 0o644);
    }
    return await fn(file);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const TYPE_OK: Record<Member["type"], (st: Deno.FileInfo) => boolean> = {
  file: (st) => st.isFile,
  hardlink: (st) => st.isFile,
  dir: (st) => st.isDirectory,
  link: (st) => st.isSymlink,
};

/** `archive.list`: the checked members, and how each stands in `dest`. */
export const archiveListOp = defineOp({
  auditsItself: true,
  args: ListArgs,
  async run(a, ctx) {
    const dest = await ctx.policy.read(a.dest);
    const ids = await ctx.policy.owners(a.user, a.group);
    return await withSource(a, ctx, { path: dest }, undefined, async (file) => {
      const list = await members(a, file, ctx);
      const destExists = lstatOrNull(dest) !== null;
      const out: ListedMember[] = list.map((m) => {
        const st = destExists ? lstatOrNull(posix.join(dest, m.path)) : null;
        const at = st === null ? "missing" : TYPE_OK[m.type](st) ? "present" : "other";
        const owned = st === null || (ids.uid === undefined && ids.gid === undefined)
          ? undefined
          : (ids.uid === undefined || st.uid === ids.uid) &&
            (ids.gid === undefined || st.gid === ids.gid);
        return { ...m, at, ...(owned === undefined ? {} : { owned }) };
      });
      return { members: out, dest_exists: destExists };
    });
  },
});

/**
 * Give the members under `dest` the owners `ids`, deepest first and never through a link, so
 * each is changed while the directory holding it is still root's.
 */
function chownMembers(dest: string, list: readonly Member[], ids: { uid?: number; gid?: number }) {
  if (ids.uid === undefined && ids.gid === undefined) return;
  const paths = list.map((m) => m.path).sort((a, b) => b.split("/").length - a.split("/").length);
  for (const p of paths) {
    safeWays(dest, [{ path: p, type: "file", setid: false }]);
    const full = posix.join(dest, p);
    if (lstatOrNull(full)) fs.lchownSync(full, ids.uid ?? -1, ids.gid ?? -1);
  }
}

/**
 * The `dest` the policy lets be written, the owners `user`/`group` name, and the account the
 * work is done as when `dest` is in a user's directory (user_dirs), where no other owner is
 * allowed.
 */
async function writeTarget(a: SourceArgs, ctx: OpContext) {
  const dest = await ctx.policy.write(a.dest);
  const ids = await ctx.policy.owners(a.user, a.group);
  const owner = await actAs(dest, ctx.policy, dest);
  if (owner && ((ids.uid !== undefined && ids.uid !== owner.uid) || ids.gid !== undefined)) {
    throw new BrokerError(
      "denied",
      `Denied: in a directory of "${owner.name}" (user_dirs) files belong to "${owner.name}"`,
    );
  }
  return { dest, ids, owner };
}

/**
 * `archive.extract`: extract into `dest` (made when missing), after removing the archive's
 * top-level paths with `clean`, then give the members `user`/`group`. Reports the members
 * extracted and whether `dest` was made.
 */
export const archiveExtractOp = defineOp({
  auditsItself: true,
  args: ExtractArgs,
  async run(a, ctx) {
    const { dest, ids, owner } = await writeTarget(a, ctx);
    return await withSource(a, ctx, { path: dest }, owner, async (file) => {
      const list = await members(a, file, ctx, owner);
      const created = lstatOrNull(dest) === null;
      if (created) {
        if (owner) await asOwner(owner, ["/usr/bin/mkdir", "-p", "--", dest]);
        else Deno.mkdirSync(dest, { recursive: true, mode: 0o755 });
      }
      if (a.clean) {
        const tops = [...new Set(list.map((m) => m.path.split("/")[0]!))];
        for (const t of tops.map((t) => posix.join(dest, t))) {
          if (!lstatOrNull(t)) continue;
          if (owner) await asOwner(owner, ["/usr/bin/rm", "-rf", "--", t]);
          else Deno.removeSync(t, { recursive: true });
        }
      }
      // As the directory's owner, tar can only write where that owner could anyway.
      if (!owner) safeWays(dest, list);
      const argv = a.format === "tar"
        ? [TAR, "--extract", "--no-same-owner", "--no-overwrite-dir", "--force-local"]
          .concat(["--file", file, "--directory", dest])
        : [UNZIP, "-q", "-o", file, "-d", dest];
      tool(
        await execute({
          argv,
          env: { ...BASE_ENV },
          timeoutMs: TIMEOUT_MS,
          maxOutput: ctx.policy.section.max_output,
          user: owner,
        }, ctx),
        `extract "${sourceName(a)}" to "${dest}"`,
      );
      if (!owner) chownMembers(dest, list, ids);
      return { extracted: list.map((m) => m.path), created };
    });
  },
});

/** `archive.chown`: give the archive's members in `dest` the owners `user`/`group`. */
export const archiveChownOp = defineOp({
  auditsItself: true,
  args: ListArgs,
  async run(a, ctx) {
    const { dest, ids, owner } = await writeTarget(a, ctx);
    return await withSource(a, ctx, { path: dest }, undefined, async (file) => {
      if (!owner) chownMembers(dest, await members(a, file, ctx), ids);
      return { path: dest };
    });
  },
});
