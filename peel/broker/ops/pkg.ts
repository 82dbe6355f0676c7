/**
 * `pkg.query|list|install|upgrade|remove|purge|refresh|hold|unhold`: package operations whose
 * argv the broker builds itself for apt, dnf and yum. Names and versions are validated (never a
 * leading `-`) and put after `--`; the environment is fixed; the policy's `packages` names the
 * managers allowed, and `allow_unverified_packages` whether signature checks may be skipped.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { BASE_ENV, execute } from "./run.ts";
import { runFailure, type RunResult } from "./run_result.ts";

/** The package managers the broker drives. */
export type Manager = "apt" | "dnf" | "yum";
/** What a change does. */
export type PkgVerb = "install" | "upgrade" | "remove" | "purge";

const manager = s.literal("apt", "dnf", "yum");
// No trailing "-": apt reads `install name-` as "remove name".
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9+.:~_@-]*[A-Za-z0-9+.:~_@])?$/;
const name = s.string({
  pattern: NAME,
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

/** Whether the broker takes `text` as a package name (its operations refuse any other). */
export function isPackageName(text: string): boolean {
  return NAME.test(text) && text.length <= 255;
}
const TIMEOUT_MS = 600_000;
const QUERY_TIMEOUT_MS = 120_000;
const ENV: Record<Manager, Record<string, string>> = {
  apt: { ...BASE_ENV, DEBIAN_FRONTEND: "noninteractive", APT_LISTCHANGES_FRONTEND: "none" },
  dnf: { ...BASE_ENV },
  yum: { ...BASE_ENV },
};
const APT_GET = "/usr/bin/apt-get";
const APT_MARK = "/usr/bin/apt-mark";
// Keep changed config files and take the default for new ones instead of asking, as Salt does.
const APT_KEEP_CONF = [
  "-o",
  "Dpkg::Options::=--force-confdef",
  "-o",
  "Dpkg::Options::=--force-confold",
];

/** How a change runs: a dry run (apt only), without signature checks. */
export interface ChangeOptions {
  simulate?: boolean;
  skipVerify?: boolean;
}

/**
 * The argv changing `pkgs` (name and optional version) with `m`: names after `--`, versions
 * as `name=version` (apt) or `name-version` (dnf, yum); `simulate` (apt only) adds `-s`,
 * `skipVerify` `--allow-unauthenticated` (apt) or `--nogpgcheck` (dnf, yum).
 */
export function packageArgv(
  m: Manager,
  verb: PkgVerb,
  pkgs: readonly { name: string; version?: string }[],
  opts: ChangeOptions = {},
): string[] {
  if (m === "apt") {
    const specs = pkgs.map((p) => p.version === undefined ? p.name : `${p.name}=${p.version}`);
    const how = verb === "install"
      ? ["install", ...APT_KEEP_CONF]
      : verb === "upgrade"
      ? ["install", "--only-upgrade", ...APT_KEEP_CONF]
      : [verb];
    return [
      APT_GET,
      ...how,
      "-y",
      "-q",
      ...(opts.simulate ? ["-s"] : []),
      ...(opts.skipVerify ? ["--allow-unauthenticated"] : []),
      "--",
      ...specs,
    ];
  }
  const specs = pkgs.map((p) => p.version === undefined ? p.name : `${p.name}-${p.version}`);
  const how = verb === "upgrade"
    ? (m === "dnf" ? "upgrade" : "update")
    : verb === "purge"
    ? "remove"
    : verb;
  return [`/usr/bin/${m}`, how, "-y", ...(opts.skipVerify ? ["--nogpgcheck"] : []), "--", ...specs];
}

/** The argv refreshing `m`'s package lists. */
export function refreshArgv(m: Manager): string[] {
  return m === "apt" ? [APT_GET, "update", "-q"] : [`/usr/bin/${m}`, "-q", "-y", "makecache"];
}

/** The argv holding (or releasing) `names` at their installed versions. */
export function holdArgv(m: Manager, hold: boolean, names: readonly string[]): string[] {
  if (m === "apt") return [APT_MARK, hold ? "hold" : "unhold", "--", ...names];
  return [`/usr/bin/${m}`, "-q", "-y", "versionlock", hold ? "add" : "delete", "--", ...names];
}

async function output(ctx: OpContext, m: Manager, argv: string[]): Promise<RunResult> {
  return await execute({
    argv,
    env: ENV[m],
    timeoutMs: QUERY_TIMEOUT_MS,
    maxOutput: ctx.policy.section.max_output,
  }, ctx);
}

function failed(argv: string[], r: RunResult): BrokerError {
  return new BrokerError("failed", `Cannot query packages with "${argv[0]}": ${runFailure(r)}`);
}

/** dpkg's status of an installed package: wanted for install, or held. */
const DPKG_INSTALLED = /^(install|hold) ok installed$/;

/** Installed packages (all, or `names`): version and, for apt, whether held. */
async function installed(
  ctx: OpContext,
  m: Manager,
  names: readonly string[],
): Promise<Map<string, { version: string; held: boolean }>> {
  const argv = m === "apt"
    ? ["/usr/bin/dpkg-query", "-W", "-f=${Status}\\t${Package}\\t${Version}\\n", "--", ...names]
    : names.length
    ? ["/usr/bin/rpm", "-q", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\n", "--", ...names]
    : ["/usr/bin/rpm", "-qa", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\n"];
  const r = await output(ctx, m, argv);
  // Both exit 1 when one of the names is unknown, and list the others.
  if (r.retcode !== 0 && r.retcode !== 1) throw failed(argv, r);
  const out = new Map<string, { version: string; held: boolean }>();
  for (const line of r.stdout.split("\n")) {
    const f = line.split("\t");
    const [status, name, version] = m === "apt" ? f : ["install ok installed", ...f];
    if (!name || !version || !DPKG_INSTALLED.test(status ?? "") || out.has(name)) continue;
    out.set(name, { version, held: status!.startsWith("hold") });
  }
  return out;
}

/** The names dnf or yum keep at their versions (`versionlock list`). */
async function locked(ctx: OpContext, m: Manager): Promise<Set<string>> {
  const argv = [`/usr/bin/${m}`, "-q", "versionlock", "list"];
  const r = await output(ctx, m, argv);
  if (r.retcode !== 0) throw failed(argv, r);
  // Entries read `name-epoch:version-release.*`.
  return new Set(r.stdout.split("\n").map((l) => /^(.+)-\d+:\S+$/.exec(l.trim())?.[1] ?? ""));
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
  /** Whether it is held at its version; present when the query asked for it. */
  held?: boolean;
}

/**
 * `pkg.query`: installed (and, with `candidate`, installable) version of each name, and with
 * `held` whether it is held.
 */
export const pkgQueryOp = defineOp({
  auditsItself: true,
  args: s.object({
    manager,
    names,
    candidate: s.optional(s.boolean(), false),
    held: s.optional(s.boolean(), false),
  }),
  async run(args, ctx) {
    ctx.policy.manager(args.manager);
    const packages: Record<string, PkgVersions> = {};
    const have = args.names.length ? await installed(ctx, args.manager, args.names) : new Map();
    const locks = args.held && args.manager !== "apt" ? await locked(ctx, args.manager) : null;
    for (const pkg of args.names) {
      const it = have.get(pkg);
      packages[pkg] = { installed: it?.version ?? null };
      if (args.candidate) packages[pkg].candidate = await candidate(ctx, args.manager, pkg);
      if (args.held) packages[pkg].held = locks ? locks.has(pkg) : it?.held ?? false;
    }
    return { packages };
  },
});

const BINARIES: Record<Manager, string> = {
  apt: APT_GET,
  dnf: "/usr/bin/dnf",
  yum: "/usr/bin/yum",
};

/** `pkg.managers`: the managers the policy's `packages` lists that this host has. */
export const pkgManagersOp = defineOp({
  auditsItself: true,
  args: s.object({}),
  async run(_args, ctx) {
    const present = async (m: Manager) =>
      await Deno.stat(BINARIES[m]).then(() => true, () => false);
    const managers: Manager[] = [];
    for (const m of ctx.policy.section.packages) if (await present(m)) managers.push(m);
    return { managers };
  },
});

/** `pkg.list`: every installed package and its version. */
export const pkgListOp = defineOp({
  auditsItself: true,
  args: s.object({ manager }),
  async run(args, ctx) {
    ctx.policy.manager(args.manager);
    const all = await installed(ctx, args.manager, []);
    return { packages: Object.fromEntries([...all].map(([n, v]) => [n, v.version]).sort()) };
  },
});

async function change(ctx: OpContext, m: Manager, argv: string[]): Promise<RunResult> {
  return await execute({
    argv,
    env: ENV[m],
    timeoutMs: TIMEOUT_MS,
    maxOutput: ctx.policy.section.max_output,
  }, ctx);
}

/** `pkg.refresh`: update the package lists (`apt-get update`, `dnf makecache`). */
export const pkgRefreshOp = defineOp({
  auditsItself: true,
  args: s.object({ manager }),
  async run(args, ctx) {
    ctx.policy.manager(args.manager);
    return await change(ctx, args.manager, refreshArgv(args.manager));
  },
});

function holdOp(hold: boolean) {
  return defineOp({
    auditsItself: true,
    args: s.object({ manager, names }),
    async run(args, ctx) {
      ctx.policy.manager(args.manager);
      if (args.names.length === 0) {
        throw new BrokerError("bad_request", `pkg.${hold ? "" : "un"}hold needs a package name`);
      }
      return await change(ctx, args.manager, holdArgv(args.manager, hold, args.names));
    },
  });
}

/** `pkg.hold`: keep names at their installed versions (`apt-mark hold`, `versionlock add`). */
export const pkgHoldOp = holdOp(true);
/** `pkg.unhold`: release held names. */
export const pkgUnholdOp = holdOp(false);

const ChangeArgs = s.object({
  manager,
  names,
  versions: s.optional(s.record(version), {}),
  simulate: s.optional(s.boolean(), false),
  skip_verify: s.optional(s.boolean(), false),
});

function changeOp(verb: PkgVerb) {
  return defineOp({
    auditsItself: true,
    args: ChangeArgs,
    async run(args, ctx) {
      ctx.policy.manager(args.manager);
      if (args.names.length === 0) {
        throw new BrokerError("bad_request", `pkg.${verb} needs at least one package name`);
      }
      for (const n of Object.keys(args.versions)) {
        if (verb === "remove" || verb === "purge") {
          throw new BrokerError("bad_request", `pkg.${verb} takes no versions (given for "${n}")`);
        }
        if (!args.names.includes(n)) {
          throw new BrokerError("bad_request", `Version given for "${n}", which is not in names`);
        }
      }
      if (args.simulate && args.manager !== "apt") {
        throw new BrokerError(
          "bad_request",
          `simulate is supported for apt only, not "${args.manager}"`,
        );
      }
      if (args.skip_verify && !ctx.policy.section.allow_unverified_packages) {
        throw new BrokerError(
          "denied",
          "Denied by policy: skip_verify needs allow_unverified_packages",
        );
      }
      const pkgs = args.names.map((n) => ({
        name: n,
        version: Object.hasOwn(args.versions, n) ? args.versions[n] : undefined,
      }));
      const opts = { simulate: args.simulate, skipVerify: args.skip_verify };
      return await change(ctx, args.manager, packageArgv(args.manager, verb, pkgs, opts));
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
