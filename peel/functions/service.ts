/**
 * `service.status|available|start|stop|restart|reload|enable|disable`: systemd units through
 * the broker's typed `service.*` operations, for the units its policy's `services` lists, with
 * Salt's return values (true or false).
 * @module
 */
import type { RunResult, ServiceStatus } from "../broker/mod.ts";
import { type ExecContext, type ExecFunction, stringArg } from "./context.ts";

async function request(ctx: ExecContext, verb: string, unit: string): Promise<unknown> {
  return await ctx.broker.request(`service.${verb}`, { unit }, {
    jid: ctx.jid,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
  });
}

/** `service.<verb> <name>`: true when systemctl succeeded; its output otherwise. */
export function serviceVerb(verb: string): ExecFunction {
  return async (ctx, args, kwargs) => {
    const unit = stringArg(`service.${verb}`, args, kwargs, 0, "name");
    const r = await request(ctx, verb, unit) as RunResult;
    const ok = r.retcode === 0 && !r.timed_out;
    return { result: ok || (r.stderr || r.stdout).trim(), success: ok, retcode: r.retcode };
  };
}

/** `service.status <name>`: whether the unit is active. */
export const status: ExecFunction = async (ctx, args, kwargs) => {
  const unit = stringArg("service.status", args, kwargs, 0, "name");
  return { result: ((await request(ctx, "status", unit)) as ServiceStatus).active };
};

/** `service.available <name>`: whether systemd knows the unit. */
export const available: ExecFunction = async (ctx, args, kwargs) => {
  const unit = stringArg("service.available", args, kwargs, 0, "name");
  const s = await request(ctx, "status", unit) as ServiceStatus;
  return { result: s.load_state !== "not-found" && s.load_state !== "" };
};
