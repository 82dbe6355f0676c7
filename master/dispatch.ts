/**
 * Serves `zester.dispatch` in queue group `zester.masters`: validates the request, resolves the
 * target, stores the job `pending` and hands it to the tracker, which claims it and sends one
 * ExecRequest per peel. The deadline is absolute, on this master's clock: the timeout a
 * request asks for, capped by `max_job_timeout`, or the configured one for the function.
 * @module
 */
import type { KV, NatsConnection, Subscription } from "nats";
import { isJsError, JS_ERRORS, MASTER_QUEUE, serve, subjects } from "../lib/bus/mod.ts";
import {
  checkArguments,
  createJob,
  type DispatchReply,
  DispatchRequest,
  type Job,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { compileTarget } from "../lib/target/mod.ts";
import type { FactIndex } from "./fact_index.ts";
import type { JobEvents } from "./job_events.ts";
import type { JobTracker } from "./job_tracker.ts";
import { dispatched } from "./metrics.ts";

/** How a master picks a job's timeout. */
export interface TimeoutPolicy {
  /** When neither the request nor `byFunction` names one. */
  defaultMs: number;
  /** By function name. */
  byFunction: Readonly<Record<string, number>>;
  /** The most a request may ask for. */
  maxMs: number;
}

/** What dispatch needs from the master. */
export interface DispatchContext {
  nc: NatsConnection;
  jobsKv: KV;
  index: FactIndex;
  tracker: JobTracker;
  events: JobEvents;
  masterId: string;
  timeouts: TimeoutPolicy;
  nodegroups: Record<string, string | string[]>;
  log: Logger;
}

/** Serve job dispatch until the connection drains. */
export function serveDispatch(ctx: DispatchContext): Subscription {
  return serve(ctx.nc, {
    subject: subjects.dispatch,
    queue: MASTER_QUEUE,
    schema: DispatchRequest,
    log: ctx.log,
    handle: (req) => dispatch(ctx, req),
  });
}

/** The timeout of a job of `fun` when the request asks for `requested` (or nothing). */
export function jobTimeout(policy: TimeoutPolicy, fun: string, requested?: number): number {
  if (requested !== undefined) return Math.min(requested, policy.maxMs);
  return policy.byFunction[fun] ?? policy.defaultMs;
}

/** Run one validated dispatch request. */
export async function dispatch(ctx: DispatchContext, req: DispatchRequest): Promise<DispatchReply> {
  const t0 = performance.now();
  checkArguments(req.fun, req.args, req.kwargs);
  const target = compileTarget(req.tgt, req.tgt_type, { nodegroups: ctx.nodegroups });
  const targets = ctx.index.resolve(target);
  if (targets.length === 0) {
    return { ok: false, error: `No peels matched the target "${req.tgt}"` };
  }
  const now = Date.now();
  const timeout = jobTimeout(ctx.timeouts, req.fun, req.timeout_ms);
  const job: Job = {
    jid: req.jid,
    fun: req.fun,
    args: req.args,
    kwargs: req.kwargs,
    tgt: req.tgt,
    tgt_type: target.kind,
    targets,
    user: req.user,
    timeout_ms: timeout,
    status: "pending",
    owner: ctx.masterId,
    created: new Date(now).toISOString(),
    updated: new Date(now).toISOString(),
    deadline: new Date(now + timeout).toISOString(),
  };
  let revision: number;
  try {
    revision = await createJob(ctx.jobsKv, job);
  } catch (e) {
    if (isJsError(e, JS_ERRORS.wrongLastSequence)) {
      return { ok: false, error: `Job ${job.jid} already exists` };
    }
    throw e;
  }
  void ctx.events.status(job);
  await ctx.tracker.take(job, revision);
  dispatched((performance.now() - t0) / 1000);
  ctx.log.info("job dispatched", {
    jid: job.jid,
    fun: job.fun,
    tgt: job.tgt,
    targets: targets.length,
    user: job.user,
  });
  return { ok: true, jid: job.jid, target_count: targets.length, deadline: job.deadline };
}
