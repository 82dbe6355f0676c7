/**
 * Following one job from the CLI: its status (as whichever master owns it announces it, through
 * a change of owner; and as its record in `jobs` says, when asked), each peel's return as it is
 * written into `job-returns`, and the targets found not connected.
 * @module
 */
import type { KV, NatsConnection, Subscription } from "nats";
import { BUCKETS, decode, openBucket, parseReturnSubject, subjects } from "../../lib/bus/mod.ts";
import {
  AbsentEvent,
  type ExecReturn,
  isReturnWrite,
  isTerminal,
  type JobStatus,
  JobStatusEvent,
  readJobRecord,
  readReturn,
  readReturns,
  readTargets,
} from "../../lib/job/mod.ts";

interface Buckets {
  jobs: KV;
  returns: KV;
}

/** The buckets of each connection, bound once (binding asks the server). */
const bound = new WeakMap<NatsConnection, Promise<Buckets>>();

function buckets(nc: NatsConnection): Promise<Buckets> {
  let b = bound.get(nc);
  if (!b) {
    b = Promise.all([openBucket(nc, BUCKETS.jobs), openBucket(nc, BUCKETS.jobReturns)]).then((
      [jobs, returns],
    ) => ({ jobs, returns }));
    b.catch(() => bound.delete(nc));
    bound.set(nc, b);
  }
  return b;
}

/** What a follower reports as it happens. */
export interface FollowEvents {
  /** A peel's return was written. */
  onReturn?: (id: string, ret: ExecReturn) => void;
  /** Targets were found not connected. */
  onAbsent?: (ids: string[]) => void;
}

/** One job, followed live. */
export class JobFollower {
  /** Returns seen so far, by peel id. */
  readonly returns = new Map<string, ExecReturn>();
  /** Targets found not connected that have not returned. */
  readonly absent = new Set<string>();
  /** The job's status as last heard. */
  status?: JobStatus;
  /** When the last new return arrived (`Date.now()`), or the follower started. */
  lastReturnAt = Date.now();
  readonly jid: string;
  readonly #jobsKv: KV;
  readonly #returnsKv: KV;
  readonly #subs: Subscription[] = [];
  readonly #waiters = new Set<() => void>();

  private constructor(jid: string, jobsKv: KV, returnsKv: KV) {
    this.jid = jid;
    this.#jobsKv = jobsKv;
    this.#returnsKv = returnsKv;
  }

  /** Start following job `jid` (before it is dispatched, so that nothing is missed). */
  static async start(
    nc: NatsConnection,
    jid: string,
    events: FollowEvents = {},
  ): Promise<JobFollower> {
    const { jobs, returns } = await buckets(nc);
    const f = new JobFollower(jid, jobs, returns);
    f.#subs.push(
      nc.subscribe(subjects.jobReturns(jid), {
        callback: (_err, msg) => {
          const ids = parseReturnSubject(msg.subject);
          if (ids && isReturnWrite(msg)) {
            f.#onReturn(ids.peelId, readReturn(msg.data, jid, ids.peelId), events);
          }
        },
      }),
      nc.subscribe(subjects.jobAbsent(jid), {
        callback: (_err, msg) => f.#onAbsent(msg.data, events),
      }),
      nc.subscribe(subjects.jobStatus(jid), {
        callback: (_err, msg) => f.#onStatus(msg.data),
      }),
    );
    return f;
  }

  /** Read the job's status from its record (for a status event that went by unheard). */
  async refresh(): Promise<void> {
    const record = await readJobRecord(this.#jobsKv, this.jid);
    if (record && !(this.status && isTerminal(this.status))) this.#setStatus(record.status);
  }

  #onStatus(data: Uint8Array): void {
    try {
      const ev = JobStatusEvent.parse(decode(data));
      if (ev.jid === this.jid) this.#setStatus(ev.status);
    } catch {
      // Not an event of this job; the record is the authority.
    }
  }

  #setStatus(status: JobStatus): void {
    this.status = status;
    this.#changed();
  }

  #onReturn(id: string, ret: ExecReturn, events: FollowEvents): void {
    const first = !this.returns.has(id);
    this.returns.set(id, ret);
    this.absent.delete(id);
    if (first) {
      this.lastReturnAt = Date.now();
      events.onReturn?.(id, ret);
    }
    this.#changed();
  }

  #onAbsent(data: Uint8Array, events: FollowEvents): void {
    try {
      const ev = AbsentEvent.parse(decode(data));
      const ids = ev.peels.filter((id) => !this.returns.has(id) && !this.absent.has(id));
      for (const id of ids) this.absent.add(id);
      if (ids.length) events.onAbsent?.(ids);
      this.#changed();
    } catch {
      // Not an event of this job; the record is the authority.
    }
  }

  /** True once the job ended. */
  get ended(): boolean {
    return this.status !== undefined && isTerminal(this.status);
  }

  /** Failed returns so far. */
  get failures(): number {
    let n = 0;
    for (const r of this.returns.values()) if (!r.success) n++;
    return n;
  }

  /** Resolves true once `cond` holds (checked on every change), false after `ms`. */
  until(cond: () => boolean, ms: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!cond()) return;
        done(true);
      };
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(v);
      };
      this.#waiters.add(check);
    });
  }

  /** The job's targets, given how many its dispatch reply or record counts. */
  targets(count: number): Promise<string[]> {
    return readTargets(this.#jobsKv, this.jid, count);
  }

  /** Add the returns stored that went past the subscription (e.g. during a reconnect). */
  async readBack(targets: string[]): Promise<void> {
    if (targets.every((id) => this.returns.has(id))) return;
    for (const [id, ret] of await readReturns(this.#returnsKv, this.jid)) {
      if (!this.returns.has(id)) this.returns.set(id, ret);
    }
  }

  /** Stop following. */
  stop(): void {
    for (const sub of this.#subs) sub.unsubscribe();
  }

  #changed(): void {
    for (const w of [...this.#waiters]) w();
  }
}
