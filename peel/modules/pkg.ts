/**
 * `pkg.*` states with apt and dnf/yum providers, chosen from the `os.family` fact, then from
 * what is installed. Queries and changes run through the broker, which allows them only for
 * the package managers its policy lists.
 * @module
 */
import type { Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { RunResult } from "../broker/mod.ts";
import type { Broker } from "../functions/mod.ts";

/** A package manager's commands. */
export interface Provider {
  name: "apt" | "dnf" | "yum";
  /** Installed version, or undefined. */
  installed(b: Broker, pkg: string): Promise<string | undefined>;
  /** Newest available version, or undefined when unknown. */
  candidate(b: Broker, pkg: string): Promise<string | undefined>;
  install(pkgs: string[]): string[];
  remove(pkgs: string[]): string[];
  purge(pkgs: string[]): string[];
  env: Record<string, string>;
}

async function run(
  b: Broker,
  argv: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  return await b.request("run", { argv, env, timeout_ms: 600_000 }, {
    timeoutMs: 600_000,
  }) as RunResult;
}

/** apt (Debian, Ubuntu). */
export const apt: Provider = {
  name: "apt",
  env: { DEBIAN_FRONTEND: "noninteractive" },
  async installed(b, pkg) {
    const r = await run(b, ["/usr/bin/dpkg-query", "-W", "-f=${Status}\\t${Version}", pkg]);
    const [status, version] = r.stdout.split("\t");
    return r.retcode === 0 && status === "install ok installed" ? version : undefined;
  },
  async candidate(b, pkg) {
    const r = await run(b, ["/usr/bin/apt-cache", "policy", pkg]);
    const m = /Candidate:\s*(\S+)/.exec(r.stdout);
    return m && m[1] !== "(none)" ? m[1] : undefined;
  },
  install: (p) => ["/usr/bin/apt-get", "install", "-y", "-q", ...p],
  remove: (p) => ["/usr/bin/apt-get", "remove", "-y", "-q", ...p],
  purge: (p) => ["/usr/bin/apt-get", "purge", "-y", "-q", ...p],
};

function rpmFamily(name: "dnf" | "yum"): Provider {
  const bin = `/usr/bin/${name}`;
  return {
    name,
    env: {},
    async installed(b, pkg) {
      const r = await run(b, ["/usr/bin/rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", pkg]);
      return r.retcode === 0 ? r.stdout.trim() : undefined;
    },
    async candidate(b, pkg) {
      const r = await run(b, [bin, "-q", "list", "--available", pkg]);
      const line = r.stdout.split("\n").find((l) => l.startsWith(`${pkg}.`));
      return line?.trim().split(/\s+/)[1];
    },
    install: (p) => [bin, "install", "-y", ...p],
    remove: (p) => [bin, "remove", "-y", ...p],
    purge: (p) => [bin, "remove", "-y", ...p],
  };
}

/** dnf (Fedora, RHEL 8+). */
export const dnf: Provider = rpmFamily("dnf");
/** yum (older RHEL). */
export const yum: Provider = rpmFamily("yum");

/** The provider for these facts: `os.family`, else what `exists` finds on PATH. */
export async function chooseProvider(
  facts: Record<string, unknown>,
  exists: (path: string) => Promise<boolean>,
): Promise<Provider> {
  const family = String((facts.os as { family?: unknown } | undefined)?.family ?? "");
  if (family === "debian") return apt;
  if (family === "redhat") return await exists("/usr/bin/dnf") ? dnf : yum;
  for (
    const [path, p] of [["/usr/bin/apt-get", apt], ["/usr/bin/dnf", dnf], [
      "/usr/bin/yum",
      yum,
    ]] as const
  ) {
    if (await exists(path)) return p;
  }
  throw new Error("No supported package manager (apt, dnf, yum) on this host");
}

function names(name: string, args: Record<string, unknown>): string[] {
  const pkgs = args.pkgs;
  if (Array.isArray(pkgs)) {
    return pkgs.map((p) => typeof p === "object" && p ? Object.keys(p)[0]! : String(p));
  }
  return [name];
}

/** The `pkg` state module. */
export function pkgStates(
  broker: Broker,
  provider: () => Promise<Provider>,
): Record<string, StateFunction> {
  const apply = async (
    argv: string[],
    env: Record<string, string>,
  ): Promise<string | undefined> => {
    const r = await run(broker, argv, env);
    return r.retcode === 0
      ? undefined
      : (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ");
  };
  const ensure = (
    want: "installed" | "removed" | "purged" | "latest",
  ): StateFunction =>
  async (c, ctx): Promise<Outcome> => {
    const p = await provider();
    const pkgs = names(c.name, c.args);
    const todo: string[] = [];
    const changes: Record<string, unknown> = {};
    for (const pkg of pkgs) {
      const have = await p.installed(broker, pkg);
      if (want === "installed" && !have) {
        todo.push(pkg);
        changes[pkg] = { old: "", new: "installed" };
      } else if ((want === "removed" || want === "purged") && have) {
        todo.push(pkg);
        changes[pkg] = { old: have, new: "" };
      } else if (want === "latest") {
        const cand = await p.candidate(broker, pkg);
        if (!have || (cand && cand !== have)) {
          todo.push(pkg);
          changes[pkg] = { old: have ?? "", new: cand ?? "latest" };
        }
      }
    }
    if (todo.length === 0) {
      return {
        result: true,
        comment: `All packages are already ${want === "latest" ? "at the latest version" : want}`,
        changes: {},
      };
    }
    if (ctx.test) {
      return {
        result: null,
        comment: `Would ${want === "removed" || want === "purged" ? "remove" : "install"} ${
          todo.join(", ")
        } with ${p.name}`,
        changes,
      };
    }
    const argv = want === "removed"
      ? p.remove(todo)
      : want === "purged"
      ? p.purge(todo)
      : p.install(todo);
    const failure = await apply(argv, p.env);
    if (failure) return { result: false, comment: `${p.name} failed: ${failure}`, changes: {} };
    return {
      result: true,
      comment: `${want === "removed" || want === "purged" ? "Removed" : "Installed"} ${
        todo.join(", ")
      }`,
      changes,
    };
  };
  return {
    installed: ensure("installed"),
    removed: ensure("removed"),
    purged: ensure("purged"),
    latest: ensure("latest"),
  };
}
