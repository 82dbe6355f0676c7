/**
 * The messages and records of the job path, each with its validator: what the CLI sends to a
 * master, what a master stores and sends to peels, and what peels send back.
 * @module
 */
import * as s from "../schema/mod.ts";
import { ACK_SUBJECT_PATTERN, JID_PATTERN, PEEL_ID_PATTERN } from "../bus/subjects.ts";

/** Lifecycle of a job; the last five are terminal. */
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

/** CLI → master on `zester.dispatch`: run `fun` on the peels matching `tgt`. */
export const DispatchRequest = s.object({
  jid,
  fun,
  args: s.optional(s.array(s.unknown(), { maxItems: 1000 }), []),
  kwargs: s.optional(s.record(s.unknown()), {}),
  tgt: s.string({ minLength: 1, maxLength: 65536, expected: "a target expression" }),
  tgt_type: s.optional(s.literal(...TARGET_TYPES)),
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
  owner: s.string(),
  created: s.string(),
  updated: s.string(),
  deadline: s.string(),
  finished: s.optional(s.string()),
  returned: s.optional(s.int({ min: 0 })),
  succeeded: s.optional(s.int({ min: 0 })),
  failed: s.optional(s.int({ min: 0 })),
  /** How many targets had not returned when the job finished; the ids are stored beside. */
  missing_count: s.optional(s.int({ min: 0 })),
  error: s.optional(s.string()),
}, { strict: false });
/** A validated job record. */
export type JobRecord = s.Infer<typeof JobRecord>;

/** A job with its id lists: the peels it targets and, once finished, those that did not return. */
export type Job = Omit<JobRecord, "target_count" | "missing_count"> & {
  targets: string[];
  missing?: string[];
};

/** Master → peel on `zester.cmd.<peel-id>`. The peel applies `timeout_ms` on its own clock. */
export const ExecRequest = s.object({
  jid,
  fun,
  args: s.optional(s.array(s.unknown(), { maxItems: 1000 }), []),
  kwargs: s.optional(s.record(s.unknown()), {}),
  timeout_ms: s.optional(timeoutMs, 60_000),
  master: s.optional(s.string()),
  /**
   * Where the `job-returns` stream confirms the stored return: the owning master's subject for
   * this job and this peel (see `returnAckSubject`), to which the peel appends
   * `.<peel-id>.<ok|failed>`. The peel itself waits for nothing.
   */
  ack: s.string({ pattern: ACK_SUBJECT_PATTERN, maxLength: 200, expected: "a reply subject" }),
  /** Only send the return again if this job already ran here; never run it. */
  resend: s.optional(s.boolean()),
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
  started: s.string(),
  duration_ms: s.number({ min: 0 }),
}, { strict: false });
/** A validated return. */
export type ExecReturn = s.Infer<typeof ExecReturn>;

/** Master → anyone on `zester.job.<jid>.status`. */
export const JobStatusEvent = s.object({
  jid,
  status: s.literal(...JOB_STATUSES),
  returned: s.int({ min: 0 }),
  expected: s.int({ min: 0 }),
  time: s.string(),
}, { strict: false });
/** A validated status event. */
export type JobStatusEvent = s.Infer<typeof JobStatusEvent>;

/** A peel's fact snapshot on `zester.fact.<peel-id>`, stored in `facts` under the peel id. */
export const FactsMessage = s.object({
  peel_id: peelId,
  facts: s.record(s.unknown()),
  collected: s.string(),
}, { strict: false });
/** A validated facts message. */
export type FactsMessage = s.Infer<typeof FactsMessage>;

/** The outcome of a job once every target returned or its deadline passed. */
export function finalStatus(
  expected: number,
  returned: number,
  failed: number,
): Extract<JobStatus, "complete" | "partial" | "timeout" | "failed"> {
  if (expected > 0 && returned === 0) return "timeout";
  if (returned < expected) return "partial";
  return failed > 0 ? "failed" : "complete";
}
