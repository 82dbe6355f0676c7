/**
 * `cmd.run` and `cmd.run_all`: run a shell command. The peel cannot spawn anything itself; the
 * broker runs the command, under its policy, and the peel only relays the result.
 * @module
 */
import type { RunResult } from "../broker/mod.ts";
import { ArgumentError, type ExecContext, type ExecFunction, stringArg } from "./context.ts";

function envArg(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!v || typeof v !== "object" || Array.isArray(v)) {
    throw new ArgumentError(`cmd.run: "env" must be a map of names to values`);
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}

async function run(
  ctx: ExecContext,
  args: unknown[],
  kwargs: Record<string, unknown>,
): Promise<RunResult> {
  const cmd = stringArg("cmd.run", args, kwargs, 0, "cmd");
  const cwd = kwargs.cwd === undefined ? undefined : String(kwargs.cwd);
  const stdin = kwargs.stdin === undefined ? undefined : String(kwargs.stdin);
  const timeoutMs = kwargs.timeout === undefined
    ? ctx.timeoutMs
    : Math.min(Number(kwargs.timeout) * 1000, ctx.timeoutMs);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ArgumentError(`cmd.run: "timeout" must be a positive number of seconds`);
  }
  return await ctx.broker.request("run", {
    argv: ["/bin/sh", "-c", cmd],
    env: envArg(kwargs.env),
    cwd,
    stdin,
    timeout_ms: timeoutMs,
  }, { timeoutMs, jid: ctx.jid, signal: ctx.signal }) as RunResult;
}

function joined(r: RunResult): string {
  const out = [r.stdout.replace(/\n$/, ""), r.stderr.replace(/\n$/, "")].filter(Boolean);
  return out.join("\n");
}

/** `cmd.run '<cmd>' [cwd=] [env=] [stdin=] [timeout=]`: output (stdout, then stderr). */
export const runCmd: ExecFunction = async (ctx, args, kwargs) => {
  const r = await run(ctx, args, kwargs);
  const note = r.timed_out ? `\n[timed out after ${r.duration_ms} ms]` : "";
  return { result: joined(r) + note, success: r.retcode === 0 && !r.timed_out, retcode: r.retcode };
};

/** `cmd.run_all '<cmd>'`: `{ retcode, stdout, stderr }` and timing. */
export const runAll: ExecFunction = async (ctx, args, kwargs) => {
  const r = await run(ctx, args, kwargs);
  return { result: r, success: r.retcode === 0 && !r.timed_out, retcode: r.retcode };
};
