/**
 * `schedule.*`: Salt's functions for the minion schedule, on the peel's scheduler. Changes last
 * until the peel restarts or its schedule is reloaded; `peel.yaml` (and settings) stay as they
 * are, as with Salt's `persist=False`.
 * @module
 */
import { ArgumentError, type ExecContext, type ExecFunction, stringArg } from "./context.ts";

function scheduler(ctx: ExecContext) {
  if (!ctx.schedule) throw new Error("The scheduler is not running on this peel");
  return ctx.schedule;
}

/** `schedule.list`: every entry with its settings, whether it is enabled and its next run. */
export const list: ExecFunction = (ctx) => Promise.resolve({ result: scheduler(ctx).list() });

/** `schedule.enable` / `schedule.disable`: let every entry run, or none. */
export function setEnabled(enabled: boolean): ExecFunction {
  return (ctx) => {
    const s = scheduler(ctx);
    if (enabled) s.enable();
    else s.disable();
    return Promise.resolve({
      result: { result: true, comment: `${enabled ? "Enabled" : "Disabled"} schedule on peel` },
    });
  };
}

/** `schedule.enable_job <name>` / `schedule.disable_job <name>`. */
export function setJobEnabled(enabled: boolean): ExecFunction {
  const fun = `schedule.${enabled ? "enable" : "disable"}_job`;
  return (ctx, args, kwargs) => {
    const name = stringArg(fun, args, kwargs, 0, "name");
    scheduler(ctx).setJobEnabled(name, enabled);
    return Promise.resolve({
      result: { result: true, comment: `${enabled ? "Enabled" : "Disabled"} job ${name}` },
    });
  };
}

/** `schedule.run_job <name> [force=True]`: run an entry now; the result names the run's JID. */
export const runJob: ExecFunction = (ctx, args, kwargs) => {
  const name = stringArg("schedule.run_job", args, kwargs, 0, "name");
  const force = args[1] ?? kwargs.force ?? false;
  if (typeof force !== "boolean") {
    throw new ArgumentError(`schedule.run_job: "force" must be True or False`);
  }
  const jid = scheduler(ctx).runJob(name, force);
  return Promise.resolve({
    result: { result: true, comment: `Scheduling Job ${name} on peel`, jid },
  });
};
