/**
 * Runs one ExecRequest and builds its return: the function's result or error, exit code where
 * it applies, start time and duration. Nothing a function throws escapes; a job that outlives
 * its timeout is aborted and reported as failed.
 * @module
 */
import type { ExecRequest, ExecReturn } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { Sweeper } from "../lib/timer/mod.ts";
import { type Broker, type FunctionResult, FUNCTIONS, stateSingle } from "./functions/mod.ts";
import type { StateTree } from "./state_tree.ts";

/** What {@linkcode execute} needs from the peel. */
export interface ExecDeps {
  peelId: string;
  facts: () => Record<string, unknown>;
  broker: Broker;
  log: Logger;
  states?: StateTree;
}

/** A job that ran past its timeout. */
export class JobTimeoutError extends Error {
  /** Build the error for a timeout of `ms`. */
  constructor(ms: number) {
    super(`Timed out after ${ms / 1000}s`);
    this.name = "JobTimeoutError";
  }
}

/** Job deadlines are checked this often; timeouts are whole seconds in practice. */
const deadlines = new Sweeper(100);

/** Run `req` and return what the peel sends back. */
export async function execute(req: ExecRequest, deps: ExecDeps): Promise<ExecReturn> {
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
  const deadline = Date.now() + req.timeout_ms;
  const check = (now: number) => {
    if (now < deadline) return;
    const e = new JobTimeoutError(req.timeout_ms);
    ac?.abort(e);
    outcome.reject(e);
  };
  deadlines.watch(check);
  try {
    const ctx = {
      peelId: deps.peelId,
      jid: req.jid,
      facts: deps.facts,
      broker: deps.broker,
      get signal() {
        return (ac ??= new AbortController()).signal;
      },
      timeoutMs: req.timeout_ms,
      states: deps.states,
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
      duration_ms: elapsed(t0),
    };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    deps.log.warn("function failed", { jid: req.jid, fun: req.fun, error });
    return { ...base, success: false, error, duration_ms: elapsed(t0) };
  } finally {
    deadlines.unwatch(check);
  }
}

function elapsed(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1000;
}
