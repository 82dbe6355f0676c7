/**
 * Every NATS subject Zester uses, built in one place so that permissions, subscriptions and
 * publishers agree. Ids that go into a subject token are validated first: a peel id or JID
 * containing `.`, `*`, `>` or whitespace could otherwise address other peels' subjects.
 *
 * @example
 * ```ts
 * import { subjects } from "./subjects.ts";
 * subjects.cmd("web-01"); // "zester.cmd.web-01"
 * ```
 * @module
 */

/** Peel ids: start alphanumeric, then alphanumerics, `_` or `-`; at most 128 characters. */
export const PEEL_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}$/;
/** Job ids are KSUIDs: 27 base62 characters. */
export const JID_PATTERN = /^[0-9A-Za-z]{27}$/;

/** A literal subject (no wildcards) that stream acks may be sent to. */
export const ACK_SUBJECT_PATTERN = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

/** True when `id` is a valid peel id. */
export function isPeelId(id: unknown): id is string {
  return typeof id === "string" && PEEL_ID_PATTERN.test(id);
}

function peel(id: string): string {
  if (!isPeelId(id)) throw new TypeError(`Invalid peel id ${JSON.stringify(id)}`);
  return id;
}

function jid(id: string): string {
  if (!JID_PATTERN.test(id)) throw new TypeError(`Invalid job id ${JSON.stringify(id)}`);
  return id;
}

/** The KV bucket peels write their returns into (declared with the others in `storage.ts`). */
export const JOB_RETURNS_BUCKET = "job-returns";

/**
 * The inbox prefix of the NATS user with public key `userKey`: replies to its requests and its
 * JetStream deliveries go under it, and its permissions let only it subscribe there.
 */
export function inboxPrefix(userKey: string): string {
  if (!/^U[A-Z2-7]{55}$/.test(userKey)) throw new TypeError(`Invalid user key "${userKey}"`);
  return `_INBOX_${userKey}`;
}

/** Queue group shared by all masters, so each request reaches exactly one. */
export const MASTER_QUEUE = "zester.masters";

/** Subject builders and the wildcards daemons subscribe to. */
export const subjects = {
  /** CLI → masters: create and run a job (request/reply, queue group). */
  dispatch: "zester.dispatch",
  /** CLI → masters: resolve a target expression to peel ids (request/reply, queue group). */
  targetResolve: "zester.target.resolve",
  /** Master → one peel: an ExecRequest. */
  cmd: (peelId: string): string => `zester.cmd.${peel(peelId)}`,
  /** Every peel's command subject. */
  cmdAll: "zester.cmd.*",
  /**
   * Peel → `job-returns`: a return for one job, written by the peel itself as the bucket's key
   * `<jid>.<peel-id>`. The stream's ack goes to the owning master (see `returnAckSubject`); the
   * CLI following the job sees the return itself live.
   */
  jobReturn: (j: string, peelId: string): string =>
    `$KV.${JOB_RETURNS_BUCKET}.${jid(j)}.${peel(peelId)}`,
  /** All returns of one job. */
  jobReturns: (j: string): string => `$KV.${JOB_RETURNS_BUCKET}.${jid(j)}.*`,
  /** All returns of all jobs. */
  jobReturnAll: `$KV.${JOB_RETURNS_BUCKET}.*.*`,
  /** Master → anyone: a job's status changes. */
  jobStatus: (j: string): string => `zester.job.${jid(j)}.status`,
  /** Master audit event: ExecRequests for a job went out. */
  jobDispatched: (j: string): string => `zester.job.${jid(j)}.dispatch`,
  /** Master → anyone: targets of a job that were not connected when it was sent. */
  jobAbsent: (j: string): string => `zester.job.${jid(j)}.absent`,
  /** Master → peels and masters: a job is canceled; peels running it stop its function. */
  jobCancel: (j: string): string => `zester.job.${jid(j)}.cancel`,
  /** Every job's cancel subject, which peels and masters follow. */
  jobCancelAll: "zester.job.*.cancel",
  /** CLI → masters: cancel a job (request/reply, queue group). */
  jobsKill: "zester.jobs.kill",
  /**
   * CLI → every master: which targets still run a job (request/reply; only its owner answers).
   * Outside `zester.job.>`, whose stream would answer a request with its own ack.
   */
  jobsFind: "zester.jobs.find",
  /** Everything about one job. */
  job: (j: string): string => `zester.job.${jid(j)}.>`,
  /** Everything about every job (the `job-events` stream). */
  jobAll: "zester.job.>",
  /**
   * Peel → masters: a scheduled run whose return the peel stored, to record as a job
   * (request/reply, queue group).
   */
  scheduleReport: (peelId: string): string => `zester.schedule.${peel(peelId)}`,
  /** Every peel's schedule report subject. */
  scheduleReportAll: "zester.schedule.*",
  /** Peel → masters: a fact snapshot. */
  fact: (peelId: string): string => `zester.fact.${peel(peelId)}`,
  /** Every peel's fact subject. */
  factAll: "zester.fact.*",
  /** Admin CLI → masters: list, show, accept, reject or revoke enrollments (request/reply). */
  adminEnroll: (op: string): string => `zester.admin.enroll.${op}`,
  /** Every enrollment admin subject, which masters serve. */
  adminEnrollAll: "zester.admin.enroll.*",
} as const;

/** Split a return's subject `$KV.job-returns.<jid>.<peel-id>` into its ids, or `undefined`. */
export function parseReturnSubject(subject: string): { jid: string; peelId: string } | undefined {
  const parts = subject.split(".");
  if (parts.length !== 4 || parts[0] !== "$KV" || parts[1] !== JOB_RETURNS_BUCKET) return undefined;
  const [, , j, p] = parts;
  if (!j || !p || !JID_PATTERN.test(j) || !isPeelId(p)) return undefined;
  return { jid: j, peelId: p };
}

/** The secret token in a peel's ack subject: 16 hex digits, different for every peel and job. */
const ACK_TOKEN_PATTERN = /^[0-9a-f]{16}$/;

/**
 * Where the stream acks one peel's return of one job: `<prefix>.<jid>.<token>`, under the owning
 * master's inbox `prefix`. The token is sent to that peel alone, so no other peel can claim its
 * return; the peel replies on `<ack>.<peel-id>.<ok|failed>`, so the master learns from the
 * confirmation alone who returned and whether it succeeded.
 */
export function returnAckSubject(prefix: string, j: string, token: string): string {
  if (!ACK_TOKEN_PATTERN.test(token)) throw new TypeError(`Invalid ack token "${token}"`);
  return `${prefix}.${jid(j)}.${token}`;
}

/**
 * What reaches a master under a peel's ack subject: the stream's confirmation of a return that
 * succeeded (`ok`), failed, or whose outcome is `unknown` (the peel or its broker died while
 * running); and, as the reply subject of the ExecRequest itself, its `answer`: the peel saying
 * it is still running the job, or the server's "no responders" when the peel is not connected.
 * A peel that may only respond to the requests it gets can send that answer.
 */
export const ACK_KINDS = ["ok", "failed", "unknown", "answer"] as const;
/** One of {@linkcode ACK_KINDS}. */
export type AckKind = typeof ACK_KINDS[number];

/** The reply subject a peel gives its return: `ack` plus its id and outcome. */
export function returnReplySubject(ack: string, peelId: string, success: boolean): string {
  return ackReplySubject(ack, peelId, success ? "ok" : "failed");
}

/** `ack` plus the peel's id and what the message says (see {@linkcode ACK_KINDS}). */
export function ackReplySubject(ack: string, peelId: string, kind: AckKind): string {
  return `${ack}.${peel(peelId)}.${kind}`;
}

/**
 * The ack subject of an ExecRequest from its reply subject, `<ack>.<peel-id>.answer` (see
 * {@linkcode ackReplySubject}): sent once, as the reply, not again in the request. `undefined`
 * for a reply of another form.
 *
 * @example
 * ```ts
 * ackOfRequest("_INBOX.x.j.0123456789abcdef.web-01.answer", "web-01"); // "_INBOX.x.j.0123456789abcdef"
 * ```
 */
export function ackOfRequest(reply: string | undefined, peelId: string): string | undefined {
  const suffix = `.${peelId}.answer`;
  if (!reply?.endsWith(suffix)) return undefined;
  const ack = reply.slice(0, -suffix.length);
  return ack.length <= 200 && ACK_SUBJECT_PATTERN.test(ack) ? ack : undefined;
}

/** Split an ack subject `<prefix>.<jid>.<token>.<peel-id>.<kind>`, or `undefined`. */
export function parseReturnAckSubject(
  prefix: string,
  subject: string,
): { jid: string; token: string; peelId: string; kind: AckKind } | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  const parts = subject.slice(prefix.length + 1).split(".");
  if (parts.length !== 4) return undefined;
  const [j, token, p, kind] = parts;
  if (!j || !token || !p || !JID_PATTERN.test(j) || !isPeelId(p)) return undefined;
  if (!(ACK_KINDS as readonly string[]).includes(kind!)) return undefined;
  return { jid: j, token, peelId: p, kind: kind as AckKind };
}

/** The peel id of a `zester.fact.<peel-id>` subject, or `undefined`. */
export function parseFactSubject(subject: string): string | undefined {
  return peelOf(subject, "fact");
}

/** The peel id of a `zester.schedule.<peel-id>` subject, or `undefined`. */
export function parseScheduleSubject(subject: string): string | undefined {
  return peelOf(subject, "schedule");
}

function peelOf(subject: string, kind: string): string | undefined {
  const parts = subject.split(".");
  if (parts.length !== 3 || parts[0] !== "zester" || parts[1] !== kind) return undefined;
  return isPeelId(parts[2]) ? parts[2] : undefined;
}
