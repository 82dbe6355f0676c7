/**
 * `service.start|stop|restart|reload|enable|disable|status`: systemd unit operations whose
 * argv the broker builds itself, with the unit validated (never a leading `-`), after `--`, in
 * a fixed environment, for the units the policy's `services` globs allow.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { BASE_ENV, execute } from "./run.ts";
import { runFailure, type RunResult } from "./run_result.ts";

const SYSTEMCTL = "/usr/bin/systemctl";
/** What a unit operation does. */
export type ServiceVerb = "start" | "stop" | "restart" | "reload" | "enable" | "disable";

const TIMEOUT_MS = 120_000;
const UnitArgs = s.object({
  unit: s.string({
    pattern: /^[A-Za-z0-9][A-Za-z0-9+.:~_@-]*$/,
    maxLength: 256,
    expected: "a unit name (a letter or digit, then letters, digits or + . : ~ _ @ -)",
  }),
});
// What `systemctl is-active` and `is-enabled` count as active and enabled.
const ACTIVE = ["active", "reloading", "refreshing"];
const ENABLED = [
  "enabled",
  "enabled-runtime",
  "static",
  "alias",
  "indirect",
  "generated",
  "transient",
];
const STATUS_PROPS = "--property=LoadState,ActiveState,UnitFileState";

/** The argv of `verb` on `unit`: never asks for a password, unit after `--`. */
export function serviceArgv(verb: ServiceVerb | "status", unit: string): string[] {
  const what = verb === "status" ? ["show", STATUS_PROPS] : [verb];
  return [SYSTEMCTL, "--no-ask-password", ...what, "--", unit];
}

async function systemctl(
  verb: ServiceVerb | "status",
  unit: string,
  ctx: OpContext,
): Promise<RunResult> {
  return await execute({
    argv: serviceArgv(verb, unit),
    env: { ...BASE_ENV },
    timeoutMs: TIMEOUT_MS,
    maxOutput: ctx.policy.section.max_output,
  }, ctx);
}

function unitOp(verb: ServiceVerb) {
  return defineOp({
    auditsItself: true,
    args: UnitArgs,
    run: async (args, ctx) => await systemctl(verb, ctx.policy.unit(args.unit), ctx),
  });
}

/** `service.start`. */
export const serviceStartOp = unitOp("start");
/** `service.stop`. */
export const serviceStopOp = unitOp("stop");
/** `service.restart`. */
export const serviceRestartOp = unitOp("restart");
/** `service.reload`. */
export const serviceReloadOp = unitOp("reload");
/** `service.enable`. */
export const serviceEnableOp = unitOp("enable");
/** `service.disable`. */
export const serviceDisableOp = unitOp("disable");

/** What `service.status` returns. */
export interface ServiceStatus {
  unit: string;
  active: boolean;
  enabled: boolean;
  load_state: string;
  active_state: string;
  unit_file_state: string;
}

/** `service.status`: whether the unit is active and enabled; fails when systemd cannot say. */
export const serviceStatusOp = defineOp({
  auditsItself: true,
  args: UnitArgs,
  async run(args, ctx) {
    const unit = ctx.policy.unit(args.unit);
    const r = await systemctl("status", unit, ctx);
    if (r.retcode !== 0 || r.timed_out) {
      const why = r.timed_out
        ? `no answer in ${TIMEOUT_MS} ms`
        : runFailure(r).replaceAll("\n", " ");
      throw new BrokerError("failed", `Cannot query unit "${unit}": ${why}`);
    }
    const props = Object.fromEntries(
      r.stdout.split("\n").filter((l) => l.includes("=")).map((l) => {
        const i = l.indexOf("=");
        return [l.slice(0, i), l.slice(i + 1)];
      }),
    );
    const status: ServiceStatus = {
      unit,
      active: ACTIVE.includes(props.ActiveState ?? ""),
      enabled: ENABLED.includes(props.UnitFileState ?? ""),
      load_state: props.LoadState ?? "",
      active_state: props.ActiveState ?? "",
      unit_file_state: props.UnitFileState ?? "",
    };
    return status;
  },
});
