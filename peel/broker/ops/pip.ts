/**
 * `pip.list|install|uninstall`: Python packages in a virtualenv, by that environment's own
 * `python -I -m pip` (isolated: no PYTHON* variables, no user site) with argv the broker builds.
 * The environment must lie under the policy's `pip.envs` and, unless pip runs as a `run_as`
 * user, in directories only root can change; packages are PEP 508 names with extras and version
 * specifiers only (no URLs, paths or options), after `--`; the index must match `pip.indexes`
 * (`https://pypi.org/simple` when none is given) unless `no_index`; `find_links` directories
 * must be readable by the policy. pip reads no config file.
 * @module
 */
import { posix } from "node:path";
import * as s from "../../../lib/schema/mod.ts";
import { exposures } from "../safe_path.ts";
import { type Account, user } from "./accounts.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { BASE_ENV, execute } from "./run.ts";
import type { RunResult } from "./run_result.ts";

/** pip's default index, which must be in `pip.indexes` like any other. */
export const PYPI = "https://pypi.org/simple";
const TIMEOUT_MS = 900_000;
const NAME = "[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?";
const VERSION = "(?:===|==|!=|<=|>=|~=|<|>)\\s*[A-Za-z0-9.*+!_-]+";
/** A PEP 508 requirement without URL or markers: `name[extra,…] >=1.0, <2`. */
export const PIP_SPEC = new RegExp(
  `^${NAME}(?:\\[\\s*${NAME}(?:\\s*,\\s*${NAME})*\\s*\\])?\\s*(?:${VERSION}(?:\\s*,\\s*${VERSION})*)?$`,
);

const binEnv = s.string({ pattern: /^\//, expected: "an absolute path" });
const spec = s.string({
  pattern: PIP_SPEC,
  maxLength: 512,
  expected: "a package name with optional [extras] and version specifiers (name>=1.0)",
});
const name = s.string({
  pattern: new RegExp(`^${NAME}$`),
  maxLength: 255,
  expected: "a package name",
});
const runAs = s.optional(s.string({ pattern: /^[a-z_][a-z0-9_-]*\$?$/, expected: "a user name" }));
const indexUrl = s.string({
  pattern: /^(https?|file):\/\/[^\s"'\\]+$/,
  maxLength: 2048,
  expected: "an index URL (http, https or file)",
});

/** PEP 503's normalized form of a package name. */
export function normalizeName(n: string): string {
  return n.toLowerCase().replace(/[-_.]+/g, "-");
}

interface Env {
  python: string;
  as?: Account;
  env: Record<string, string>;
}

/** Check `bin_env` (a virtualenv, or the pip inside one) and how pip runs there. */
async function environment(ctx: OpContext, binEnv: string, runAs?: string): Promise<Env> {
  if (runAs !== undefined && !ctx.policy.section.run_as.includes(runAs)) {
    throw new BrokerError("denied", `Denied by policy: commands may not run as "${runAs}"`);
  }
  const norm = posix.normalize(binEnv);
  const isPip = /^pip[0-9.]*$/.test(posix.basename(norm)) &&
    posix.basename(posix.dirname(norm)) === "bin";
  const root = await ctx.policy.within(
    isPip ? posix.dirname(posix.dirname(norm)) : norm,
    ctx.policy.section.pip.envs,
    "pip.envs",
  );
  const as = runAs === undefined ? undefined : await user(runAs);
  const python = posix.join(root, "bin", "python");
  try {
    await Deno.stat(python);
  } catch {
    throw new BrokerError("failed", `"${root}" is not a virtualenv: it has no bin/python`);
  }
  const e = as ? undefined : exposures(root)[0];
  if (e) {
    throw new BrokerError(
      "denied",
      `Denied: "${e.path}" is ${e.why}; pip would run its code as root`,
    );
  }
  return {
    python,
    as,
    env: {
      ...BASE_ENV,
      HOME: as?.home ?? "/root",
      PIP_CONFIG_FILE: "/dev/null",
      PIP_DISABLE_PIP_VERSION_CHECK: "1",
      PIP_NO_INPUT: "1",
    },
  };
}

async function pip(ctx: OpContext, e: Env, args: string[]): Promise<RunResult> {
  return await execute({
    argv: [e.python, "-I", "-m", "pip", ...args],
    env: e.env,
    user: e.as,
    timeoutMs: TIMEOUT_MS,
    maxOutput: ctx.policy.section.max_output,
  }, ctx);
}

function ok(r: RunResult, what: string): RunResult {
  if (r.retcode !== 0) {
    const why = (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ");
    throw new BrokerError("failed", `Cannot ${what}: ${why || `exit code ${r.retcode}`}`);
  }
  return r;
}

/** `pip.list`: installed packages by normalized name, with their versions. */
export const pipListOp = defineOp({
  auditsItself: true,
  args: s.object({ bin_env: binEnv, user: runAs }),
  async run(a, ctx) {
    const e = await environment(ctx, a.bin_env, a.user);
    ctx.intent({ path: e.python, as_user: e.as?.name });
    const r = ok(await pip(ctx, e, ["list", "--format=json"]), "list packages");
    const list = JSON.parse(r.stdout) as { name: string; version: string }[];
    return { packages: Object.fromEntries(list.map((p) => [normalizeName(p.name), p.version])) };
  },
});

/** What `pip.install` with `dry_run` reports it would install. */
export interface PipPlan {
  install: { name: string; version: string; requested: boolean }[];
}

/**
 * `pip.install`: install `specs`, from `find_links` directories and the index (or none, with
 * `no_index`); with `dry_run` only report what pip would install.
 */
export const pipInstallOp = defineOp({
  auditsItself: true,
  args: s.object({
    bin_env: binEnv,
    specs: s.array(spec, { maxItems: 1000 }),
    find_links: s.optional(s.array(binEnv, { maxItems: 16 }), []),
    no_index: s.optional(s.boolean(), false),
    index_url: s.optional(indexUrl),
    upgrade: s.optional(s.boolean(), false),
    dry_run: s.optional(s.boolean(), false),
    user: runAs,
  }),
  async run(a, ctx) {
    if (a.specs.length === 0) throw new BrokerError("bad_request", "pip.install needs a package");
    const e = await environment(ctx, a.bin_env, a.user);
    const opts: string[] = [];
    if (a.no_index) opts.push("--no-index");
    else {
      const index = a.index_url ?? PYPI;
      ctx.policy.url(index, ctx.policy.section.pip.indexes, "pip.indexes");
      opts.push("--index-url", index);
    }
    for (const dir of a.find_links) opts.push("--find-links", await ctx.policy.read(dir));
    if (a.upgrade) opts.push("--upgrade");
    ctx.intent({ path: e.python, as_user: e.as?.name });
    if (!a.dry_run) {
      const r = ok(await pip(ctx, e, ["install", "--quiet", ...opts, "--", ...a.specs]), "install");
      return { retcode: r.retcode };
    }
    const r = ok(
      await pip(ctx, e, [
        "install",
        "--dry-run",
        "--quiet",
        "--report",
        "-",
        ...opts,
        "--",
        ...a.specs,
      ]),
      "resolve",
    );
    const report = JSON.parse(r.stdout) as {
      install: { metadata: { name: string; version: string }; requested: boolean }[];
    };
    const plan: PipPlan = {
      install: report.install.map((i) => ({
        name: normalizeName(i.metadata.name),
        version: i.metadata.version,
        requested: i.requested,
      })),
    };
    return plan;
  },
});

/** `pip.uninstall`: remove `names`. */
export const pipUninstallOp = defineOp({
  auditsItself: true,
  args: s.object({ bin_env: binEnv, names: s.array(name, { maxItems: 1000 }), user: runAs }),
  async run(a, ctx) {
    if (a.names.length === 0) throw new BrokerError("bad_request", "pip.uninstall needs a package");
    const e = await environment(ctx, a.bin_env, a.user);
    ctx.intent({ path: e.python, as_user: e.as?.name });
    ok(await pip(ctx, e, ["uninstall", "--yes", "--quiet", "--", ...a.names]), "uninstall");
    return { removed: a.names };
  },
});
