/**
 * `pkg.version|list_pkgs|latest_version|refresh_db`: package queries and the list refresh,
 * through the broker's typed `pkg.*` operations, with Salt's return shapes (one name gives a
 * string, several a map; "" for none).
 * @module
 */
import type { Manager, PkgVersions, RunResult } from "../broker/mod.ts";
import { chooseManager, managers } from "../modules/pkg.ts";
import { ArgumentError, type ExecContext, type ExecFunction } from "./context.ts";

async function manager(ctx: ExecContext): Promise<Manager> {
  return await chooseManager(ctx.facts(), () => managers(ctx.broker));
}

function names(fun: string, args: unknown[], kwargs: Record<string, unknown>): string[] {
  const raw = args.length ? args : kwargs.name !== undefined ? [kwargs.name] : [];
  const out = raw.flatMap((a) => Array.isArray(a) ? a : [a]).map(String);
  if (out.length === 0) throw new ArgumentError(`${fun} needs at least one package name`);
  return out;
}

async function query(
  ctx: ExecContext,
  pkgs: string[],
  candidate: boolean,
): Promise<Record<string, PkgVersions>> {
  const { packages } = await ctx.broker.request("pkg.query", {
    manager: await manager(ctx),
    names: pkgs,
    candidate,
  }, { jid: ctx.jid, timeoutMs: ctx.timeoutMs, signal: ctx.signal }) as {
    packages: Record<string, PkgVersions>;
  };
  return packages;
}

/** Salt's shape: one name gives its value, several a map. */
function shape(pkgs: string[], value: (name: string) => string): unknown {
  if (pkgs.length === 1) return value(pkgs[0]!);
  return Object.fromEntries(pkgs.map((p) => [p, value(p)]));
}

/** `pkg.version <name>…`: the installed version ("" when not installed). */
export const version: ExecFunction = async (ctx, args, kwargs) => {
  const pkgs = names("pkg.version", args, kwargs);
  const found = await query(ctx, pkgs, false);
  return { result: shape(pkgs, (p) => found[p]?.installed ?? "") };
};

/** `pkg.latest_version <name>…`: the version an upgrade would bring ("" when up to date). */
export const latestVersion: ExecFunction = async (ctx, args, kwargs) => {
  const pkgs = names("pkg.latest_version", args, kwargs);
  const found = await query(ctx, pkgs, true);
  return {
    result: shape(pkgs, (p) => {
      const v = found[p];
      return v?.candidate && v.candidate !== v.installed ? v.candidate : "";
    }),
  };
};

/** `pkg.list_pkgs`: every installed package and its version. */
export const listPkgs: ExecFunction = async (ctx) => {
  const { packages } = await ctx.broker.request("pkg.list", { manager: await manager(ctx) }, {
    jid: ctx.jid,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
  }) as { packages: Record<string, string> };
  return { result: packages };
};

/** `pkg.refresh_db`: update the package lists; true when it worked. */
export const refreshDb: ExecFunction = async (ctx) => {
  const r = await ctx.broker.request("pkg.refresh", { manager: await manager(ctx) }, {
    jid: ctx.jid,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
  }) as RunResult;
  const ok = r.retcode === 0 && !r.timed_out;
  return { result: ok ? true : (r.stderr || r.stdout).trim(), success: ok, retcode: r.retcode };
};
