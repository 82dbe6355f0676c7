/**
 * `pkg.*` states with apt and dnf/yum, the manager chosen from the `os.family` fact, then from
 * what is installed. The peel decides what to change; the broker queries and changes packages
 * through its typed `pkg.*` operations, for the managers its policy lists.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import {
  type Broker,
  isPackageName,
  type Manager,
  type PkgVersions,
  type RunResult,
} from "../broker/mod.ts";
import { badArg, boolArg, strArg } from "./args.ts";

const TIMEOUT_MS = 600_000;

/**
 * The manager for these facts, among those the broker may use on this host (`available`):
 * apt for Debian, dnf (else yum) for Red Hat, otherwise the first available.
 */
export async function chooseManager(
  facts: Record<string, unknown>,
  available: () => Promise<Manager[]>,
): Promise<Manager> {
  const family = String((facts.os as { family?: unknown } | undefined)?.family ?? "");
  if (family === "debian") return "apt";
  const have = await available();
  if (family === "redhat") return have.includes("dnf") ? "dnf" : "yum";
  if (have[0]) return have[0];
  throw new Error("No package manager (apt, dnf, yum) both on this host and in the policy");
}

/** The managers the broker may use on this host. */
export async function managers(b: Broker): Promise<Manager[]> {
  return ((await b.request("pkg.managers", {})) as { managers: Manager[] }).managers;
}

/** The packages a state names, with the versions asked for (`pkgs: [{nginx: "1.24"}]`). */
function wanted(c: Chunk): Map<string, string | undefined> {
  const version = (v: unknown) => v === undefined || v === null ? undefined : String(v);
  const pkgs = c.args.pkgs;
  if (pkgs === undefined) return new Map([[c.name, strArg(c, "version")]]);
  if (!Array.isArray(pkgs)) throw badArg(c, "pkgs", "a list of names or name: version maps");
  return new Map(pkgs.flatMap((p): [string, string | undefined][] => {
    if (typeof p === "string") return [[p, undefined]];
    if (typeof p !== "object" || !p || Array.isArray(p)) {
      throw badArg(c, "pkgs", "a list of names or name: version maps");
    }
    return Object.entries(p).map(([n, v]) => [n, version(v)]);
  }));
}

/** The last lines of a failed command's output. */
function failure(r: RunResult): string | undefined {
  return r.retcode === 0
    ? undefined
    : (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ") || `exit code ${r.retcode}`;
}

/** The `pkg` state module. */
export function pkgStates(
  broker: Broker,
  manager: () => Promise<Manager>,
): Record<string, StateFunction> {
  const run = async (op: string, args: Record<string, unknown>) =>
    failure(await broker.request(op, args, { timeoutMs: TIMEOUT_MS }) as RunResult);
  const change = async (
    op: string,
    m: Manager,
    pkgs: Map<string, string | undefined>,
    skipVerify: boolean,
  ): Promise<string | undefined> => {
    if (pkgs.size === 0) return undefined;
    const versions = Object.fromEntries([...pkgs].filter(([, v]) => v !== undefined));
    return await run(op, {
      manager: m,
      names: [...pkgs.keys()],
      versions,
      ...(skipVerify ? { skip_verify: true } : {}),
    });
  };
  const ensure = (
    want: "installed" | "removed" | "purged" | "latest",
  ): StateFunction =>
  async (c, ctx): Promise<Outcome> => {
    const m = await manager();
    const pkgs = wanted(c);
    const removing = want === "removed" || want === "purged";
    const refresh = boolArg(c, "refresh", false);
    const skipVerify = boolArg(c, "skip_verify", false);
    const hold = removing || c.args.hold === undefined ? undefined : boolArg(c, "hold", false);
    if (refresh && !ctx.test) {
      const failed = await run("pkg.refresh", { manager: m });
      if (failed) return { result: false, comment: `${m} refresh failed: ${failed}`, changes: {} };
    }
    // Salt's test mode on apt predicts an install for any name; ours does too, and says that the
    // broker will refuse a name it cannot take (a pillar placeholder, say) when applying.
    const invalid = ctx.test ? [...pkgs.keys()].filter((p) => !isPackageName(p)) : [];
    const { packages } = await broker.request("pkg.query", {
      manager: m,
      names: [...pkgs.keys()].filter((p) => !invalid.includes(p)),
      candidate: want === "latest",
      held: hold !== undefined,
    }, { timeoutMs: TIMEOUT_MS }) as { packages: Record<string, PkgVersions> };
    // What to install, remove or purge; and (for latest) what to upgrade; what to (un)hold.
    const act = new Map<string, string | undefined>();
    const upgrade = new Map<string, string | undefined>();
    const changes: Record<string, unknown> = {};
    for (const [pkg, version] of pkgs) {
      const have = packages[pkg]?.installed ?? undefined;
      if (want === "installed" && (!have || (version !== undefined && version !== have))) {
        act.set(pkg, version);
        changes[pkg] = { old: have ?? "", new: version ?? "installed" };
      } else if (removing && have) {
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
    const holds = hold === undefined
      ? []
      : [...pkgs.keys()].filter((p) => (packages[p]?.held ?? false) !== hold);
    for (const p of holds) {
      changes[p] ??= hold ? { old: "install", new: "hold" } : { old: "hold", new: "install" };
    }
    const todo = [...act.keys(), ...upgrade.keys()];
    const verb = removing ? (want === "removed" ? "remove" : "purge") : "install";
    const said = [
      ...(todo.length ? [`${verb} ${todo.join(", ")}`] : []),
      ...(holds.length ? [`${hold ? "hold" : "unhold"} ${holds.join(", ")}`] : []),
    ].join(" and ");
    if (!said) {
      return {
        result: true,
        comment: `All packages are already ${want === "latest" ? "at the latest version" : want}`,
        changes: {},
      };
    }
    if (ctx.test) {
      const refused = invalid.map((p) => `; "${p}" is not a package name, applying will fail`);
      return { result: null, comment: `Would ${said} with ${m}${refused.join("")}`, changes };
    }
    const failed = removing
      ? await change(`pkg.${verb}`, m, act, false)
      : await change("pkg.install", m, act, skipVerify) ??
        await change("pkg.upgrade", m, upgrade, skipVerify) ??
        (holds.length
          ? await run(hold ? "pkg.hold" : "pkg.unhold", { manager: m, names: holds })
          : undefined);
    if (failed) return { result: false, comment: `${m} failed: ${failed}`, changes: {} };
    const done = [
      ...(todo.length ? [`${removing ? "Removed" : "Installed"} ${todo.join(", ")}`] : []),
      ...(holds.length ? [`${hold ? "Held" : "Released"} ${holds.join(", ")}`] : []),
    ];
    return { result: true, comment: done.join("; "), changes };
  };
  return {
    installed: ensure("installed"),
    removed: ensure("removed"),
    purged: ensure("purged"),
    latest: ensure("latest"),
  };
}
