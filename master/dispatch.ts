/**
 * Serves `zester.dispatch` in queue group `zester.masters`: validates the request, resolves the
 * target, stores the job and hands it to the tracker, which sends one ExecRequest per peel.
 * @module
 */
import type { KV, NatsConnection, Subscription } from "nats";
import { encode, isJsError, JS_ERRORS, MASTER_QUEUE, serve, subjects } from "../lib/bus/mod.ts";
import {
  createJob,
  type DispatchReply,
  DispatchRequest,
  type Job,
  type JobStatusEvent,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { compileTarget } from "../lib/target/mod.ts";
import type { FactIndex } from "./fact_index.ts";
import type { JobTracker } from "./job_tracker.ts";

/** What dispatch needs from the master. */
export interface DispatchContext {
  nc: NatsConnection;
  jobsKv: KV;
  index: FactIndex;
  tracker: JobTracker;
  masterId: string;
  defaultTimeoutMs: number;
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

/** Run one validated dispatch request. */
export async function dispatch(ctx: DispatchContext, req: DispatchRequest): Promise<DispatchReply> {
  const target = compileTarget(req.tgt, req.tgt_type, { nodegroups: ctx.nodegroups });
  const targets = ctx.index.resolve(target);
  if (targets.length === 0) {
    return { ok: false, error: `No peels matched the target "${req.tgt}"` };
  }
  const now = Date.now();
  const timeout = req.timeout_ms ?? ctx.defaultTimeoutMs;
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
    status: "running",
    owner: ctx.masterId,
    created: new Date(now).toISOString(),
    updated: new Date(now).toISOString(),
    deadline: new Date(now + timeout).toISOString(),
  };
  try {
    await createJob(ctx.jobsKv, job);
  } catch (e) {
    if (isJsError(e, JS_ERRORS.wrongLastSequence)) {
      return { ok: false, error: `Job ${job.jid} already exists` };
    }
    throw e;
  }
  ctx.tracker.track(job, {
    jid: job.jid,
    fun: job.fun,
    args: job.args,
    kwargs: job.kwargs,
    timeout_ms: timeout,
    master: ctx.masterId,
  });
  ctx.nc.publish(
    subjects.jobDispatched(job.jid),
    encode({ jid: job.jid, target_count: targets.length, master: ctx.masterId, time: job.created }),
  );
  const ev: JobStatusEvent = {
    jid: job.jid,
    status: "running",
    returned: 0,
    expected: targets.length,
    time: job.created,
  };
  ctx.nc.publish(subjects.jobStatus(job.jid), encode(ev));
  ctx.log.info("job dispatched", {
    jid: job.jid,
    fun: job.fun,
    tgt: job.tgt,
    targets: targets.length,
    user: job.user,
  });
  return { ok: true, jid: job.jid, target_count: targets.length, deadline: job.deadline };
}
