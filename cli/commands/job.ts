/**
 * `zester job list` and `zester job show <jid>`: read job records and returns straight from KV.
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, decode, JID_PATTERN, openBucket } from "../../lib/bus/mod.ts";
import { formatDuration } from "../../lib/config/mod.ts";
import { type ExecReturn, getReturn, Job } from "../../lib/job/mod.ts";
import { type Format, serialize, table } from "../output/mod.ts";
import { returnRecord } from "./run.ts";

/** Every job record still in the `jobs` bucket, newest first, at most `limit`. */
export async function listJobs(nc: NatsConnection, limit: number): Promise<Job[]> {
  const kv = await openBucket(nc, BUCKETS.jobs);
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  keys.sort().reverse();
  const jobs: Job[] = [];
  for (const k of keys.slice(0, limit)) {
    const e = await kv.get(k);
    if (!e || e.operation !== "PUT") continue;
    try {
      jobs.push(Job.parse(decode(e.value)));
    } catch {
      // A record this CLI cannot read is skipped rather than hiding the rest.
    }
  }
  // KSUIDs order by the second; within one second, order by creation time.
  return jobs.sort((a, b) => b.created.localeCompare(a.created));
}

/** Render a job list. */
export function renderJobList(jobs: Job[], format: Format): string {
  if (format !== "text") return serialize(jobs, format);
  if (jobs.length === 0) return "No jobs found.";
  return table(
    ["JID", "FUNCTION", "TARGET", "STATE", "RETURNED", "CREATED"],
    jobs.map((j) => [
      j.jid,
      j.fun,
      j.tgt,
      j.status,
      `${j.returned ?? 0}/${j.targets.length}`,
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
  const jobs = await openBucket(nc, BUCKETS.jobs);
  const e = await jobs.get(jid);
  if (!e || e.operation !== "PUT") throw new Error(`Job "${jid}" not found`);
  const job = Job.parse(decode(e.value));
  const returnsKv = await openBucket(nc, BUCKETS.jobReturns);
  const returns = new Map<string, ExecReturn>();
  await Promise.all(job.targets.map(async (id) => {
    const ret = await getReturn(returnsKv, jid, id);
    if (ret) returns.set(id, ret);
  }));
  return { job, returns };
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
