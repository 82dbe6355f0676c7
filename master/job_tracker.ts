/**
 * Sends the ExecRequests of the jobs this master owns and watches them. Each peel writes its
 * return into `job-returns` itself, with its ExecRequest's `ack` subject as reply: the stream's
 * confirmation comes to the master, and its subject says which peel returned and whether it
 * succeeded. So the master counts stored returns without receiving the returns, and no return
 * costs its peel a round trip. Each peel's `ack` holds a random token sent to that peel alone: a
 * peel cannot confirm another peel's return.
 *
 * A job completes when every target's return is confirmed, and is finalized then or at its
 * deadline. Until then, rounds with growing gaps ask peels not yet confirmed to send their
 * return again (`resend`, which never runs a job twice); at the deadline, returns that were
 * stored but whose confirmation never arrived are read back. A return the stream refuses fails
 * the job, naming it.
 * @module
 */
import { createInbox, type KV, type Msg, type NatsConnection, type Subscription } from "nats";
import {
  encode,
  parseReturnAckSubject,
  pubAckRefusal,
  returnAckSubject,
  subjects,
} from "../lib/bus/mod.ts";
import {
  type ExecRequest,
  finalStatus,
  getReturn,
  type Job,
  type JobStatus,
  type JobStatusEvent,
  updateJob,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";

interface Tracked {
  job: Job;
  exec: Omit<ExecRequest, "ack">;
  /** Each target's ack token. */
  tokens: Map<string, string>;
  /** Peels whose return `job-returns` has stored, and whether each succeeded. */
  stored: Map<string, boolean>;
  /** Peels whose return `job-returns` refused, and why. */
  refused: Map<string, string>;
  deadline: ReturnType<typeof setTimeout>;
  repair: ReturnType<typeof setTimeout> | undefined;
  repairGapMs: number;
  finalizing: boolean;
}

/** How long a finished job's returns are still recognized (and logged) as late. */
const LATE_WINDOW_MS = 10 * 60_000;
/** The first repair round runs this long after dispatch; each later one waits twice as long. */
const FIRST_REPAIR_MS = 2_000;
/** Stored returns read back at once when their confirmations were lost. */
const READ_BACK_BATCH = 64;

/** Bytes `getRandomValues` gives in one call. */
const ENTROPY_LIMIT = 65_536;

/** A random 64-bit hex token per peel, drawn in as many calls as the entropy limit needs. */
function ackTokens(peels: string[]): Map<string, string> {
  const bytes = new Uint8Array(peels.length * 8);
  for (let at = 0; at < bytes.length; at += ENTROPY_LIMIT) {
    crypto.getRandomValues(bytes.subarray(at, at + ENTROPY_LIMIT));
  }
  const tokens = new Map<string, string>();
  peels.forEach((id, i) => {
    let hex = "";
    for (let j = i * 8; j < i * 8 + 8; j++) hex += HEX[bytes[j]!];
    tokens.set(id, hex);
  });
  return tokens;
}

/** Where the token of `ack` (its last 16 characters) sits in the encoded request. */
function tokenOffset(encoded: Uint8Array, ack: string): number {
  const needle = ENCODER.encode(ack);
  search: for (let i = encoded.length - needle.length; i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) if (encoded[i + j] !== needle[j]) continue search;
    return i + needle.length - 16;
  }
  throw new Error(`Cannot find the ack subject in an encoded request`);
}

const ENCODER = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Tracks every running job of this master. */
export class JobTracker {
  readonly #jobs = new Map<string, Tracked>();
  readonly #finished = new Map<string, number>();
  readonly #sub: Subscription;
  readonly #nc: NatsConnection;
  readonly #jobsKv: KV;
  readonly #returnsKv: KV;
  readonly #log: Logger;
  readonly #ackPrefix = createInbox();
  readonly #done = new Map<string, Array<() => void>>();

  /** Subscribe to this master's return confirmations. */
  constructor(nc: NatsConnection, jobsKv: KV, returnsKv: KV, log: Logger) {
    this.#nc = nc;
    this.#jobsKv = jobsKv;
    this.#returnsKv = returnsKv;
    this.#log = log;
    this.#sub = nc.subscribe(`${this.#ackPrefix}.>`, {
      callback: (err, msg) => {
        if (err) log.error("return ack subscription failed", { error: err });
        else this.#onAck(msg);
      },
    });
  }

  /** JIDs being watched. */
  active(): string[] {
    return [...this.#jobs.keys()];
  }

  /**
   * Send `exec` to every target of `job` (already stored with status `running`), each with its
   * own `ack`, and watch the job until it completes or its deadline passes.
   */
  track(job: Job, exec: Omit<ExecRequest, "ack">): void {
    const jid = job.jid;
    const left = Math.max(0, Date.parse(job.deadline) - Date.now());
    const t: Tracked = {
      job,
      exec,
      tokens: ackTokens(job.targets),
      stored: new Map(),
      refused: new Map(),
      deadline: setTimeout(() => this.#finalizeSafely(jid), left),
      repair: undefined,
      repairGapMs: FIRST_REPAIR_MS,
      finalizing: false,
    };
    this.#jobs.set(jid, t);
    this.#send(t, job.targets, false);
    this.#scheduleRepair(t);
  }

  /**
   * Send the job's ExecRequest to `peels`, each with its own ack subject. The requests differ
   * only in the token, which has a fixed length, so the request is encoded once and each copy
   * gets its peel's token written in place.
   */
  #send(t: Tracked, peels: string[], resend: boolean): void {
    const placeholder = "0".repeat(16);
    const ack = returnAckSubject(this.#ackPrefix, t.job.jid, placeholder);
    const template = encode({ ...t.exec, ack, ...(resend ? { resend } : {}) });
    const at = tokenOffset(template, ack);
    for (const id of peels) {
      const payload = template.slice();
      ENCODER.encodeInto(t.tokens.get(id)!, payload.subarray(at, at + 16));
      this.#nc.publish(subjects.cmd(id), payload);
    }
  }

  /** Resolves when the job is finalized (for tests and shutdown). */
  whenDone(jid: string): Promise<void> {
    if (!this.#jobs.has(jid)) return Promise.resolve();
    return new Promise((r) => {
      const list = this.#done.get(jid) ?? [];
      list.push(r);
      this.#done.set(jid, list);
    });
  }

  /** Stop listening; running jobs are finalized as they stand. */
  async stop(): Promise<void> {
    this.#sub.unsubscribe();
    await Promise.all([...this.#jobs.keys()].map((jid) => this.#finalize(jid)));
  }

  #onAck(msg: Msg): void {
    const ack = parseReturnAckSubject(this.#ackPrefix, msg.subject);
    if (!ack) return;
    const fields = { jid: ack.jid, peel_id: ack.peelId };
    const refusal = msg.data.byteLength === 0 ? "no stream" : pubAckRefusal(msg.data);
    const t = this.#jobs.get(ack.jid);
    if (!t || t.finalizing) {
      if (this.#finished.has(ack.jid) && refusal === undefined) {
        this.#log.info("late return stored", fields);
      } else if (refusal !== undefined) {
        this.#log.error("job-returns refused a late return", { ...fields, error: refusal });
      }
      return;
    }
    if (t.tokens.get(ack.peelId) !== ack.token) {
      this.#log.warn("ignoring a confirmation with the wrong token for its peel", fields);
      return;
    }
    if (refusal !== undefined) {
      this.#log.error("job-returns refused a return", { ...fields, error: refusal });
      if (!t.stored.has(ack.peelId)) t.refused.set(ack.peelId, refusal);
      return;
    }
    t.refused.delete(ack.peelId);
    t.stored.set(ack.peelId, ack.success);
    if (t.stored.size === t.tokens.size) this.#finalizeSafely(ack.jid);
  }

  #scheduleRepair(t: Tracked): void {
    const left = Date.parse(t.job.deadline) - Date.now();
    if (t.repairGapMs >= left) return;
    t.repair = setTimeout(() => {
      if (t.finalizing) return;
      this.#askAgain(t);
      t.repairGapMs *= 2;
      this.#scheduleRepair(t);
    }, t.repairGapMs);
  }

  /** Ask every target whose return is not confirmed to send it again. */
  #askAgain(t: Tracked): void {
    const missing = [...t.tokens.keys()].filter((id) => !t.stored.has(id));
    if (!missing.length) return;
    this.#log.info("asking peels to send their return again", {
      jid: t.job.jid,
      peels: missing.length,
    });
    try {
      this.#send(t, missing, true);
    } catch (e) {
      this.#log.error("cannot ask peels again", { jid: t.job.jid, error: e });
    }
  }

  /** Read back returns stored without a confirmation reaching this master. */
  async #readBack(t: Tracked): Promise<void> {
    const jid = t.job.jid;
    const missing = [...t.tokens.keys()].filter((id) => !t.stored.has(id) && !t.refused.has(id));
    for (let i = 0; i < missing.length; i += READ_BACK_BATCH) {
      await Promise.all(
        missing.slice(i, i + READ_BACK_BATCH).map(async (id) => {
          try {
            const ret = await getReturn(this.#returnsKv, jid, id);
            if (ret) t.stored.set(id, ret.success);
          } catch (e) {
            this.#log.error("cannot read back return", { jid, peel_id: id, error: e });
          }
        }),
      );
    }
  }

  /** Finalize in the background; a failure is logged, never left unhandled. */
  #finalizeSafely(jid: string): void {
    this.#finalize(jid).catch((e) => this.#log.error("cannot finalize job", { jid, error: e }));
  }

  async #finalize(jid: string): Promise<void> {
    const t = this.#jobs.get(jid);
    if (!t || t.finalizing) return;
    t.finalizing = true;
    clearTimeout(t.deadline);
    clearTimeout(t.repair);
    if (t.stored.size < t.tokens.size) await this.#readBack(t);
    const returned = t.stored.size;
    let failed = 0;
    for (const ok of t.stored.values()) if (!ok) failed++;
    const refused = [...t.refused].sort(([a], [b]) => a.localeCompare(b));
    const status: JobStatus = refused.length
      ? "failed"
      : finalStatus(t.tokens.size, returned, failed);
    const now = new Date().toISOString();
    const missing = [...t.tokens.keys()].filter((id) => !t.stored.has(id)).sort();
    const job: Job = {
      ...t.job,
      status,
      updated: now,
      finished: now,
      returned,
      succeeded: returned - failed,
      failed,
      missing,
      ...(refused.length
        ? {
          error: `job-returns refused ${refused.length} return(s): ${refused[0]![0]}: ${
            refused[0]![1]
          }`,
        }
        : {}),
    };
    try {
      await updateJob(this.#jobsKv, job);
    } catch (e) {
      this.#log.error("cannot store final job record", { jid, error: e });
    }
    const ev: JobStatusEvent = { jid, status, returned, expected: t.tokens.size, time: now };
    try {
      this.#nc.publish(subjects.jobStatus(jid), encode(ev));
    } catch (e) {
      this.#log.error("cannot publish final status", { jid, error: e });
    }
    this.#jobs.delete(jid);
    this.#finished.set(jid, Date.now());
    this.#pruneFinished();
    this.#log.info("job finished", {
      jid,
      status,
      returned,
      expected: t.tokens.size,
      missing: missing.length || undefined,
    });
    for (const r of this.#done.get(jid) ?? []) r();
    this.#done.delete(jid);
  }

  #pruneFinished(): void {
    const cutoff = Date.now() - LATE_WINDOW_MS;
    for (const [jid, at] of this.#finished) {
      if (at >= cutoff) break;
      this.#finished.delete(jid);
    }
  }
}
