/**
 * Watches the jobs this master owns. Each peel writes its return into `job-returns` itself; the
 * master sees the write live (to count it) and receives the stream's confirmation that it is
 * stored (the ExecRequest's `ack` subject), so no return costs the peel a round trip. A job is
 * complete when every target's return is both seen and stored, and finalized then or at its
 * deadline. Until then, rounds with growing gaps repair what went astray: a return seen but not
 * confirmed is stored from the master's copy, a stored one not seen is read back, and peels with
 * neither are asked to send theirs again (`resend`, which never runs a job twice).
 * @module
 */
import { createInbox, type KV, type Msg, type NatsConnection, type Subscription } from "nats";
import {
  AckedPublisher,
  BUCKETS,
  encode,
  kvSubject,
  parseReturnAckSubject,
  parseReturnSubject,
  pubAckRefusal,
  returnAckSubject,
  subjects,
} from "../lib/bus/mod.ts";
import {
  type ExecRequest,
  finalStatus,
  isReturnWrite,
  type Job,
  type JobStatus,
  type JobStatusEvent,
  readReturn,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";

interface Tracked {
  job: Job;
  exec: ExecRequest;
  expected: Set<string>;
  /** Whether each returned peel succeeded. */
  success: Map<string, boolean>;
  /** Returns seen live and not yet confirmed stored, kept to store them ourselves if need be. */
  copies: Map<string, Uint8Array>;
  /** Peels whose return `job-returns` has confirmed. */
  stored: Set<string>;
  writeErrors: string[];
  deadline: ReturnType<typeof setTimeout>;
  repair: ReturnType<typeof setTimeout> | undefined;
  repairGapMs: number;
  finalizing: boolean;
}

/** How long a finished job's returns are still recognized (and logged) as late. */
const LATE_WINDOW_MS = 10 * 60_000;
/** The first repair round runs this long after dispatch; each later one waits twice as long. */
const FIRST_REPAIR_MS = 2_000;

/** Tracks every running job of this master. */
export class JobTracker {
  readonly #jobs = new Map<string, Tracked>();
  readonly #finished = new Map<string, number>();
  readonly #subs: Subscription[];
  readonly #nc: NatsConnection;
  readonly #jobsKv: KV;
  readonly #returnsKv: KV;
  readonly #writer: AckedPublisher;
  readonly #log: Logger;
  readonly #ackPrefix = createInbox();
  readonly #done = new Map<string, Array<() => void>>();

  /**
   * Subscribe to all job returns and to this master's return confirmations. Every master sees
   * every return; only the owner acts.
   */
  constructor(nc: NatsConnection, jobsKv: KV, returnsKv: KV, log: Logger) {
    this.#nc = nc;
    this.#jobsKv = jobsKv;
    this.#returnsKv = returnsKv;
    this.#writer = new AckedPublisher(nc);
    this.#log = log;
    this.#subs = [
      nc.subscribe(subjects.jobReturnAll, {
        callback: (err, msg) => {
          if (err) log.error("return subscription failed", { error: err });
          else this.#onReturn(msg);
        },
      }),
      nc.subscribe(`${this.#ackPrefix}.>`, {
        callback: (err, msg) => {
          if (err) log.error("return ack subscription failed", { error: err });
          else this.#onAck(msg);
        },
      }),
    ];
  }

  /** The `ack` subject of job `jid`'s ExecRequests. */
  ackSubject(jid: string): string {
    return returnAckSubject(this.#ackPrefix, jid);
  }

  /** JIDs being watched. */
  active(): string[] {
    return [...this.#jobs.keys()];
  }

  /**
   * Start watching `job` (already stored with status `running`), whose peels were sent `exec`;
   * finalizes at its deadline.
   */
  track(job: Job, exec: ExecRequest): void {
    const jid = job.jid;
    const left = Math.max(0, Date.parse(job.deadline) - Date.now());
    const t: Tracked = {
      job,
      exec,
      expected: new Set(job.targets),
      success: new Map(),
      copies: new Map(),
      stored: new Set(),
      writeErrors: [],
      deadline: setTimeout(() => this.#finalizeSafely(jid), left),
      repair: undefined,
      repairGapMs: FIRST_REPAIR_MS,
      finalizing: false,
    };
    this.#jobs.set(jid, t);
    this.#scheduleRepair(t);
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
    for (const s of this.#subs) s.unsubscribe();
    await Promise.all([...this.#jobs.keys()].map((jid) => this.#finalize(jid)));
    this.#writer.close();
  }

  #onReturn(msg: Msg): void {
    const ids = parseReturnSubject(msg.subject);
    if (!ids || !isReturnWrite(msg)) return; // A delete or purge, not a return.
    const t = this.#jobs.get(ids.jid);
    if (!t) return; // Another master's job, or a late return (its ack is logged).
    const fields = { jid: ids.jid, peel_id: ids.peelId };
    if (!t.expected.has(ids.peelId)) {
      // Only the peel itself can write this key; it answered a job that did not target it.
      this.#log.warn("removing return from a peel the job did not target", fields);
      this.#returnsKv.delete(`${ids.jid}.${ids.peelId}`).catch((e) =>
        this.#log.error("cannot remove stray return", { ...fields, error: e })
      );
      return;
    }
    if (t.finalizing || t.success.has(ids.peelId)) return; // A resend of one we have.
    const ret = readReturn(msg.data, ids.jid, ids.peelId, (error) => {
      this.#log.warn("malformed return counted as failed", { ...fields, error });
    });
    t.success.set(ids.peelId, ret.success);
    if (!t.stored.has(ids.peelId)) t.copies.set(ids.peelId, msg.data);
    this.#checkComplete(t);
  }

  #onAck(msg: Msg): void {
    const ids = parseReturnAckSubject(this.#ackPrefix, msg.subject);
    if (!ids) return;
    const fields = { jid: ids.jid, peel_id: ids.peelId };
    const refusal = msg.data.byteLength === 0 ? "no stream" : pubAckRefusal(msg.data);
    const t = this.#jobs.get(ids.jid);
    if (refusal !== undefined) {
      // The next repair round (or the deadline) stores the master's copy instead.
      this.#log.error("job-returns refused a return", { ...fields, error: refusal });
      return;
    }
    if (!t) {
      if (this.#finished.has(ids.jid)) this.#log.info("late return stored", fields);
      return;
    }
    if (!t.expected.has(ids.peelId)) return; // Removed in #onReturn.
    t.stored.add(ids.peelId);
    t.copies.delete(ids.peelId);
    this.#checkComplete(t);
  }

  #checkComplete(t: Tracked): void {
    if (t.success.size === t.expected.size && t.stored.size === t.expected.size) {
      this.#finalizeSafely(t.job.jid);
    }
  }

  #scheduleRepair(t: Tracked): void {
    const left = Date.parse(t.job.deadline) - Date.now();
    if (t.repairGapMs >= left) return;
    t.repair = setTimeout(() => {
      this.#repair(t)
        .catch((e) => this.#log.error("cannot repair job", { jid: t.job.jid, error: e }))
        .finally(() => {
          if (t.finalizing) return;
          t.repairGapMs *= 2;
          this.#scheduleRepair(t);
          this.#checkComplete(t);
        });
    }, t.repairGapMs);
  }

  /** Store unconfirmed copies, read back stored returns not seen, and ask for the rest. */
  async #repair(t: Tracked): Promise<void> {
    await this.#settle(t);
    if (t.finalizing) return;
    const missing = [...t.expected].filter((id) => !t.success.has(id) && !t.stored.has(id));
    if (!missing.length) return;
    this.#log.info("asking peels to send their return again", {
      jid: t.job.jid,
      peels: missing.length,
    });
    const payload = encode({ ...t.exec, resend: true });
    for (const id of missing) this.#nc.publish(subjects.cmd(id), payload);
  }

  /** Make what was seen and what was stored agree, as far as the master can on its own. */
  async #settle(t: Tracked): Promise<void> {
    const jid = t.job.jid;
    await Promise.all([
      ...[...t.copies].map(async ([id, data]) => {
        const error = await this.#store(`${jid}.${id}`, data);
        if (error) t.writeErrors.push(`${jid}.${id}: ${error}`);
        else t.stored.add(id);
        t.copies.delete(id);
      }),
      ...[...t.stored].filter((id) => !t.success.has(id)).map(async (id) => {
        // Stored and confirmed, but the live copy never reached this master.
        const e = await this.#returnsKv.get(`${jid}.${id}`);
        if (e?.operation === "PUT") t.success.set(id, readReturn(e.value, jid, id).success);
      }),
    ]);
  }

  /** Store a return in `job-returns`; resolves to an error message, or undefined when stored. */
  async #store(key: string, data: Uint8Array, attempts = 3): Promise<string | undefined> {
    for (let i = 1;; i++) {
      try {
        await this.#writer.publish(kvSubject(BUCKETS.jobReturns.name, key), data);
        return undefined;
      } catch (e) {
        if (i >= attempts) {
          this.#log.error("cannot store return", { key, error: e });
          return (e as Error).message;
        }
        await new Promise((r) => setTimeout(r, 100 * i));
      }
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
    await this.#settle(t);
    const returned = t.success.size;
    let failed = 0;
    for (const ok of t.success.values()) if (!ok) failed++;
    const status: JobStatus = t.writeErrors.length
      ? "failed"
      : finalStatus(t.expected.size, returned, failed);
    const now = new Date().toISOString();
    const missing = [...t.expected].filter((id) => !t.success.has(id)).sort();
    const job: Job = {
      ...t.job,
      status,
      updated: now,
      finished: now,
      returned,
      succeeded: returned - failed,
      failed,
      missing,
      ...(t.writeErrors.length
        ? { error: `Cannot store ${t.writeErrors.length} return(s): ${t.writeErrors[0]}` }
        : {}),
    };
    try {
      await this.#jobsKv.put(jid, encode(job));
    } catch (e) {
      this.#log.error("cannot store final job record", { jid, error: e });
    }
    const ev: JobStatusEvent = { jid, status, returned, expected: t.expected.size, time: now };
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
      expected: t.expected.size,
      missing: missing.length ? missing : undefined,
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
