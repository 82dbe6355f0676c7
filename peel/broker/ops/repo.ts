/**
 * `pkgrepo.set|remove`: package repository files the broker writes itself, from validated
 * fields, at fixed places under the policy's `system_root`: an apt source
 * (`etc/apt/sources.list.d/<id>.list`) with its key (`etc/apt/keyrings/<id>.gpg|asc`), or a
 * dnf/yum repository (`etc/yum.repos.d/<id>.repo`) with its key
 * (`etc/pki/rpm-gpg/RPM-GPG-KEY-<id>`). Every URL must match the policy's `repos` globs, those
 * of a file being replaced or removed too, and the manager must be in `packages`. With `check`
 * they only report what they would do.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { globToRegExp } from "../glob.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { putFile } from "./put.ts";

const url = s.string({
  pattern: /^(https?|ftp|file):\/\/[^\s"'\[\]<>\\]+$/,
  maxLength: 2048,
  expected: "a URL (http, https, ftp or file) without blanks or quotes",
});
const word = s.string({
  pattern: /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/,
  maxLength: 128,
  expected: "a word (letters, digits, . _ + ~ -)",
});
const manager = s.literal("apt", "dnf", "yum");
const id = s.string({
  pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
  maxLength: 100,
  expected: "a repository id (a letter or digit, then letters, digits, _ . -)",
});
const RepoArgs = s.object({
  manager,
  id,
  uri: url,
  /** apt: `deb` or `deb-src`. */
  type: s.optional(s.literal("deb", "deb-src"), "deb"),
  /** apt: the suite (`bookworm`, `stable/`). */
  suite: s.optional(s.string({
    pattern: /^[A-Za-z0-9][A-Za-z0-9._+~\/-]*$/,
    maxLength: 128,
    expected: "a suite (letters, digits, . _ + ~ - /)",
  })),
  components: s.optional(s.array(word, { maxItems: 32 }), []),
  arch: s.optional(s.array(word, { maxItems: 16 }), []),
  /** apt, without `key`: a keyring under `/etc/apt/keyrings` or `/usr/share/keyrings`. */
  signed_by: s.optional(s.string({
    pattern: /^\/(etc\/apt|usr\/share)\/keyrings\/[A-Za-z0-9_.-]+$/,
    expected: "a keyring in /etc/apt/keyrings or /usr/share/keyrings",
  })),
  /** dnf/yum: the human-readable name. */
  name: s.optional(s.string({ pattern: /^[^\n\r]+$/, maxLength: 256, expected: "one line" })),
  mirrorlist: s.optional(s.boolean(), false),
  gpgcheck: s.optional(s.boolean(), true),
  /** dnf/yum, without `key`: where the key is fetched from. */
  gpgkey: s.optional(url),
  enabled: s.optional(s.boolean(), true),
  /** The repository's signing key, written beside its file. */
  key: s.optional(s.bytes()),
  check: s.optional(s.boolean(), false),
});
/** Validated arguments of `pkgrepo.set`. */
export type RepoSpec = s.Infer<typeof RepoArgs>;

/** The files of repository `id` of manager `m`, as paths of the managed system. */
function files(m: RepoSpec["manager"], id: string, armored: boolean) {
  return m === "apt"
    ? {
      repo: `/etc/apt/sources.list.d/${id}.list`,
      key: `/etc/apt/keyrings/${id}.${armored ? "asc" : "gpg"}`,
    }
    : { repo: `/etc/yum.repos.d/${id}.repo`, key: `/etc/pki/rpm-gpg/RPM-GPG-KEY-${id}` };
}

const isArmored = (key?: Uint8Array) =>
  key !== undefined && new TextDecoder().decode(key.subarray(0, 64)).includes("BEGIN PGP");

/** The repository file's text for `spec`, whose key (if any) lies at `keyPath`. */
export function repoText(spec: RepoSpec, keyPath?: string): string {
  if (spec.manager === "apt") {
    if (!spec.suite) throw new BrokerError("bad_request", "An apt repository needs a suite");
    const opts = [
      ...(spec.arch.length ? [`arch=${spec.arch.join(",")}`] : []),
      ...(keyPath ?? spec.signed_by ? [`signed-by=${keyPath ?? spec.signed_by}`] : []),
    ];
    const line = [spec.type, ...(opts.length ? [`[${opts.join(" ")}]`] : []), spec.uri, spec.suite]
      .concat(spec.components).join(" ");
    return `${spec.enabled ? "" : "# "}${line}\n`;
  }
  const gpgkey = keyPath ? `file://${keyPath}` : spec.gpgkey;
  return [
    `[${spec.id}]`,
    `name=${spec.name ?? spec.id}`,
    `${spec.mirrorlist ? "mirrorlist" : "baseurl"}=${spec.uri}`,
    `enabled=${spec.enabled ? 1 : 0}`,
    `gpgcheck=${spec.gpgcheck ? 1 : 0}`,
    ...(gpgkey ? [`gpgkey=${gpgkey}`] : []),
    "",
  ].join("\n");
}

/** Every URL in a repository file's text. */
function urlsIn(text: string): string[] {
  return [...text.matchAll(/(?:https?|ftp|file):\/\/[^\s\]"']+/g)].map((m) => m[0]);
}

function allowed(ctx: OpContext, u: string, what: string): void {
  if (!ctx.policy.section.repos.some((g) => globToRegExp(g).test(u))) {
    throw new BrokerError("denied", `Denied by policy: ${what} "${u}" is not in repos`);
  }
}

async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** The URLs of the repository file at `path` (none if absent) must all be in `repos`. */
async function replaceable(ctx: OpContext, path: string): Promise<string | null> {
  const old = await readOrNull(path);
  if (old === null) return null;
  const text = new TextDecoder().decode(old);
  const urls = urlsIn(text);
  if (urls.length === 0) {
    throw new BrokerError("denied", `Denied by policy: "${path}" names no repository URL`);
  }
  for (const u of urls) allowed(ctx, u, "repository in the existing file");
  return text;
}

function wrap(what: string, e: unknown): BrokerError {
  if (e instanceof BrokerError) return e;
  return new BrokerError("failed", `Cannot ${what}: ${(e as Error).message}`, { cause: e });
}

/** What `pkgrepo.set` did (or, with `check`, would do), by path on the managed system. */
export interface RepoResult {
  /** The repository file: its text before (null: none) and after. */
  repo: { path: string; old: string | null; new: string };
  /** The key file, when one was given: whether there was one, and whether it changes. */
  key?: { path: string; existed: boolean; changed: boolean };
}

/** `pkgrepo.set`: write repository `id` (and its key). */
export const repoSetOp = defineOp({
  args: RepoArgs,
  async run(spec, ctx): Promise<RepoResult> {
    ctx.policy.manager(spec.manager);
    allowed(ctx, spec.uri, "repository");
    if (spec.gpgkey) allowed(ctx, spec.gpgkey, "key URL");
    const root = ctx.policy.section.system_root;
    const names = files(spec.manager, spec.id, isArmored(spec.key));
    const text = repoText(spec, spec.key ? names.key : undefined);
    try {
      const repoPath = posix.join(root, names.repo);
      const out: RepoResult = {
        repo: { path: names.repo, old: await replaceable(ctx, repoPath), new: text },
      };
      const keyPath = posix.join(root, names.key);
      if (spec.key) {
        const oldKey = await readOrNull(keyPath);
        const same = oldKey !== null && oldKey.byteLength === spec.key.byteLength &&
          oldKey.every((b, i) => b === spec.key![i]);
        out.key = { path: names.key, existed: oldKey !== null, changed: !same };
      }
      if (!spec.check) {
        // The key first: a repository file never names a key that is not there yet.
        if (out.key?.changed) await putFile(keyPath, spec.key!, { mode: 0o644 });
        if (out.repo.old !== text) await putFile(repoPath, text, { mode: 0o644 });
      }
      return out;
    } catch (e) {
      throw wrap(`configure repository "${spec.id}"`, e);
    }
  },
});

/** `pkgrepo.remove`: remove repository `id` and its key; `{ removed: [<file>…] }`. */
export const repoRemoveOp = defineOp({
  args: s.object({ manager, id, check: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    ctx.policy.manager(args.manager);
    const root = ctx.policy.section.system_root;
    const removed: string[] = [];
    try {
      const repo = files(args.manager, args.id, false).repo;
      if (await replaceable(ctx, posix.join(root, repo)) === null) return { removed };
      const keys = [
        files(args.manager, args.id, false).key,
        files(args.manager, args.id, true).key,
      ];
      for (const f of [repo, ...new Set(keys)]) {
        if (await readOrNull(posix.join(root, f)) === null) continue;
        removed.push(f);
        if (!args.check) await Deno.remove(posix.join(root, f));
      }
      return { removed };
    } catch (e) {
      throw wrap(`remove repository "${args.id}"`, e);
    }
  },
});
