/**
 * `service.*` states for systemd: running, dead, enabled, disabled, and the restart a fired
 * `watch` asks of a running service. The peel decides; the broker acts through its typed
 * `service.*` operations, for the units its policy's `services` lists.
 * @module
 */
import type { Outcome, StateFunction } from "../../lib/state/mod.ts";
import { type Broker, runFailure, type RunResult, type ServiceStatus } from "../broker/mod.ts";
import { boolArg, numberArg } from "./args.ts";

const TIMEOUT_MS = 120_000;

async function ctl(b: Broker, verb: string, unit: string): Promise<unknown> {
  return await b.request(`service.${verb}`, { unit }, { timeoutMs: TIMEOUT_MS });
}

/** Run `verb` on `unit`; what went wrong, or undefined. */
async function act(b: Broker, verb: string, unit: string): Promise<string | undefined> {
  const r = await ctl(b, verb, unit) as RunResult;
  return r.retcode === 0 ? undefined : runFailure(r);
}

/** The `service` state module. */
export function serviceStates(b: Broker): Record<string, StateFunction> {
  const converge =
    (want: { active?: boolean; enabled?: boolean }): StateFunction =>
    async (c, ctx): Promise<Outcome> => {
      const name = c.name;
      const enable = c.args.enable === undefined ? want.enabled : boolArg(c, "enable", false);
      const delay = numberArg(c, "init_delay") ?? 0;
      const now = await ctl(b, "status", name) as ServiceStatus;
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
        const failure = await act(b, s, name);
        if (failure) {
          return { result: false, comment: `Cannot ${s} ${name}: ${failure}`, changes: {} };
        }
      }
      if (steps.includes("start") && delay > 0) {
        // Salt's init_delay: give the service time to come up (or fall over), then look again.
        await new Promise((r) => setTimeout(r, delay * 1000));
        if (!((await ctl(b, "status", name)) as ServiceStatus).active) {
          return { result: false, comment: `Service ${name} failed to start`, changes };
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
    const verb = boolArg(c, "reload", false) ? "reload" : "restart";
    if (ctx.test) {
      return {
        result: null,
        comment: `Service ${c.name} would ${verb}`,
        changes: { [verb]: true },
      };
    }
    const failure = await act(b, verb, c.name);
    return failure === undefined
      ? { result: true, comment: `Service ${c.name} ${verb}ed`, changes: { [verb]: true } }
      : { result: false, comment: `Cannot ${verb} ${c.name}: ${failure}`, changes: {} };
  };
}
