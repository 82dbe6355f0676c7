/**
 * Serves `zester.schedule.<peel-id>` in queue group `zester.masters`: records a peel's scheduled
 * run (an entry with `return_job`) as a finished job, so it shows in `zester job list|show` with
 * `user: schedule`. The peel stores the return itself first; the record is made from that stored
 * return, never from what the report claims about the outcome, and only for the peel whose
 * subject the report came on. Reports are repeated until one is answered: a job recorded
 * already is confirmed again.
 * @module
 */
import type { KV, NatsConnection, Subscription } from "nats";
import {
  isJsError,
  JS_ERRORS,
  MASTER_QUEUE,
  parseScheduleSubject,
  serve,
  subjects,
} from "../lib/bus/mod.ts";
import {
  createJob,
  finalStatus,
  forgetActive,
  getReturn,
  type Job,
  returnOutcome,
  ScheduleReport,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import type { JobEvents } from "./job_events.ts";

/** What recording scheduled runs needs from the master. */
export interface ScheduleReportContext {
  nc: NatsConnection;
  jobsKv: KV;
  returnsKv: KV;
  events: JobEvents;
  masterId: string;
  log: Logger;
}

/** Serve schedule reports until the connection drains. */
export function serveScheduleReports(ctx: ScheduleReportContext): Subscription {
  return serve(ctx.nc, {
    subject: subjects.scheduleReportAll,
    queue: MASTER_QUEUE,
    schema: ScheduleReport,
    log: ctx.log,
    handle: async (report, msg) => {
      if (parseScheduleSubject(msg.subject) !== report.peel_id) {
        throw new Error(
          `A scheduled run of "${report.peel_id}" arrived on ${msg.subject}: a peel may only report its own`,
        );
      }
      await recordScheduledRun(ctx, report);
      return { ok: true };
    },
  });
}

async function recordScheduledRun(ctx: ScheduleReportContext, report: ScheduleReport) {
  const { jid, peel_id: peel } = report;
  const ret = await getReturn(ctx.returnsKv, jid, peel);
  if (!ret) throw new Error(`No return of scheduled job ${jid} from "${peel}" is stored`);
  if (ret.fun !== report.fun) {
    throw new Error(`The stored return of ${jid} is of ${ret.fun}, not ${report.fun}`);
  }
  const outcome = returnOutcome(ret);
  const failed = outcome === "failed" ? 1 : 0;
  const unknown = outcome === "unknown" ? 1 : 0;
  const started = Date.parse(ret.started);
  const now = new Date().toISOString();
  const job: Job = {
    jid,
    fun: report.fun,
    args: report.args,
    kwargs: report.kwargs,
    tgt: peel,
    tgt_type: "list",
    targets: [peel],
    user: "schedule",
    schedule: report.schedule,
    timeout_ms: report.timeout_ms,
    status: finalStatus(1, 1, failed, unknown),
    owner: ctx.masterId,
    created: ret.started,
    updated: now,
    deadline: new Date(started + report.timeout_ms).toISOString(),
    finished: new Date(started + Math.ceil(ret.duration_ms)).toISOString(),
    returned: 1,
    succeeded: 1 - failed - unknown,
    failed,
    unknown,
  };
  try {
    await createJob(ctx.jobsKv, job);
  } catch (e) {
    if (isJsError(e, JS_ERRORS.wrongLastSequence)) return;
    throw e;
  }
  await forgetActive(ctx.jobsKv, jid);
  await ctx.events.status(job, 1);
  ctx.log.info("scheduled run recorded", { jid, peel_id: peel, schedule: report.schedule });
}
