/**
 * The broker's policy: what the peel may have done on its behalf, read by the broker itself
 * from the `broker:` section of the root-owned `peel.yaml`. Everything not listed is denied.
 * Paths are checked after resolving `..` and symlinks, on whole path segments, so
 * `/etc/nginx` allows `/etc/nginx/x` but neither `/etc/nginx-evil` nor a symlink out of it.
 * @module
 */
import { posix } from "node:path";
import { type BrokerSection, loadConfig, PeelPolicyFile } from "../../lib/config/mod.ts";
import { globToRegExp } from "./glob.ts";
import { OpError } from "./ops/op.ts";

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

/** A loaded policy with its checks. Each check throws an `OpError("denied")` saying why. */
export class Policy {
  /** The `broker:` section it enforces. */
  readonly section: BrokerSection;
  /** The file it came from (writes to it are always denied). */
  readonly file: string;

  readonly #exec: { path: string; args: "any" | RegExp[][] }[];
  readonly #services: RegExp[];

  /** Wrap a validated section from `file`. */
  constructor(section: BrokerSection, file: string) {
    this.section = section;
    this.file = file;
    this.#exec = section.exec.map((e) => ({
      path: e.path,
      args: e.args === "any" ? "any" : e.args.map((rule) => rule.map(globToRegExp)),
    }));
    this.#services = section.services.map((g) => globToRegExp(unitName(g)));
  }

  /**
   * Load the policy from `file`, which must be owned by root (or by this broker's user) and
   * writable by nobody else, as sudo insists of its sudoers.
   */
  static async load(file: string): Promise<Policy> {
    const st = await Deno.stat(file);
    const uid = Deno.uid();
    if (st.uid !== 0 && st.uid !== uid) {
      throw new Error(`Refusing policy "${file}": owned by uid ${st.uid}, not root`);
    }
    if (st.mode !== null && (st.mode & 0o022) !== 0) {
      throw new Error(`Refusing policy "${file}": writable by group or others`);
    }
    const cfg = await loadConfig(file, PeelPolicyFile);
    return new Policy(cfg.broker, file);
  }

  /** The absolute, `..`-free form of `path`; relative paths are refused. */
  static normalize(path: string): string {
    if (!path.startsWith("/")) throw new OpError("bad_request", `Path "${path}" is not absolute`);
    if (path.includes("\0")) throw new OpError("bad_request", "Path contains a NUL byte");
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
    const resolved = await this.#check(path, this.section.write_paths, "write");
    for (const guarded of [this.file, this.section.audit_log]) {
      if (resolved === guarded || path === guarded) {
        throw new OpError("denied", `Denied by policy: "${path}" belongs to the broker`);
      }
    }
    return resolved;
  }

  /** Check a write of the entry `path` itself (a link is not followed); returns it resolved. */
  async writeLink(path: string): Promise<string> {
    const p = await this.#check(path, this.section.write_paths, "write", false);
    for (const guarded of [this.file, this.section.audit_log]) {
      if (p === guarded) {
        throw new OpError("denied", `Denied by policy: "${path}" belongs to the broker`);
      }
    }
    return p;
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
      throw new OpError(
        "denied",
        `Denied by policy: ${what} of "${path}" is outside the allowed paths`,
      );
    }
    const real = followLast || norm === "/"
      ? await realish(norm)
      : posix.join(await realish(posix.dirname(norm)), posix.basename(norm));
    if (!within(real, allowed)) {
      throw new OpError(
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
        throw new OpError(
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
        throw new OpError(
          "denied",
          `Denied by policy: arguments ${
            JSON.stringify(args)
          } of "${prog}" match no rule of its exec entry`,
        );
      }
    }
    if (user !== undefined && !this.section.run_as.includes(user)) {
      throw new OpError("denied", `Denied by policy: commands may not run as "${user}"`);
    }
    for (const name of envNames) {
      if (!this.section.env_allow.includes(name)) {
        throw new OpError(
          "denied",
          `Denied by policy: environment variable "${name}" is not allowed (not in env_allow)`,
        );
      }
    }
  }

  /** Check that package manager `manager` may be used. */
  manager(manager: BrokerSection["packages"][number]): void {
    if (!this.section.packages.includes(manager)) {
      throw new OpError(
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
      throw new OpError("denied", `Denied by policy: unit "${unit}" is not in services`);
    }
    return unit;
  }
}

const UNIT_TYPES = /\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/;

/** `name` with `.service` appended unless it ends in a unit type, as systemctl does. */
function unitName(name: string): string {
  return UNIT_TYPES.test(name) ? name : `${name}.service`;
}
