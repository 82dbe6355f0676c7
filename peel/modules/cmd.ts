/**
 * `cmd.run` as a state: run `name` through the broker's shell; exit 0 succeeds. Guards
 * (`onlyif`, `unless`, `creates`) are the runner's; in test mode the command does not run.
 * @module
 */
import type { StateFunction } from "../../lib/state/mod.ts";
import type { Broker, RunResult } from "../broker/mod.ts";

/** Run a shell command through the broker. */
export async function shell(
  broker: Broker,
  cmd: string,
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; user?: string } = {},
): Promise<RunResult> {
  return await broker.request("run", {
    argv: ["/bin/sh", "-c", cmd],
    cwd: opts.cwd,
    env: opts.env,
    user: opts.user,
    timeout_ms: opts.timeoutMs,
  }, { timeoutMs: opts.timeoutMs }) as RunResult;
}

/** The `cmd` state module, bound to `broker`. */
export function cmdStates(broker: Broker): Record<string, StateFunction> {
  const run: StateFunction = async (c, ctx) => {
    if (ctx.test) {
      return { result: null, comment: `Command "${c.name}" would have been executed`, changes: {} };
    }
    const r = await shell(broker, c.name, {
      cwd: c.args.cwd === undefined ? undefined : String(c.args.cwd),
      env: c.args.env as Record<string, string> | undefined,
      user: c.args.runas === undefined ? undefined : String(c.args.runas),
      timeoutMs: c.args.timeout === undefined ? undefined : Number(c.args.timeout) * 1000,
    });
    const ok = r.retcode === 0 && !r.timed_out;
    const changes = { retcode: r.retcode, stdout: r.stdout.trimEnd(), stderr: r.stderr.trimEnd() };
    if (c.args.stateful === true && ok) {
      // Salt's stateful commands end their output with `changed=yes|no comment='…'`.
      const lines = changes.stdout.split("\n");
      const fields = Object.fromEntries(
        [...(lines.at(-1) ?? "").matchAll(/(\w+)=('([^']*)'|"([^"]*)"|\S+)/g)]
          .map((m) => [m[1]!, m[3] ?? m[4] ?? m[2]!]),
      );
      if ("changed" in fields) {
        const changed = /^(yes|true|1)$/i.test(fields.changed!);
        return {
          result: true,
          comment: fields.comment ?? `Command "${c.name}" run`,
          changes: changed ? { ...changes, stdout: lines.slice(0, -1).join("\n") } : {},
        };
      }
    }
    return {
      result: ok,
      comment: ok
        ? `Command "${c.name}" run`
        : `Command "${c.name}" failed with exit code ${r.retcode}`,
      changes,
    };
  };
  // cmd.wait does nothing unless a watch fires (then the runner calls `run`).
  return { run, wait: () => Promise.resolve({ result: true, comment: "", changes: {} }) };
}
