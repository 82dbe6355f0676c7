/**
 * Serves `zester.jobs.kill` in queue group `zester.masters`: a job that is not finished is
 * canceled by an event on `zester.job.<jid>.cancel`, which peels running it follow (they stop
 * its function) and which its owner follows (it ends the job `canceled`, keeping the returns
 * that came). Kept in `job-events`, so a master adopting the job later knows it too.
 * @module
 */
import type { KV, NatsConnection, Subscription } from "nats";
import { MASTER_QUEUE, serve, subjects } from "../lib/bus/mod.ts";
import { isTerminal, KillRequest, readJobRecord } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import type { JobEvents } from "./job_events.ts";

/** The answer to a kill request. */
export type KillReply = { ok: true; jid: string } | { ok: false; error: string };

/** Serve job kills until the connection drains. */
export function serveJobKill(
  nc: NatsConnection,
  jobsKv: KV,
  events: JobEvents,
  log: Logger,
): Subscription {
  return serve(nc, {
    subject: subjects.jobsKill,
    queue: MASTER_QUEUE,
    schema: KillRequest,
    log,
    handle: async (req): Promise<KillReply> => {
      const record = await readJobRecord(jobsKv, req.jid);
      if (!record) return { ok: false, error: `Job "${req.jid}" not found` };
      if (isTerminal(record.status)) {
        return { ok: false, error: `Job ${req.jid} already ended: ${record.status}` };
      }
      await events.cancel(req.jid, req.user);
      log.info("job kill requested", { jid: req.jid, user: req.user });
      return { ok: true, jid: req.jid };
    },
  });
}
