/**
 * Runs one ExecRequest and builds its return: the function's result or error, exit code where
 * it applies, start time and duration. Nothing a function throws escapes; a job that outlives
 * its timeout, or is canceled, is aborted and reported as failed. A job whose broker died
 * under it has an unknown outcome: what the broker was doing may or may not have happened.
 * Every return shows the peel's opened secrets as `<sealed>`: returns are stored, shown and logged.
 * @module
 */
import type { ExecRequest, ExecReturn } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { Sweeper } from "../lib/timer/mod.ts";
import { type Broker, BrokerError } from "./broker/mod.ts";
import {
  type Basket,
  type FunctionResult,
  FUNCTIONS,
  type ScheduleControl,
  type SettingsAccess,
  stateSingle,
} from "./functions/mod.ts";
import type { StateTree } from "./state/mod.ts";

/** What {@linkcode execute} needs from the peel. */
export interface ExecDeps {
  peelId: string;
  facts: () => Record<string, unknown>;
  broker: Broker;
  log: Logger;
  states?: StateTree;
  /** The basket, for `mine.*` and templates. */
  basket?: Basket;
  settings?: SettingsAccess;
  /** Tells the run when the job is canceled. */
  cancel?: JobCancel;
  /** The peel's scheduler, for `schedule.*`. */
  schedule?: ScheduleControl;
}

/** What running a job takes from its request: a scheduled run has no more. */
export type ExecCall = Pick<ExecRequest, "jid" | "fun" | "args" | "kwargs" | "timeout_ms">;

/** A job that ran past its timeout. */
export class JobTimeoutError extends Error {
  /** Build the error for a timeout of `ms` (to a tenth of a second: it is what was left). */
  constructor(ms: number) {
    super(`Timed out after ${Math.round(ms / 100) / 10}s`);
    this.name = "JobTimeoutError";
  }
}

/** A job canceled by an operator. */
export class JobCanceledError extends Error {
  /** Build the error for a job canceled by `user`. */
  constructor(user: string) {
    super(`Canceled by ${user}`);
    this.name = "JobCanceledError";
  }
}

/**
 * A job's cancel: one listener (the job's run) and the reason once canceled. An AbortController
 * per job and its event listener showed up in profiles of the job path, and most jobs are never
 * canceled; the functions' own `signal` is still made when a function asks for it.
 */
export class JobCancel {
  #reason: Error | undefined;
  #listener: ((reason: Error) => void) | undefined;

  /** Why the job was canceled, once it was. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  /** Cancel the job with `reason`; a second cancel changes nothing. */
  cancel(reason: Error): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#listener?.(reason);
  }

  /** Call `fn` on cancel, replacing the listener before it; `undefined` removes it. */
  listen(fn: ((reason: Error) => void) | undefined): void {
    this.#listener = fn;
  }
}

/** Job deadlines are checked this often; timeouts are whole seconds in practice. */
const deadlines = new Sweeper(100);

/** Run `req` and return what the peel sends back, its secrets redacted. */
export async function execute(req: ExecCall, deps: ExecDeps): Promise<ExecReturn> {
  const ret = await run(req, deps);
  return deps.settings ? deps.settings.redact(ret) : ret;
}

async function run(req: ExecCall, deps: ExecDeps): Promise<ExecReturn> {
  const t0 = performance.now();
  const base = {
    jid: req.jid,
    peel_id: deps.peelId,
    fun: req.fun,
    started: new Date().toISOString(),
  };
  // A function name that is not an execution function may be a state function (`file.touch`).
  const fn = FUNCTIONS.get(req.fun) ?? (req.fun.includes(".") ? stateSingle(req.fun) : undefined);
  if (!fn) {
    return {
      ...base,
      success: false,
      error: `Function "${req.fun}" is not available on this peel`,
      duration_ms: 0,
    };
  }
  // The abort signal is made only for functions that ask for it: most finish long before their
  // deadline, and a controller per job showed up in profiles of the job path.
  let ac: AbortController | undefined;
  let log: Logger | undefined;
  const outcome = Promise.withResolvers<FunctionResult>();
  const stop = (e: Error) => {
    ac?.abort(e);
    outcome.reject(e);
  };
  const deadline = Date.now() + req.timeout_ms;
  const check = (now: number) => {
    if (now >= deadline) stop(new JobTimeoutError(req.timeout_ms));
  };
  deadlines.watch(check);
  deps.cancel?.listen(stop);
  let brokerDied: BrokerError | undefined;
  let broker: Broker | undefined;
  try {
    if (deps.cancel?.reason) throw deps.cancel.reason;
    const ctx = {
      peelId: deps.peelId,
      jid: req.jid,
      facts: deps.facts,
      get broker() {
        return broker ??= {
          request: (op, args, opts) =>
            deps.broker.request(op, args, opts).catch((e) => {
              if (e instanceof BrokerError && e.code === "broker_crashed") brokerDied = e;
              throw e;
            }),
        };
      },
      get signal() {
        return (ac ??= new AbortController()).signal;
      },
      timeoutMs: req.timeout_ms,
      states: deps.states,
      basket: deps.basket,
      schedule: deps.schedule,
      settings: deps.settings,
      get log() {
        return log ??= deps.log.with({ jid: req.jid });
      },
    };
    fn(ctx, req.args, req.kwargs).then(outcome.resolve, outcome.reject);
    const out = await outcome.promise;
    return {
      ...base,
      success: out.success ?? true,
      result: out.result,
      ...(out.retcode === undefined ? {} : { retcode: out.retcode }),
      ...(out.warnings?.length ? { warnings: out.warnings } : {}),
      ...(brokerDied && out.success === false ? unknownOutcome(req.fun, brokerDied) : {}),
      duration_ms: elapsed(t0),
    };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    deps.log.warn("function failed", { jid: req.jid, fun: req.fun, error });
    return {
      ...base,
      success: false,
      error,
      ...(brokerDied ? unknownOutcome(req.fun, brokerDied) : {}),
      duration_ms: elapsed(t0),
    };
  } finally {
    deadlines.unwatch(check);
    deps.cancel?.listen(undefined);
  }
}

/** The fields of a return whose outcome is unknown because the broker died under it. */
function unknownOutcome(fun: string, e: BrokerError): Pick<ExecReturn, "outcome" | "error"> {
  return {
    outcome: "unknown",
    error: `The broker died while running ${fun}; its outcome is unknown (${e.message})`,
  };
}

function elapsed(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1000;
}
