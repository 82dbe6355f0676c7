/**
 * The broker's policy: what the peel may have done on its behalf, read by the broker itself
 * from the `broker:` section of the root-owned `peel.yaml`. Everything not listed is denied.
 * Paths are checked after resolving `..` and symlinks, on whole path segments, so
 * `/etc/nginx` allows `/etc/nginx/x` but neither `/etc/nginx-evil` nor a symlink out of it.
 * The broker's own files (see `protected.ts`) and their ancestors are never writable; modes
 * with setuid or setgid need `allow_setid`, and owners other than root must be in `owners`.
 * @module
 */
import { posix } from "node:path";
import { type BrokerSection, loadConfig, PeelPolicyFile } from "../../lib/config/mod.ts";
import { globToRegExp } from "./glob.ts";
import { groupId, user } from "./ops/accounts.ts";
import { octal } from "./ops/as_owner.ts";
import { BrokerError } from "./protocol.ts";
import { ProtectedPaths } from "./protected.ts";
import { exposures } from "./safe_path.ts";

/** Where the compiled broker reads its policy; it never takes the path from its caller. */
export const DEFAULT_POLICY_PATH = "/etc/zester/peel.yaml";

/** The shell `cmd.run` uses; any command through it with `cmd_run: allow` (which equals root). */
export const SHELL = "/bin/sh";

/**
 * The policy path of this broker: fixed for a compiled binary; for a checkout, the one its
 * launcher script sets after wiping the environment, so the peel cannot choose it.
 */
export function policyPath(): string {
  if (Deno.build.standalone) return DEFAULT_POLICY_PATH;
  return Deno.env.get("ZESTER_BROKER_POLICY") ?? DEFAULT_POLICY_PATH;
}

function within(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => {
    const prefix = p.length > 1 ? p.replace(/\/+$/, "") : p;
    return prefix === "/" || path === prefix || path.startsWith(prefix + "/");
  });
}

/** Resolve symlinks in `path`, or in its nearest existing ancestor for a path not yet there. */
async function realish(path: string): Promise<string> {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      const real = await Deno.realPath(head);
      return tail.length ? posix.join(real, ...tail.reverse()) : real;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || head === "/") throw e;
      tail.push(posix.basename(head));
      head = posix.dirname(head);
    }
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function refuseExposed(what: string, named: string, path: string): void {
  const e = exposures(path)[0];
  if (e) throw new Error(`Refusing ${what} "${named}": "${e.path}" is ${e.why}`);
}

/** A loaded policy with its checks. Each check throws an `BrokerError("denied")` saying why. */
export class Policy {
  /** The `broker:` section it enforces. */
  readonly section: BrokerSection;
  /** What no operation may change. */
  readonly protected: ProtectedPaths;

  readonly #exec: { path: string; args: "any" | RegExp[][] }[];
  readonly #services: RegExp[];

  /** Wrap a validated section, with the paths it must never let change. */
  constructor(section: BrokerSection, protect = new ProtectedPaths([])) {
    this.section = section;
    this.protected = protect;
    this.#exec = section.exec.map((e) => ({
      path: e.path,
      args: e.args === "any" ? "any" : e.args.map((rule) => rule.map(globToRegExp)),
    }));
    this.#services = section.services.map((g) => globToRegExp(unitName(g)));
  }

  /**
   * Load the policy from `file`, which must be safe (`safe_path.ts`): owned by root (or by this
   * broker's user), as is every directory above it, none writable by anyone else, as sshd
   * insists of `authorized_keys`. The audit log (or the nearest directory above it that exists)
   * must be safe too.
   */
  static async load(file: string): Promise<Policy> {
    refuseExposed("policy", file, file);
    const cfg = await loadConfig(file, PeelPolicyFile);
    let audit = cfg.broker.audit_log;
    while (!exists(audit)) audit = posix.dirname(audit);
    refuseExposed("audit log", cfg.broker.audit_log, audit);
    return new Policy(cfg.broker, ProtectedPaths.of(cfg, file));
  }

  /** The absolute, `..`-free form of `path`; relative paths are refused. */
  static normalize(path: string): string {
    if (!path.startsWith("/")) {
      throw new BrokerError("bad_request", `Path "${path}" is not absolute`);
    }
    if (path.includes("\0")) throw new BrokerError("bad_request", "Path contains a NUL byte");
    return posix.normalize(path);
  }

  /** Check a read (or, with `what: "cwd"`, a working directory) of `path`; returns it resolved. */
  async read(path: string, what = "read"): Promise<string> {
    return await this.#check(
      path,
      this.section.read_paths.concat(this.section.write_paths),
      what,
    );
  }

  /** Check a write (create, change, remove) of `path`; returns the resolved path to use. */
  async write(path: string): Promise<string> {
    return this.#unprotected(path, await this.#check(path, this.section.write_paths, "write"));
  }

  /** Check a write of the entry `path` itself (a link is not followed); returns it resolved. */
  async writeLink(path: string): Promise<string> {
    return this.#unprotected(
      path,
      await this.#check(path, this.section.write_paths, "write", false),
    );
  }

  #unprotected(path: string, resolved: string): string {
    const hit = this.protected.hit(Policy.normalize(path)) ?? this.protected.hit(resolved);
    if (hit !== undefined) {
      throw new BrokerError(
        "denied",
        `Denied by policy: "${path}" belongs to the broker (it is or holds "${hit}")`,
      );
    }
    return resolved;
  }

  /**
   * Check the target of a symlink to be made at `link` (resolved): it must itself be writable,
   * or the link would hand a path outside `write_paths` to whatever writes through it later.
   * Returns the target resolved.
   */
  async linkTarget(target: string, link: string): Promise<string> {
    return await this.write(posix.resolve(posix.dirname(link), target));
  }

  /** Check a file mode: setuid and setgid need `allow_setid`. */
  mode(mode: number | undefined): void {
    if (mode === undefined || (mode & 0o6000) === 0 || this.section.allow_setid) return;
    throw new BrokerError(
      "denied",
      `Denied by policy: mode "${octal(mode)}" sets setuid or setgid ` +
        `(allow_setid is off)`,
    );
  }

  /**
   * Check the owners a file may be given: root, or a user or group whose id is that of a name
   * in `owners`. Returns the uid and gid to set (undefined: leave as is).
   */
  async owners(
    u: string | undefined,
    g: string | undefined,
  ): Promise<{ uid?: number; gid?: number }> {
    const uid = u === undefined ? undefined : (await user(u)).uid;
    const gid = g === undefined ? undefined : await groupId(g);
    const listed = async (id: number | undefined, lookup: (n: string) => Promise<number>) =>
      id === undefined || id === 0 ||
      (await Promise.all(this.section.owners.map((n) => lookup(n).catch(() => -1)))).includes(id);
    if (!await listed(uid, async (n) => (await user(n)).uid)) {
      throw new BrokerError("denied", `Denied by policy: owner "${u}" is not in owners`);
    }
    if (!await listed(gid, (n) => groupId(n))) {
      throw new BrokerError("denied", `Denied by policy: group "${g}" is not in owners`);
    }
    return { uid, gid };
  }

  /**
   * Check a path a typed operation changes against its own list (`git.targets`, `pip.envs`),
   * named `key` in denials; returns it resolved. The broker's own files stay out of reach.
   */
  async within(path: string, allowed: readonly string[], key: string): Promise<string> {
    return this.#unprotected(path, await this.#check(path, allowed, `use (${key})`));
  }

  /** Check a URL against the globs of `key` (`fetch`, `git.repos`, `pip.indexes`). */
  url(url: string, globs: readonly string[], key: string): void {
    if (!globs.some((g) => globToRegExp(g).test(url))) {
      throw new BrokerError("denied", `Denied by policy: URL "${url}" is not in ${key}`);
    }
  }

  /** Check a read of the entry `path` itself (a link is not followed); returns it resolved. */
  async readLink(path: string): Promise<string> {
    return await this.#check(
      path,
      this.section.read_paths.concat(this.section.write_paths),
      "read",
      false,
    );
  }

  /**
   * Check `path` lexically, then resolved: through every symlink, or (for an entry such as a
   * link to remove or create) through every symlink but the last component.
   */
  async #check(
    path: string,
    allowed: readonly string[],
    what: string,
    followLast = true,
  ): Promise<string> {
    const norm = Policy.normalize(path);
    if (!within(norm, allowed)) {
      throw new BrokerError(
        "denied",
        `Denied by policy: ${what} of "${path}" is outside the allowed paths`,
      );
    }
    const real = followLast || norm === "/"
      ? await realish(norm)
      : posix.join(await realish(posix.dirname(norm)), posix.basename(norm));
    if (!within(real, allowed)) {
      throw new BrokerError(
        "denied",
        `Denied by policy: ${what} of "${path}" resolves to "${real}", outside the allowed paths`,
      );
    }
    return real;
  }

  /**
   * Check running `argv` (as `user`, with `env` names). A shell command needs `cmd_run: allow`
   * or an exec entry for the shell; any other program an exec entry whose argument rules match
   * `argv` after the program. Every variable must be named in `env_allow`.
   */
  exec(argv: readonly string[], user: string | undefined, envNames: readonly string[]): void {
    const prog = argv[0] ?? "";
    const isShell = prog === SHELL && argv[1] === "-c";
    if (!isShell || this.section.cmd_run !== "allow") {
      const entries = this.#exec.filter((e) => e.path === prog);
      if (entries.length === 0) {
        throw new BrokerError(
          "denied",
          isShell
            ? "Denied by policy: shell commands (cmd_run) are not allowed"
            : `Denied by policy: "${prog}" is not in the exec list`,
        );
      }
      const args = argv.slice(1);
      const fits = (rule: RegExp[]) =>
        rule.length === args.length && rule.every((re, i) => re.test(args[i]!));
      if (!entries.some((e) => e.args === "any" || e.args.some(fits))) {
        throw new BrokerError(
          "denied",
          `Denied by policy: arguments ${
            JSON.stringify(args)
          } of "${prog}" match no rule of its exec entry`,
        );
      }
    }
    if (user !== undefined && !this.section.run_as.includes(user)) {
      throw new BrokerError("denied", `Denied by policy: commands may not run as "${user}"`);
    }
    for (const name of envNames) {
      if (!this.section.env_allow.includes(name)) {
        throw new BrokerError(
          "denied",
          `Denied by policy: environment variable "${name}" is not allowed (not in env_allow)`,
        );
      }
    }
  }

  /** Check that package manager `manager` may be used. */
  manager(manager: BrokerSection["packages"][number]): void {
    if (!this.section.packages.includes(manager)) {
      throw new BrokerError(
        "denied",
        `Denied by policy: package manager "${manager}" is not in packages`,
      );
    }
  }

  /**
   * Check systemd unit `name` against `services`; returns its full name. A name without a unit
   * type suffix means a `.service`, as systemctl reads it, in requests and in the policy alike.
   */
  unit(name: string): string {
    const unit = unitName(name);
    if (!this.#services.some((re) => re.test(unit))) {
      throw new BrokerError("denied", `Denied by policy: unit "${unit}" is not in services`);
    }
    return unit;
  }
}

const UNIT_TYPES = /\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/;

/** `name` with `.service` appended unless it ends in a unit type, as systemctl does. */
function unitName(name: string): string {
  return UNIT_TYPES.test(name) ? name : `${name}.service`;
}
