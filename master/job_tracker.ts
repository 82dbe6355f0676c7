/**
 * Watches the jobs this master owns: stores each return in `job-returns` as it arrives, and
 * finalizes the job (complete, partial, timeout or failed) when every target has returned or
 * its deadline passes. Writes are pipelined, never awaited one by one on the return path.
 * @module
 */
import type { KV, Msg, NatsConnection, Subscription } from "nats";
import {
  AckedPublisher,
  BUCKETS,
  decode,
  encode,
  kvSubject,
  parseReturnSubject,
  subjects,
} from "../lib/bus/mod.ts";
import {
  ExecReturn,
  finalStatus,
  type Job,
  type JobStatus,
  type JobStatusEvent,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";

interface Tracked {
  job: Job;
  expected: Set<string>;
  returned: Set<string>;
  failed: number;
  stored: Map<string, Promise<string | undefined>>;
  writeErrors: string[];
  timer: ReturnType<typeof setTimeout>;
  finalizing: boolean;
}

/** How long a finished job's returns are still accepted and stored as late. */
const LATE_WINDOW_MS = 10 * 60_000;

/** Tracks every running job of this master. */
export class JobTracker {
  readonly #jobs = new Map<string, Tracked>();
  readonly #finished = new Map<string, number>();
  readonly #sub: Subscription;
  readonly #nc: NatsConnection;
  readonly #jobsKv: KV;
  readonly #returns: AckedPublisher;
  readonly #log: Logger;
  readonly #done = new Map<string, Array<() => void>>();

  /** Subscribe to all job returns. Every master sees every return; only the owner acts. */
  constructor(nc: NatsConnection, jobsKv: KV, log: Logger) {
    this.#nc = nc;
    this.#jobsKv = jobsKv;
    this.#returns = new AckedPublisher(nc);
    this.#log = log;
    this.#sub = nc.subscribe(subjects.jobReturnAll, {
      callback: (err, msg) => {
        if (err) log.error("return subscription failed", { error: err });
        else this.#onReturn(msg);
      },
    });
  }

  /** JIDs being watched. */
  active(): string[] {
    return [...this.#jobs.keys()];
  }

  /** Start watching `job` (already stored with status `running`); finalizes at its deadline. */
  track(job: Job): void {
    const delay = Math.max(0, Date.parse(job.deadline) - Date.now());
    this.#jobs.set(job.jid, {
      job,
      expected: new Set(job.targets),
      returned: new Set(),
      failed: 0,
      stored: new Map(),
      writeErrors: [],
      timer: setTimeout(() => this.#finalizeSafely(job.jid), delay),
      finalizing: false,
    });
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
    this.#returns.close();
  }

  #onReturn(msg: Msg): void {
    const ids = parseReturnSubject(msg.subject);
    if (!ids) {
      this.#log.warn("ignoring return on malformed subject", { subject: msg.subject });
      return;
    }
    const t = this.#jobs.get(ids.jid);
    if (!t && !this.#finished.has(ids.jid)) return; // Another master's job.
    const fields = { jid: ids.jid, peel_id: ids.peelId };
    let ret: ExecReturn;
    try {
      ret = ExecReturn.parse(decode(msg.data));
    } catch (e) {
      this.#drop(`Malformed return: ${(e as Error).message}`, fields);
      return;
    }
    if (ret.jid !== ids.jid || ret.peel_id !== ids.peelId) {
      this.#drop("Return body does not match its subject", fields);
      return;
    }
    if (t && !t.expected.has(ret.peel_id)) {
      this.#drop(`Job ${ret.jid} did not target ${ret.peel_id}`, fields);
      return;
    }
    const key = `${ret.jid}.${ret.peel_id}`;
    if (!t || t.finalizing) {
      // Past the deadline: not counted, but stored so nothing the peel sent is lost.
      void this.#store(key, msg.data).then((error) => {
        if (!error) this.#log.info("late return stored", fields);
      });
      return;
    }
    if (t.stored.has(ret.peel_id)) return; // A retry of a return we have.
    t.returned.add(ret.peel_id);
    if (!ret.success) t.failed++;
    const stored = this.#store(key, msg.data).then((error) => {
      if (error) t.writeErrors.push(`${key}: ${error}`);
      return error;
    });
    t.stored.set(ret.peel_id, stored);
    if (t.returned.size === t.expected.size) this.#finalizeSafely(ret.jid);
  }

  /** Store a return in `job-returns`; resolves to an error message, or undefined when stored. */
  async #store(key: string, data: Uint8Array, attempts = 3): Promise<string | undefined> {
    for (let i = 1;; i++) {
      try {
        await this.#returns.publish(kvSubject(BUCKETS.jobReturns.name, key), data);
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

  #drop(error: string, fields: Record<string, unknown>): void {
    this.#log.warn("dropping return", { ...fields, error });
  }

  /** Finalize in the background; a failure is logged, never left unhandled. */
  #finalizeSafely(jid: string): void {
    this.#finalize(jid).catch((e) => this.#log.error("cannot finalize job", { jid, error: e }));
  }

  async #finalize(jid: string): Promise<void> {
    const t = this.#jobs.get(jid);
    if (!t || t.finalizing) return;
    t.finalizing = true;
    clearTimeout(t.timer);
    await Promise.all(t.stored.values());
    const status: JobStatus = t.writeErrors.length
      ? "failed"
      : finalStatus(t.expected.size, t.returned.size, t.failed);
    const now = new Date().toISOString();
    const missing = [...t.expected].filter((id) => !t.returned.has(id)).sort();
    const job: Job = {
      ...t.job,
      status,
      updated: now,
      finished: now,
      returned: t.returned.size,
      succeeded: t.returned.size - t.failed,
      failed: t.failed,
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
    const ev: JobStatusEvent = {
      jid,
      status,
      returned: t.returned.size,
      expected: t.expected.size,
      time: now,
    };
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
      returned: t.returned.size,
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
