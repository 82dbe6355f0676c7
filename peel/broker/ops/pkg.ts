/**
 * `pkg.query|install|upgrade|remove|purge`: package operations whose argv the broker builds
 * itself for apt, dnf and yum. Names and versions are validated (never a leading `-`) and put
 * after `--`; the environment is fixed; the policy's `packages` names the managers allowed.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { defineOp, type OpContext, OpError } from "./op.ts";
import { BASE_ENV, execute, type RunResult } from "./run.ts";

/** The package managers the broker drives. */
export type Manager = "apt" | "dnf" | "yum";
/** What a change does. */
export type PkgVerb = "install" | "upgrade" | "remove" | "purge";

const manager = s.literal("apt", "dnf", "yum");
// No trailing "-": apt reads `install name-` as "remove name".
const name = s.string({
  pattern: /^[A-Za-z0-9](?:[A-Za-z0-9+.:~_@-]*[A-Za-z0-9+.:~_@])?$/,
  maxLength: 255,
  expected: "a package name (a letter or digit, then letters, digits or + . : ~ _ @ -, " +
    "not ending in -)",
});
const version = s.string({
  pattern: /^[A-Za-z0-9][A-Za-z0-9+.:~_-]*$/,
  maxLength: 255,
  expected: "a version (a letter or digit, then letters, digits or + . : ~ _ -)",
});
const names = s.array(name, { maxItems: 1000 });
const TIMEOUT_MS = 600_000;
const QUERY_TIMEOUT_MS = 120_000;
const ENV: Record<Manager, Record<string, string>> = {
  apt: { ...BASE_ENV, DEBIAN_FRONTEND: "noninteractive", APT_LISTCHANGES_FRONTEND: "none" },
  dnf: { ...BASE_ENV },
  yum: { ...BASE_ENV },
};
const APT_GET = "/usr/bin/apt-get";
// Keep changed config files and take the default for new ones instead of asking, as Salt does.
const APT_KEEP_CONF = [
  "-o",
  "Dpkg::Options::=--force-confdef",
  "-o",
  "Dpkg::Options::=--force-confold",
];

/**
 * The argv changing `pkgs` (name and optional version) with `m`: names after `--`, versions
 * as `name=version` (apt) or `name-version` (dnf, yum); `simulate` (apt only) adds `-s`.
 */
export function packageArgv(
  m: Manager,
  verb: PkgVerb,
  pkgs: readonly { name: string; version?: string }[],
  simulate = false,
): string[] {
  if (m === "apt") {
    const specs = pkgs.map((p) => p.version === undefined ? p.name : `${p.name}=${p.version}`);
    const how = verb === "install"
      ? ["install", ...APT_KEEP_CONF]
      : verb === "upgrade"
      ? ["install", "--only-upgrade", ...APT_KEEP_CONF]
      : [verb];
    return [APT_GET, ...how, "-y", "-q", ...(simulate ? ["-s"] : []), "--", ...specs];
  }
  const specs = pkgs.map((p) => p.version === undefined ? p.name : `${p.name}-${p.version}`);
  const how = verb === "upgrade"
    ? (m === "dnf" ? "upgrade" : "update")
    : verb === "purge"
    ? "remove"
    : verb;
  return [`/usr/bin/${m}`, how, "-y", "--", ...specs];
}

async function output(ctx: OpContext, m: Manager, argv: string[]): Promise<RunResult> {
  return await execute({
    argv,
    env: ENV[m],
    timeoutMs: QUERY_TIMEOUT_MS,
    maxOutput: ctx.policy.section.max_output,
  }, ctx);
}

function failed(argv: string[], r: RunResult): OpError {
  const why = (r.stderr || r.stdout).trim() || `exit code ${r.retcode}`;
  return new OpError("failed", `Cannot query packages with "${argv[0]}": ${why}`);
}

/** The installed version of `pkg` (the first installed instance), or null. */
async function installed(ctx: OpContext, m: Manager, pkg: string): Promise<string | null> {
  const argv = m === "apt"
    ? ["/usr/bin/dpkg-query", "-W", "-f=${Status}\\t${Version}\\n", "--", pkg]
    : ["/usr/bin/rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}\\n", "--", pkg];
  const r = await output(ctx, m, argv);
  // Both exit 1 for a package they do not know.
  if (r.retcode !== 0 && r.retcode !== 1) throw failed(argv, r);
  if (r.retcode !== 0) return null;
  const lines = r.stdout.split("\n");
  if (m !== "apt") return lines[0]?.trim() || null;
  const fields = lines.map((l) => l.split("\t")).find(([st, v]) =>
    st === "install ok installed" && v
  );
  return fields?.[1] ?? null;
}

/** The version the manager would install for `pkg`, or null when it has none. */
async function candidate(ctx: OpContext, m: Manager, pkg: string): Promise<string | null> {
  const argv = m === "apt"
    ? ["/usr/bin/apt-cache", "policy", "--", pkg]
    : m === "dnf"
    ? ["/usr/bin/dnf", "-q", "list", "--available", "--", pkg]
    : ["/usr/bin/yum", "-q", "list", "available", "--", pkg];
  const r = await output(ctx, m, argv);
  if (m === "apt") {
    if (r.retcode !== 0) throw failed(argv, r);
    const v = /Candidate:\s*(\S+)/.exec(r.stdout)?.[1];
    return v && v !== "(none)" ? v : null;
  }
  // dnf and yum exit 1 when nothing is available.
  const line = r.stdout.split("\n").find((l) => l.startsWith(`${pkg}.`));
  return line?.trim().split(/\s+/)[1] ?? null;
}

/** Versions of a package as `pkg.query` reports them. */
export interface PkgVersions {
  installed: string | null;
  /** Present when the query asked for it. */
  candidate?: string | null;
}

/** `pkg.query`: installed (and, with `candidate`, installable) version of each name. */
export const pkgQueryOp = defineOp({
  args: s.object({ manager, names, candidate: s.optional(s.boolean(), false) }),
  async run(args, ctx) {
    ctx.policy.manager(args.manager);
    const packages: Record<string, PkgVersions> = {};
    for (const pkg of args.names) {
      packages[pkg] = { installed: await installed(ctx, args.manager, pkg) };
      if (args.candidate) packages[pkg].candidate = await candidate(ctx, args.manager, pkg);
    }
    return { packages };
  },
});

const ChangeArgs = s.object({
  manager,
  names,
  versions: s.optional(s.record(version), {}),
  simulate: s.optional(s.boolean(), false),
});

function changeOp(verb: PkgVerb) {
  return defineOp({
    args: ChangeArgs,
    async run(args, ctx) {
      ctx.policy.manager(args.manager);
      if (args.names.length === 0) {
        throw new OpError("bad_request", `pkg.${verb} needs at least one package name`);
      }
      for (const n of Object.keys(args.versions)) {
        if (verb === "remove" || verb === "purge") {
          throw new OpError("bad_request", `pkg.${verb} takes no versions (given for "${n}")`);
        }
        if (!args.names.includes(n)) {
          throw new OpError("bad_request", `Version given for "${n}", which is not in names`);
        }
      }
      if (args.simulate && args.manager !== "apt") {
        throw new OpError(
          "bad_request",
          `simulate is supported for apt only, not "${args.manager}"`,
        );
      }
      const pkgs = args.names.map((n) => ({
        name: n,
        version: Object.hasOwn(args.versions, n) ? args.versions[n] : undefined,
      }));
      return await execute({
        argv: packageArgv(args.manager, verb, pkgs, args.simulate),
        env: ENV[args.manager],
        timeoutMs: TIMEOUT_MS,
        maxOutput: ctx.policy.section.max_output,
      }, ctx);
    },
  });
}

/** `pkg.install`: install names (at `versions` where given). */
export const pkgInstallOp = changeOp("install");
/** `pkg.upgrade`: upgrade installed names (to `versions` where given). */
export const pkgUpgradeOp = changeOp("upgrade");
/** `pkg.remove`: remove names, keeping their configuration. */
export const pkgRemoveOp = changeOp("remove");
/** `pkg.purge`: remove names and their configuration (dnf and yum: as remove). */
export const pkgPurgeOp = changeOp("purge");
