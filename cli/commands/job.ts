/**
 * `zester job list|show|active|kill|wait`: read job records and returns straight from KV, and
 * cancel or follow a job through the masters.
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, decode, encode, JID_PATTERN, openBucket, subjects } from "../../lib/bus/mod.ts";
import { formatDuration } from "../../lib/config/mod.ts";
import {
  activeJobIds,
  type ExecReturn,
  isTerminal,
  type Job,
  jobIds,
  type JobRecord,
  type JobStatus,
  ksuidTime,
  readJob,
  readJobRecord,
  readReturns,
} from "../../lib/job/mod.ts";
import { compileGlob } from "../../lib/target/mod.ts";
import { type Format, isText, serialize, table } from "../output/mod.ts";
import { noReturn, renderReturns, returnRecord } from "../output/returns.ts";
import { JobFollower } from "./follow.ts";
import { outcomeOf, type RunOutcome } from "./run.ts";

/** Which jobs `job list` shows. */
export interface JobFilter {
  status?: JobStatus;
  /** A glob on the function name. */
  fun?: string;
  /** A glob on the target expression. */
  target?: string;
  /** Only jobs created at or after this time (milliseconds since the epoch). */
  since?: number;
  limit: number;
}

async function jobsKv(nc: NatsConnection) {
  return await openBucket(nc, BUCKETS.jobs);
}

async function readRecords(nc: NatsConnection, jids: string[]): Promise<JobRecord[]> {
  const kv = await jobsKv(nc);
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

/** Job records (with counts, not id lists), newest first, as `filter` selects them. */
export async function listJobs(nc: NatsConnection, filter: JobFilter): Promise<JobRecord[]> {
  const fun = filter.fun === undefined ? undefined : compileGlob(filter.fun);
  const target = filter.target === undefined ? undefined : compileGlob(filter.target);
  // KSUIDs carry their second: jobs older than `since` are skipped without reading them.
  const since = filter.since === undefined ? undefined : Math.floor(filter.since / 1000) * 1000;
  const jids = (await jobIds(await jobsKv(nc)))
    .filter((jid) => since === undefined || ksuidTime(jid) >= since)
    .sort().reverse();
  const out: JobRecord[] = [];
  for (let i = 0; i < jids.length && out.length < filter.limit; i += filter.limit) {
    for (const j of await readRecords(nc, jids.slice(i, i + filter.limit))) {
      if (filter.status !== undefined && j.status !== filter.status) continue;
      if (fun && !fun(j.fun)) continue;
      if (target && !target(j.tgt)) continue;
      if (filter.since !== undefined && Date.parse(j.created) < filter.since) continue;
      if (out.length < filter.limit) out.push(j);
    }
  }
  return out;
}

/** The jobs not ended yet, newest first. */
export async function activeJobs(nc: NatsConnection): Promise<JobRecord[]> {
  const records = await readRecords(nc, await activeJobIds(await jobsKv(nc)));
  return records.filter((j) => !isTerminal(j.status));
}

/** Render a job list. */
export function renderJobList(jobs: JobRecord[], format: Format): string {
  if (!isText(format)) return serialize(jobs, format);
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

function checkJid(jid: string): void {
  if (!JID_PATTERN.test(jid)) {
    throw new TypeError(`Invalid job id "${jid}": expected 27 base62 characters`);
  }
}

/** Read one job and its returns; throws when the JID is malformed or unknown. */
export async function showJob(nc: NatsConnection, jid: string): Promise<JobDetail> {
  checkJid(jid);
  const job = await readJob(await jobsKv(nc), jid);
  if (!job) throw new Error(`Job "${jid}" not found`);
  const returnsKv = await openBucket(nc, BUCKETS.jobReturns);
  return { job, returns: await readReturns(returnsKv, jid) };
}

/** Render `job show`: the job, a table of its returns, then what each peel returned. */
export function renderJobDetail(d: JobDetail, format: Format): string {
  const why = noReturn(new Set(d.job.absent), isTerminal(d.job.status));
  if (!isText(format)) {
    const returns: Record<string, unknown> = {};
    for (const id of d.job.targets) returns[id] = returnRecord(d.returns.get(id), why(id));
    return serialize({ job: d.job, returns }, format);
  }
  const j = d.job;
  const counts = j.returned === undefined
    ? `${d.returns.size}/${j.targets.length}`
    : `${j.returned}/${j.targets.length} (${j.succeeded ?? 0} succeeded, ${j.failed ?? 0} failed${
      j.unknown ? `, ${j.unknown} unknown` : ""
    })`;
  const fields: [string, string | undefined][] = [
    ["JID", j.jid],
    ["Function", j.fun],
    [
      "Arguments",
      JSON.stringify([
        ...j.args,
        ...Object.entries(j.kwargs).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
      ]),
    ],
    ["Target", `${j.tgt} (${j.tgt_type})`],
    ["User", j.user],
    ["Schedule", j.schedule],
    ["Status", j.status],
    ["Owner", j.epoch === undefined ? j.owner : `${j.owner} (epoch ${j.epoch})`],
    ["Created", j.created],
    ["Deadline", j.deadline],
    ["Finished", j.finished],
    ["Returned", counts],
    ["Canceled by", j.canceled_by],
    ["Error", j.error],
  ];
  const rows = j.targets.map((id) => {
    const r = d.returns.get(id);
    if (!r) {
      return [id, "-", "-", "-", why(id) === "Still running" ? "still running" : "did not return"];
    }
    return [
      id,
      String(r.success),
      formatDuration(r.duration_ms),
      r.retcode === undefined ? "-" : String(r.retcode),
      r.error ?? "",
    ];
  });
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  return [
    ...fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`),
    "",
    table(["PEEL", "SUCCESS", "DURATION", "RETCODE", "ERROR"], rows),
    "",
    renderReturns(j.targets, d.returns, why, format),
  ].join("\n");
}

/**
 * Render what `job wait` saw: every return at once; the targets without one are still running
 * it when the job has not ended.
 */
export function renderWaited(o: RunOutcome, format: Format): string {
  return renderReturns(o.targets, o.returns, noReturn(o.absent, o.ended), format);
}

/** Ask the masters to cancel job `jid`; throws with their reason when it cannot be. */
export async function killJob(nc: NatsConnection, jid: string, user: string): Promise<void> {
  checkJid(jid);
  const m = await nc.request(subjects.jobsKill, encode({ jid, user }), { timeout: 10_000 });
  const reply = decode(m.data) as { ok?: boolean; error?: string };
  if (reply?.ok !== true) throw new Error(reply?.error ?? "Malformed reply to the kill request");
}

/**
 * Follow job `jid` until it ends, or for at most `maxMs`; what was seen of it. Throws when the
 * JID is malformed or unknown.
 */
export async function waitJob(
  nc: NatsConnection,
  jid: string,
  maxMs: number,
): Promise<RunOutcome & { job: Job }> {
  checkJid(jid);
  const f = await JobFollower.start(nc, jid);
  try {
    const kv = await jobsKv(nc);
    const started = await readJob(kv, jid);
    if (!started) throw new Error(`Job "${jid}" not found`);
    await f.refresh();
    await f.until(() => f.ended, maxMs);
    const job = f.ended ? (await readJob(kv, jid))! : started;
    for (const id of job.absent ?? []) if (!f.returns.has(id)) f.absent.add(id);
    return { ...await outcomeOf(f, job.targets), job };
  } finally {
    f.stop();
  }
}
