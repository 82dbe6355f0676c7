/**
 * `service.*` states for systemd: running, dead, enabled, disabled, and the restart a fired
 * `watch` asks of a running service. `systemctl` runs through the broker (list it in `exec`).
 * @module
 */
import type { Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { RunResult } from "../broker/mod.ts";
import type { Broker } from "../functions/mod.ts";

/** Where systemctl lives. */
export const SYSTEMCTL = "/usr/bin/systemctl";

async function ctl(b: Broker, ...args: string[]): Promise<RunResult> {
  return await b.request("run", { argv: [SYSTEMCTL, ...args], timeout_ms: 120_000 }) as RunResult;
}

/** The `service` state module. */
export function serviceStates(b: Broker): Record<string, StateFunction> {
  const state = async (name: string) => ({
    active: (await ctl(b, "is-active", "--quiet", name)).retcode === 0,
    enabled: (await ctl(b, "is-enabled", "--quiet", name)).retcode === 0,
  });
  const act = async (verb: string, name: string): Promise<string | undefined> => {
    const r = await ctl(b, verb, name);
    return r.retcode === 0 ? undefined : (r.stderr || r.stdout).trim() || `exit code ${r.retcode}`;
  };
  const converge =
    (want: { active?: boolean; enabled?: boolean }): StateFunction =>
    async (c, ctx): Promise<Outcome> => {
      const name = c.name;
      const now = await state(name);
      const enable = c.args.enable === undefined ? want.enabled : c.args.enable === true;
      const changes: Record<string, unknown> = {};
      const steps: string[] = [];
      if (want.active !== undefined && now.active !== want.active) {
        changes[name] = want.active;
        steps.push(want.active ? "start" : "stop");
      }
      if (enable !== undefined && now.enabled !== enable) {
        changes.enabled = enable;
        steps.push(enable ? "enable" : "disable");
      }
      if (steps.length === 0) {
        return { result: true, comment: `Service ${name} is in the correct state`, changes };
      }
      if (ctx.test) {
        return { result: null, comment: `Service ${name} would ${steps.join(" and ")}`, changes };
      }
      for (const s of steps) {
        const failure = await act(s, name);
        if (failure) {
          return { result: false, comment: `Cannot ${s} ${name}: ${failure}`, changes: {} };
        }
      }
      return { result: true, comment: `Service ${name}: ${steps.join(", ")}`, changes };
    };
  return {
    running: converge({ active: true }),
    dead: converge({ active: false }),
    enabled: converge({ enabled: true }),
    disabled: converge({ enabled: false }),
  };
}

/** What a fired `watch` does to a running service: restart it (or reload with `reload: True`). */
export function serviceWatch(b: Broker): StateFunction {
  return async (c, ctx) => {
    if (c.fun !== "running") return { result: true, comment: "", changes: {} };
    const verb = c.args.reload === true ? "reload" : "restart";
    if (ctx.test) {
      return {
        result: null,
        comment: `Service ${c.name} would ${verb}`,
        changes: { [verb]: true },
      };
    }
    const r = await ctl(b, verb, c.name);
    return r.retcode === 0
      ? { result: true, comment: `Service ${c.name} ${verb}ed`, changes: { [verb]: true } }
      : { result: false, comment: `Cannot ${verb} ${c.name}: ${r.stderr.trim()}`, changes: {} };
  };
}
