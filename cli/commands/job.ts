/**
 * `zester job list` and `zester job show <jid>`: read job records and returns straight from KV.
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, JID_PATTERN } from "../../lib/bus/mod.ts";
import { formatDuration } from "../../lib/config/mod.ts";
import {
  type ExecReturn,
  type Job,
  jobIds,
  type JobRecord,
  readJob,
  readJobRecord,
  readReturns,
} from "../../lib/job/mod.ts";
import { type Format, serialize, table } from "../output/mod.ts";
import { returnRecord } from "./run.ts";

/** Job records (with counts, not id lists), newest first, at most `limit`. */
export async function listJobs(nc: NatsConnection, limit: number): Promise<JobRecord[]> {
  const kv = await nc.jetstream().views.kv(BUCKETS.jobs.name, { bindOnly: true });
  const jids = (await jobIds(kv)).sort().reverse().slice(0, limit);
  const jobs: JobRecord[] = [];
  for (const jid of jids) {
    try {
      const record = await readJobRecord(kv, jid);
      if (record) jobs.push(record);
    } catch {
      // A record this CLI cannot read is skipped rather than hiding the rest.
    }
  }
  // KSUIDs order by the second; within one second, order by creation time.
  return jobs.sort((a, b) => b.created.localeCompare(a.created));
}

/** Render a job list. */
export function renderJobList(jobs: JobRecord[], format: Format): string {
  if (format !== "text") return serialize(jobs, format);
  if (jobs.length === 0) return "No jobs found.";
  return table(
    ["JID", "FUNCTION", "TARGET", "STATE", "RETURNED", "CREATED"],
    jobs.map((j) => [
      j.jid,
      j.fun,
      j.tgt,
      j.status,
      `${j.returned ?? 0}/${j.target_count}`,
      j.created,
    ]),
  );
}

/** One job and its returns. */
export interface JobDetail {
  job: Job;
  returns: Map<string, ExecReturn>;
}

/** Read one job and its returns; throws when the JID is malformed or unknown. */
export async function showJob(nc: NatsConnection, jid: string): Promise<JobDetail> {
  if (!JID_PATTERN.test(jid)) {
    throw new TypeError(`Invalid job id "${jid}": expected 27 base62 characters`);
  }
  const js = nc.jetstream();
  const job = await readJob(await js.views.kv(BUCKETS.jobs.name, { bindOnly: true }), jid);
  if (!job) throw new Error(`Job "${jid}" not found`);
  const returnsKv = await js.views.kv(BUCKETS.jobReturns.name, { bindOnly: true });
  return { job, returns: await readReturns(returnsKv, jid) };
}

/** Render `job show`: the job record as JSON, then a returns table. */
export function renderJobDetail(d: JobDetail, format: Format): string {
  if (format !== "text") {
    const returns: Record<string, unknown> = {};
    for (const id of d.job.targets) returns[id] = returnRecord(d.returns.get(id));
    return serialize({ job: d.job, returns }, format);
  }
  const rows = d.job.targets.map((id) => {
    const r = d.returns.get(id);
    if (!r) return [id, "-", "-", "-", "did not return"];
    return [
      id,
      String(r.success),
      formatDuration(r.duration_ms),
      r.retcode === undefined ? "-" : String(r.retcode),
      r.error ?? "",
    ];
  });
  return [
    JSON.stringify(d.job, null, 2),
    "",
    "Returns:",
    table(["PEEL", "SUCCESS", "DURATION", "RETCODE", "ERROR"], rows),
  ].join("\n");
}
