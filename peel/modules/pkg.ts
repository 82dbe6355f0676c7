/**
 * `pkg.*` states with apt and dnf/yum, the manager chosen from the `os.family` fact, then from
 * what is installed. The peel decides what to change; the broker queries and changes packages
 * through its typed `pkg.*` operations, for the managers its policy lists.
 * @module
 */
import type { Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { Manager, PkgVersions, RunResult } from "../broker/mod.ts";
import type { Broker } from "../functions/mod.ts";

const TIMEOUT_MS = 600_000;

/** The manager for these facts: `os.family`, else what `exists` finds on PATH. */
export async function chooseManager(
  facts: Record<string, unknown>,
  exists: (path: string) => Promise<boolean>,
): Promise<Manager> {
  const family = String((facts.os as { family?: unknown } | undefined)?.family ?? "");
  if (family === "debian") return "apt";
  if (family === "redhat") return await exists("/usr/bin/dnf") ? "dnf" : "yum";
  const found: [string, Manager][] = [
    ["/usr/bin/apt-get", "apt"],
    ["/usr/bin/dnf", "dnf"],
    ["/usr/bin/yum", "yum"],
  ];
  for (const [path, m] of found) if (await exists(path)) return m;
  throw new Error("No supported package manager (apt, dnf, yum) on this host");
}

/** The packages a state names, with the versions asked for (`pkgs: [{nginx: "1.24"}]`). */
function wanted(name: string, args: Record<string, unknown>): Map<string, string | undefined> {
  const version = (v: unknown) => v === undefined || v === null ? undefined : String(v);
  if (!Array.isArray(args.pkgs)) return new Map([[name, version(args.version)]]);
  return new Map(args.pkgs.map((p): [string, string | undefined] => {
    if (typeof p !== "object" || !p) return [String(p), undefined];
    const [n, v] = Object.entries(p)[0] ?? [""];
    return [n, version(v)];
  }));
}

/** The `pkg` state module. */
export function pkgStates(
  broker: Broker,
  manager: () => Promise<Manager>,
): Record<string, StateFunction> {
  const change = async (
    op: string,
    m: Manager,
    pkgs: Map<string, string | undefined>,
  ): Promise<string | undefined> => {
    if (pkgs.size === 0) return undefined;
    const versions = Object.fromEntries([...pkgs].filter(([, v]) => v !== undefined));
    const r = await broker.request(op, { manager: m, names: [...pkgs.keys()], versions }, {
      timeoutMs: TIMEOUT_MS,
    }) as RunResult;
    return r.retcode === 0
      ? undefined
      : (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ");
  };
  const ensure = (
    want: "installed" | "removed" | "purged" | "latest",
  ): StateFunction =>
  async (c, ctx): Promise<Outcome> => {
    const m = await manager();
    const pkgs = wanted(c.name, c.args);
    const { packages } = await broker.request("pkg.query", {
      manager: m,
      names: [...pkgs.keys()],
      candidate: want === "latest",
    }, { timeoutMs: TIMEOUT_MS }) as { packages: Record<string, PkgVersions> };
    // What to install, remove or purge; and (for latest) what to upgrade.
    const act = new Map<string, string | undefined>();
    const upgrade = new Map<string, string | undefined>();
    const changes: Record<string, unknown> = {};
    for (const [pkg, version] of pkgs) {
      const have = packages[pkg]?.installed ?? undefined;
      if (want === "installed" && (!have || (version !== undefined && version !== have))) {
        act.set(pkg, version);
        changes[pkg] = { old: have ?? "", new: version ?? "installed" };
      } else if ((want === "removed" || want === "purged") && have) {
        act.set(pkg, undefined);
        changes[pkg] = { old: have, new: "" };
      } else if (want === "latest") {
        const cand = packages[pkg]?.candidate ?? undefined;
        if (!have || (cand && cand !== have)) {
          (have ? upgrade : act).set(pkg, undefined);
          changes[pkg] = { old: have ?? "", new: cand ?? "latest" };
        }
      }
    }
    const todo = [...act.keys(), ...upgrade.keys()];
    const removing = want === "removed" || want === "purged";
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
        comment: `Would ${removing ? "remove" : "install"} ${todo.join(", ")} with ${m}`,
        changes,
      };
    }
    const failure = removing
      ? await change(want === "removed" ? "pkg.remove" : "pkg.purge", m, act)
      : await change("pkg.install", m, act) ?? await change("pkg.upgrade", m, upgrade);
    if (failure) return { result: false, comment: `${m} failed: ${failure}`, changes: {} };
    return {
      result: true,
      comment: `${removing ? "Removed" : "Installed"} ${todo.join(", ")}`,
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
