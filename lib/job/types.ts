/**
 * The messages and records of the job path, each with its validator: what the CLI sends to a
 * master, what a master stores and sends to peels, and what peels send back.
 * @module
 */
import * as s from "../schema/mod.ts";
import { JID_PATTERN, PEEL_ID_PATTERN } from "../bus/subjects.ts";
import { decode, encode } from "../bus/codec.ts";

/**
 * Lifecycle of a job; the last five are terminal. A master stores a job `pending`, takes it by
 * a compare-and-set on its record (`claimed`, the write's revision becoming the owner's epoch),
 * stores it `running` before sending it to peels, and ends it.
 */
export const JOB_STATUSES = [
  "pending",
  "claimed",
  "running",
  "complete",
  "partial",
  "timeout",
  "failed",
  "canceled",
] as const;
/** One of {@linkcode JOB_STATUSES}. */
export type JobStatus = typeof JOB_STATUSES[number];

/** True for statuses after which nothing changes. */
export function isTerminal(status: JobStatus): boolean {
  return status === "complete" || status === "partial" || status === "timeout" ||
    status === "failed" || status === "canceled";
}

/** Target expression kinds (Salt's `tgt_type` names); none given means "detect it". */
export const TARGET_TYPES = [
  "glob",
  "pcre",
  "list",
  "grain",
  "grain_pcre",
  "pillar",
  "pillar_pcre",
  "ipcidr",
  "nodegroup",
  "compound",
] as const;
/** One of {@linkcode TARGET_TYPES}. */
export type TargetType = typeof TARGET_TYPES[number];

const jid = s.string({ pattern: JID_PATTERN, expected: "a KSUID job id (27 base62 characters)" });
const peelId = s.string({ pattern: PEEL_ID_PATTERN, expected: "a peel id" });
const fun = s.string({
  pattern: /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/,
  expected: "a function name such as test.ping",
});
/** Longest job timeout a master accepts: one day. */
export const MAX_TIMEOUT_MS = 24 * 3600 * 1000;
const timeoutMs = s.int({ min: 1, max: MAX_TIMEOUT_MS });
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** CLI → master on `zester.dispatch`: run `fun` on the peels matching `tgt`. */
export const DispatchRequest = s.object({
  jid,
  fun,
  args: s.optional(s.array(s.unknown(), { maxItems: 1000 }), []),
  kwargs: s.optional(s.record(s.unknown()), {}),
  tgt: s.string({ minLength: 1, maxLength: 65536, expected: "a target expression" }),
  tgt_type: s.optional(s.literal(...TARGET_TYPES)),
  /** Asked for; the master caps it (`max_job_timeout`) and picks its default when absent. */
  timeout_ms: s.optional(timeoutMs),
  user: s.optional(s.string({ maxLength: 256 }), "unknown"),
}, { strict: false });
/** A validated dispatch request. */
export type DispatchRequest = s.Infer<typeof DispatchRequest>;

/**
 * Master → CLI reply to a dispatch. It counts the targets rather than listing them (a list of
 * 100,000 ids exceeds a message); the list is in the job's record (see `readTargets`).
 */
export type DispatchReply =
  | { ok: true; jid: string; target_count: number; deadline: string }
  | { ok: false; error: string };

/** Validator for {@linkcode DispatchReply}. */
export const DispatchReplySchema: s.Schema<DispatchReply> = s.union(
  s.object({
    ok: s.transform(s.boolean(), (v, p) => {
      if (!v) throw new s.SchemaError(p, "true", v);
      return true as const;
    }),
    jid,
    target_count: s.int({ min: 1 }),
    deadline: s.string(),
  }, { strict: false }),
  s.object({
    ok: s.transform(s.boolean(), (v, p) => {
      if (v) throw new s.SchemaError(p, "false", v);
      return false as const;
    }),
    error: s.string(),
  }, { strict: false }),
);

/**
 * A job's record in the `jobs` bucket under its JID. Its id lists, which can hold 100,000 ids,
 * are stored beside it in chunks (see `job_store.ts`); the record counts them.
 */
export const JobRecord = s.object({
  jid,
  fun,
  args: s.array(s.unknown()),
  kwargs: s.record(s.unknown()),
  tgt: s.string(),
  tgt_type: s.literal(...TARGET_TYPES),
  target_count: s.int({ min: 0 }),
  user: s.string(),
  timeout_ms: timeoutMs,
  status: s.literal(...JOB_STATUSES),
  /** The master that created or owns it. */
  owner: s.string(),
  /** The revision of the owner's claim: the fencing token its later writes carry. */
  epoch: s.optional(s.int({ min: 1 })),
  created: s.string(),
  updated: s.string(),
  deadline: s.string(),
  finished: s.optional(s.string()),
  returned: s.optional(s.int({ min: 0 })),
  succeeded: s.optional(s.int({ min: 0 })),
  failed: s.optional(s.int({ min: 0 })),
  /** Returns whose outcome the peel could not know (it or its broker died while running). */
  unknown: s.optional(s.int({ min: 0 })),
  /** How many targets had not returned when the job finished; the ids are stored beside. */
  missing_count: s.optional(s.int({ min: 0 })),
  /** How many of those were not connected; the ids are stored beside. */
  absent_count: s.optional(s.int({ min: 0 })),
  /** Who canceled it (`zester job kill`). */
  canceled_by: s.optional(s.string()),
  /** The schedule entry that ran it, for a scheduled run (`user: schedule`). */
  schedule: s.optional(s.string()),
  error: s.optional(s.string()),
}, { strict: false });
/** A validated job record. */
export type JobRecord = s.Infer<typeof JobRecord>;

/**
 * A job with its id lists: the peels it targets and, once finished, those that did not return
 * and, of those, the ones not connected.
 */
export type Job = Omit<JobRecord, "target_count" | "missing_count" | "absent_count"> & {
  targets: string[];
  missing?: string[];
  absent?: string[];
};

/**
 * Master → peel on `zester.cmd.<peel-id>`. The peel runs a job it has not seen, once, and only
 * before `deadline` (the master's clock; peels keep theirs in sync); it stops the function
 * after `timeout_ms`, the budget left when the request was sent. Asked again about a job it
 * has seen, it sends the kept return again, or says it is still running it. The request's
 * reply subject is `<ack>.<peel-id>.answer` (see `ackReplySubject`): `<ack>` is where the
 * `job-returns` stream confirms the stored return, the owning master's subject for this job and
 * this peel, to which the peel appends `.<peel-id>.<ok|failed|unknown>`; it waits for nothing.
 */
export const ExecRequest = s.object({
  jid,
  fun,
  args: s.optional(s.array(s.unknown(), { maxItems: 1000 }), []),
  kwargs: s.optional(s.record(s.unknown()), {}),
  timeout_ms: timeoutMs,
  deadline: s.string({ pattern: ISO_TIME, expected: "an ISO 8601 time" }),
  master: s.optional(s.string()),
}, { strict: false });
/** A validated exec request. */
export type ExecRequest = s.Infer<typeof ExecRequest>;

/** Peel → `job-returns`, key `<jid>.<peel-id>`; read back with `readReturn`. */
export const ExecReturn = s.object({
  jid,
  peel_id: peelId,
  fun: s.string(),
  success: s.boolean(),
  result: s.optional(s.unknown()),
  error: s.optional(s.string()),
  retcode: s.optional(s.int()),
  /** What the operator should know beside the result (settings not current…). */
  warnings: s.optional(s.array(s.string(), { maxItems: 64 })),
  /** `unknown` when the peel or its broker died while running: it may or may not have acted. */
  outcome: s.optional(s.literal("unknown")),
  started: s.string(),
  duration_ms: s.number({ min: 0 }),
}, { strict: false });
/** A validated return. */
export type ExecReturn = s.Infer<typeof ExecReturn>;

/**
 * Peel → masters on `zester.schedule.<peel-id>`: a scheduled run with `return_job`, whose
 * return the peel has stored in `job-returns`; a master records it as a finished job of user
 * `schedule` targeting that peel. Sent until a master confirms, so a run while NATS was away
 * appears once it is back.
 */
export const ScheduleReport = s.object({
  jid,
  peel_id: peelId,
  schedule: s.string({ minLength: 1, maxLength: 256 }),
  fun,
  args: s.array(s.unknown(), { maxItems: 1000 }),
  kwargs: s.record(s.unknown()),
  timeout_ms: timeoutMs,
}, { strict: false });
/** A validated schedule report. */
export type ScheduleReport = s.Infer<typeof ScheduleReport>;

/** Master → anyone on `zester.job.<jid>.status`: one per transition, kept in `job-events`. */
export const JobStatusEvent = s.object({
  jid,
  status: s.literal(...JOB_STATUSES),
  returned: s.int({ min: 0 }),
  expected: s.int({ min: 0 }),
  owner: s.optional(s.string()),
  epoch: s.optional(s.int({ min: 1 })),
  time: s.string(),
}, { strict: false });
/** A validated status event. */
export type JobStatusEvent = s.Infer<typeof JobStatusEvent>;

/**
 * Master → anyone on `zester.job.<jid>.absent`: targets that were not connected when the job
 * was sent to them. The job waits for them only a reconnect's time; one that connects while it
 * runs still runs it.
 */
export const AbsentEvent = s.object({
  jid,
  peels: s.array(peelId, { maxItems: 4096 }),
  time: s.string(),
}, { strict: false });
/** A validated absent event. */
export type AbsentEvent = s.Infer<typeof AbsentEvent>;

/** CLI → masters on `zester.jobs.kill`: cancel a job; peels stop its function. */
export const KillRequest = s.object({
  jid,
  user: s.optional(s.string({ maxLength: 256 }), "unknown"),
}, { strict: false });
/** A validated kill request. */
export type KillRequest = s.Infer<typeof KillRequest>;

/**
 * Master → anyone on `zester.job.<jid>.cancel`: the job is canceled. Peels running it stop its
 * function; its owner ends it `canceled`, keeping the returns it has.
 */
export const CancelEvent = s.object({
  jid,
  user: s.string(),
  time: s.string(),
}, { strict: false });
/** A validated cancel event. */
export type CancelEvent = s.Infer<typeof CancelEvent>;

/**
 * CLI → masters on `zester.jobs.find`: which targets still run a job (Salt's `find_job`)? The
 * owner asks every target that has not returned and answers with how many said they are.
 */
export const FindRequest = s.object({ jid }, { strict: false });
/** A validated find request. */
export type FindRequest = s.Infer<typeof FindRequest>;

/** The owner's answer to a {@linkcode FindRequest}. */
export const FindReply = s.object({
  jid,
  running: s.int({ min: 0 }),
  returned: s.int({ min: 0 }),
  expected: s.int({ min: 0 }),
}, { strict: false });
/** A validated find reply. */
export type FindReply = s.Infer<typeof FindReply>;

/** A peel's fact snapshot on `zester.fact.<peel-id>`, stored in `facts` under the peel id. */
export const FactsMessage = s.object({
  peel_id: peelId,
  facts: s.record(s.unknown()),
  /** The peel's compiled settings, before secrets are resolved: what `I@`/`J@` match. */
  settings: s.optional(s.record(s.unknown())),
  collected: s.string(),
}, { strict: false });
/** A validated facts message. */
export type FactsMessage = s.Infer<typeof FactsMessage>;

/**
 * The outcome of a job once every target returned or its deadline passed. A return whose
 * outcome is unknown is neither a success nor a failure: the job is `partial`.
 */
export function finalStatus(
  expected: number,
  returned: number,
  failed: number,
  unknown = 0,
): Extract<JobStatus, "complete" | "partial" | "timeout" | "failed"> {
  if (expected > 0 && returned === 0) return "timeout";
  if (returned < expected) return "partial";
  if (failed > 0) return "failed";
  return unknown > 0 ? "partial" : "complete";
}

/**
 * A peel's answer to an ExecRequest for a job it is still running (the request's reply
 * subject; see `ACK_KINDS`).
 */
export const RUNNING_ANSWER: Uint8Array = encode({ running: true });

/** True when `data` is {@linkcode RUNNING_ANSWER}. */
export function isRunningAnswer(data: Uint8Array): boolean {
  try {
    return (decode(data) as { running?: unknown } | null)?.running === true;
  } catch {
    return false;
  }
}
