/**
 * Owns jobs: claims them, sends their ExecRequests, watches them and ends them. Each peel
 * writes its return into `job-returns` itself, with its `ack` subject as reply (it reads the
 * ack from the ExecRequest's reply subject, `<ack>.<peel-id>.answer`): the stream's
 * confirmation comes to the master, and its subject says which peel returned and how it went.
 * So the master counts stored returns without receiving the returns, and no return costs its
 * peel a round trip. Each peel's `ack` holds a random token sent to that peel alone: a peel
 * cannot confirm another peel's return.
 *
 * Because each ExecRequest goes out with a reply subject, a peel that is not connected is
 * known at once: the server answers "no responders", and followers hear of it.
 * Such a peel is asked again every half second for a few seconds, the time a peel takes to
 * reconnect after a blip of the network or a restart of NATS; after that the job no longer
 * waits for it (it ends once every other target returned), but keeps asking it while it runs,
 * so one that connects in time still runs it. Until the job ends, rounds with growing
 * gaps ask the targets not yet confirmed again: a peel sends its kept return again, says it is
 * still running the job, or runs a job it never received; never the same job twice. A round is
 * put off while confirmations still arrive (a large job on a busy server takes seconds to store
 * its returns, and asking again would only slow it down). At the deadline, returns stored
 * without a confirmation are read back. A return the stream refuses
 * fails the job, naming it; one it refuses because the peel's earlier copy is stored counts as
 * stored.
 *
 * Every write of a job is a compare-and-set on its record's revision (see `job_store.ts`); a
 * master that finds the record moved on has lost the job to another and stops watching it.
 * @module
 */
import { Events, type KV, type Msg, type NatsConnection, type Subscription } from "nats";
import {
  ackReplySubject,
  decode,
  encode,
  isAlreadyStored,
  newInbox,
  parseReturnAckSubject,
  parseReturnSubject,
  pubAckRefusal,
  RECONNECT_DEFAULTS,
  returnAckSubject,
  subjects,
} from "../lib/bus/mod.ts";
import {
  CancelEvent,
  type ExecRequest,
  finalStatus,
  type FindReply,
  FindRequest,
  getReturn,
  isReturnWrite,
  isRunningAnswer,
  type Job,
  type JobStatus,
  readReturn,
  readReturns,
  type ReturnOutcome,
  returnOutcome,
  StaleJobError,
  writeJob,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import type { JobEvents } from "./job_events.ts";
import { activeJobs, jobFinished, returnStored } from "./metrics.ts";

interface Tracked {
  job: Job;
  /** The revision of this master's last write of the job: the base of its next one. */
  revision: number;
  exec: Omit<ExecRequest, "timeout_ms">;
  /** Each target's ack token. */
  tokens: Map<string, string>;
  /** Peels whose return `job-returns` has stored, and how each went. */
  stored: Map<string, ReturnOutcome>;
  /** Peels whose return `job-returns` refused, and why. */
  refused: Map<string, string>;
  /** Peels that were not connected when last asked, and have not returned. */
  absent: Set<string>;
  /** Absent peels not yet announced. */
  newlyAbsent: string[];
  /** Peels that said they are running the job since the last question. */
  running: Set<string>;
  deadline: ReturnType<typeof setTimeout>;
  repair: ReturnType<typeof setTimeout> | undefined;
  repairGapMs: number;
  /** Returns confirmed when the last repair round was due. */
  repairSeen: number;
  announce: ReturnType<typeof setTimeout> | undefined;
  /** Until when absent peels hold the job, and the timer asking them again until then. */
  absentUntil: number;
  absentRetry: ReturnType<typeof setInterval> | undefined;
  /** Absent peels asked again, and those of them the server found still not connected. */
  asked: Set<string>;
  stillAbsent: Set<string>;
  finalizing: boolean;
  canceledBy?: string;
  /** For adopted jobs: returns whose confirmation goes to the master that died. */
  returns?: Subscription;
}

/** How long a finished job's returns are still recognized (and logged) as late. */
const LATE_WINDOW_MS = 10 * 60_000;
/**
 * The first repair round runs this long after dispatch, and this much more per target (the
 * time a busy server takes to store that many returns); each later one waits twice as long, up
 * to {@linkcode MAX_REPAIR_GAP_MS} (or the first gap, if longer).
 */
const FIRST_REPAIR_MS = 2_000;
const REPAIR_MS_PER_TARGET = 0.2;
/**
 * The longest wait between repair rounds: a peel that restarts while the job is on (seconds, on a
 * busy machine) is asked again soon after, not left until the deadline.
 */
const MAX_REPAIR_GAP_MS = 8_000;
/** Stored returns read back at once when their confirmations were lost. */
const READ_BACK_BATCH = 64;
/**
 * How long a job waits for targets not connected when it was sent: the longest a peel takes to
 * reconnect after a blip or a restart of NATS (the reconnect wait plus its TLS jitter), and a
 * second to spare.
 */
export const ABSENT_GRACE_MS = RECONNECT_DEFAULTS.reconnectTimeWait +
  RECONNECT_DEFAULTS.reconnectJitterTLS + 1_000;
/** How often targets not connected are asked again within that time. */
const ABSENT_RETRY_MS = 500;
/** Peels found not connected within this window are announced in one event. */
const ANNOUNCE_MS = 20;
/** Past the deadline, how long the returns of peels stopped by it have to arrive. */
const DEADLINE_GRACE_MS = 1_000;
/** How long a canceled job waits for the returns of the peels it stopped. */
const CANCEL_GRACE_MS = 2_000;
/** How long the owner collects "still running" answers for a find request. */
const FIND_WAIT_MS = 1_000;

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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Tracks every job this master owns. */
export class JobTracker {
  readonly #jobs = new Map<string, Tracked>();
  readonly #finished = new Map<string, number>();
  readonly #subs: Subscription[];
  readonly #nc: NatsConnection;
  readonly #jobsKv: KV;
  readonly #returnsKv: KV;
  readonly #events: JobEvents;
  readonly #masterId: string;
  readonly #log: Logger;
  readonly #ackPrefix: string;
  readonly #done = new Map<string, Array<() => void>>();
  /** Jobs being claimed, so that a job is never taken twice at once. */
  readonly #taking = new Set<string>();
  readonly #detachGauge: () => void;
  #stopped = false;
  /** Disconnected from NATS, and so from every target. */
  #cutOff = false;

  /** Subscribe to this master's return confirmations, to cancels and to find requests. */
  constructor(opts: {
    nc: NatsConnection;
    jobsKv: KV;
    returnsKv: KV;
    events: JobEvents;
    masterId: string;
    log: Logger;
  }) {
    this.#nc = opts.nc;
    this.#ackPrefix = newInbox(opts.nc);
    this.#jobsKv = opts.jobsKv;
    this.#returnsKv = opts.returnsKv;
    this.#events = opts.events;
    this.#masterId = opts.masterId;
    const log = this.#log = opts.log;
    this.#detachGauge = activeJobs.attach(() => this.#jobs.size);
    const on = (what: string, handle: (msg: Msg) => void) => (err: Error | null, msg: Msg) => {
      if (err) log.error(`${what} subscription failed`, { error: err });
      else handle(msg);
    };
    this.#subs = [
      opts.nc.subscribe(`${this.#ackPrefix}.>`, {
        callback: on("return ack", (m) => this.#onAck(m)),
      }),
      opts.nc.subscribe(subjects.jobCancelAll, {
        callback: on("cancel", (m) => this.#onCancel(m)),
      }),
      opts.nc.subscribe(subjects.jobsFind, { callback: on("find", (m) => this.#onFind(m)) }),
    ];
    void this.#watchConnection();
  }

  /**
   * While this master is cut off from NATS, so is every peel it could ask: no target is absent
   * for good then, and each job's grace for absent targets starts again once the master is back
   * (a restart of nats-server would otherwise spend the peels' reconnect time).
   */
  async #watchConnection(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (this.#stopped) return;
      if (s.type !== Events.Disconnect && s.type !== Events.Reconnect) continue;
      this.#cutOff = s.type === Events.Disconnect;
      for (const t of this.#jobs.values()) t.absentUntil = this.#graceEnd();
    }
  }

  /** Until when a job holds targets found absent now: no end while this master is cut off. */
  #graceEnd(): number {
    return this.#cutOff ? Infinity : Date.now() + ABSENT_GRACE_MS;
  }

  /** JIDs being watched. */
  active(): string[] {
    return [...this.#jobs.keys()];
  }

  /** True when this master watches job `jid`, or is taking it. */
  has(jid: string): boolean {
    return this.#jobs.has(jid) || this.#taking.has(jid);
  }

  /**
   * Take `job`, stored at `revision` (`pending`, or owned by a master that stopped), by a
   * compare-and-set on its record: `claimed` by this master, the write's revision becoming its
   * epoch; then store it `running` and send it to every target that has not returned, watching
   * it until it ends. An `adopted` job starts from the returns already in `job-returns`, and
   * follows its returns directly, since their confirmations go to the master that sent it
   * first; one `canceledBy` someone ends `canceled`. Rejects with `StaleJobError` when another
   * master wrote the job first.
   */
  async take(
    job: Job,
    revision: number,
    opts: { adopted?: boolean; canceledBy?: string } = {},
  ): Promise<void> {
    if (this.has(job.jid)) return;
    this.#taking.add(job.jid);
    try {
      await this.#take(job, revision, opts);
    } finally {
      this.#taking.delete(job.jid);
    }
  }

  async #take(
    job: Job,
    revision: number,
    opts: { adopted?: boolean; canceledBy?: string },
  ): Promise<void> {
    const jid = job.jid;
    const claimed: Job = {
      ...job,
      status: "claimed",
      owner: this.#masterId,
      updated: new Date().toISOString(),
    };
    const epoch = await writeJob(this.#jobsKv, claimed, revision);
    void this.#events.status({ ...claimed, epoch });
    const running: Job = {
      ...claimed,
      status: "running",
      epoch,
      updated: new Date().toISOString(),
    };
    const at = await writeJob(this.#jobsKv, running, epoch);
    const exec = {
      jid,
      fun: job.fun,
      args: job.args,
      kwargs: job.kwargs,
      deadline: job.deadline,
      master: this.#masterId,
    };
    const t: Tracked = {
      job: running,
      revision: at,
      exec,
      tokens: ackTokens(job.targets),
      stored: new Map(),
      refused: new Map(),
      absent: new Set(),
      newlyAbsent: [],
      running: new Set(),
      deadline: setTimeout(
        () => this.#finalizeSafely(jid),
        Math.max(0, Date.parse(job.deadline) + DEADLINE_GRACE_MS - Date.now()),
      ),
      repair: undefined,
      repairGapMs: firstRepairGap(job.targets.length),
      repairSeen: 0,
      announce: undefined,
      absentUntil: this.#graceEnd(),
      absentRetry: undefined,
      asked: new Set(),
      stillAbsent: new Set(),
      finalizing: false,
    };
    this.#jobs.set(jid, t);
    if (opts.adopted) {
      t.returns = this.#nc.subscribe(subjects.jobReturns(jid), {
        callback: (_err, msg) => this.#onReturn(t, msg),
      });
      for (const [id, ret] of await readReturns(this.#returnsKv, jid)) {
        if (t.tokens.has(id)) t.stored.set(id, returnOutcome(ret));
      }
    }
    void this.#events.status(running, t.stored.size);
    if (opts.canceledBy) return this.#cancel(t, opts.canceledBy);
    if (this.#settled(t)) return this.#finalizeSafely(jid);
    this.#send(t, this.#unconfirmed(t));
    void this.#events.dispatched(running, this.#masterId);
    this.#scheduleRepair(t);
  }

  /** Targets whose return is not confirmed. */
  #unconfirmed(t: Tracked): string[] {
    return [...t.tokens.keys()].filter((id) => !t.stored.has(id));
  }

  /**
   * True when every target returned, or every other one was not connected when asked and has
   * had the time to reconnect.
   */
  #settled(t: Tracked): boolean {
    if (t.stored.size === t.tokens.size) return true;
    // Checked on every confirmation: the walk below runs only when it can succeed.
    if (Date.now() < t.absentUntil || t.stored.size + t.absent.size < t.tokens.size) return false;
    for (const id of t.tokens.keys()) if (!t.stored.has(id) && !t.absent.has(id)) return false;
    return true;
  }

  /**
   * Send the job's ExecRequest to `peels` with the time left before the deadline: one request,
   * encoded once, to each peel under a reply subject holding its own ack subject.
   */
  #send(t: Tracked, peels: string[]): void {
    const left = Math.max(1, Date.parse(t.job.deadline) - Date.now());
    const payload = encode({ ...t.exec, timeout_ms: left });
    const ackBase = returnAckSubject(this.#ackPrefix, t.job.jid, "0".repeat(16)).slice(0, -16);
    for (const id of peels) {
      const reply = ackReplySubject(ackBase + t.tokens.get(id)!, id, "answer");
      try {
        this.#nc.publish(subjects.cmd(id), payload, { reply });
      } catch (e) {
        // A closed connection: the master is stopping, and another adopts the job.
        this.#log.error("cannot send a job", { jid: t.job.jid, peel_id: id, error: e });
        return;
      }
    }
  }

  /** Resolves when the job is finalized, or this master stops (for tests and shutdown). */
  whenDone(jid: string): Promise<void> {
    if (!this.#jobs.has(jid)) return Promise.resolve();
    return new Promise((r) => {
      const list = this.#done.get(jid) ?? [];
      list.push(r);
      this.#done.set(jid, list);
    });
  }

  /**
   * Stop listening and watching. Running jobs are left as they are, marked active in `jobs`:
   * another master, or this one started again, adopts and finishes them.
   */
  stop(): void {
    this.#stopped = true;
    this.#detachGauge();
    for (const sub of this.#subs) sub.unsubscribe();
    for (const t of this.#jobs.values()) this.#release(t);
    this.#jobs.clear();
    for (const list of this.#done.values()) for (const r of list) r();
    this.#done.clear();
  }

  #release(t: Tracked): void {
    clearTimeout(t.deadline);
    clearTimeout(t.repair);
    clearTimeout(t.announce);
    clearInterval(t.absentRetry);
    t.returns?.unsubscribe();
  }

  #onAck(msg: Msg): void {
    const ack = parseReturnAckSubject(this.#ackPrefix, msg.subject);
    if (!ack) return;
    const fields = { jid: ack.jid, peel_id: ack.peelId };
    const t = this.#jobs.get(ack.jid);
    if (ack.kind === "answer") {
      if (!t || t.finalizing || t.tokens.get(ack.peelId) !== ack.token) return;
      if (msg.headers?.code === 503) this.#onAbsent(t, ack.peelId);
      else if (isRunningAnswer(msg.data)) {
        t.running.add(ack.peelId);
        t.absent.delete(ack.peelId);
      }
      return;
    }
    if (msg.data.byteLength === 0) {
      // "No responders": the stream is not there (JetStream starting after a restart). The
      // return was not stored; the next round asks for it again.
      this.#log.warn("job-returns did not answer a return", fields);
      return;
    }
    let refusal = pubAckRefusal(msg.data);
    // A return sent again after its first copy was stored: the key holds it already, and only
    // this peel may write it.
    if (refusal !== undefined && isAlreadyStored(refusal)) refusal = undefined;
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
    this.#onStored(t, ack.peelId, ack.kind);
  }

  /** A return seen on its way into `job-returns` (adopted jobs). */
  #onReturn(t: Tracked, msg: Msg): void {
    const ids = parseReturnSubject(msg.subject);
    if (!ids || !isReturnWrite(msg) || t.finalizing || !t.tokens.has(ids.peelId)) return;
    this.#onStored(t, ids.peelId, returnOutcome(readReturn(msg.data, t.job.jid, ids.peelId)));
  }

  #onStored(t: Tracked, peelId: string, outcome: ReturnOutcome): void {
    t.refused.delete(peelId);
    t.absent.delete(peelId);
    if (!t.stored.has(peelId)) returnStored(outcome);
    t.stored.set(peelId, outcome);
    if (this.#settled(t)) this.#finalizeSafely(t.job.jid);
  }

  #onAbsent(t: Tracked, peelId: string): void {
    if (t.absent.has(peelId)) t.stillAbsent.add(peelId);
    if (t.stored.has(peelId) || t.absent.has(peelId)) return;
    t.absent.add(peelId);
    t.newlyAbsent.push(peelId);
    t.announce ??= setTimeout(() => {
      t.announce = undefined;
      const peels = t.newlyAbsent.splice(0);
      this.#log.info("targets not connected", { jid: t.job.jid, peels: peels.length });
      void this.#events.absent(t.job.jid, peels);
    }, ANNOUNCE_MS);
    t.absentRetry ??= setInterval(() => this.#askAbsent(t), ABSENT_RETRY_MS);
  }

  /**
   * Ask the absent peels again while they hold the job. One the server no longer answers for
   * is connected now: it runs the job, or says it was running it, so it is absent no more.
   */
  #askAbsent(t: Tracked): void {
    if (t.finalizing || t.canceledBy) return;
    for (const id of t.asked) if (!t.stillAbsent.has(id)) t.absent.delete(id);
    t.asked = new Set([...t.absent].filter((id) => !t.stored.has(id)));
    t.stillAbsent.clear();
    if (Date.now() < t.absentUntil && t.asked.size) {
      this.#send(t, [...t.asked]);
      return;
    }
    clearInterval(t.absentRetry);
    // Cleared, not just stopped: peels found absent later start it again.
    t.absentRetry = undefined;
    t.asked.clear();
    if (this.#settled(t)) this.#finalizeSafely(t.job.jid);
  }

  #onCancel(msg: Msg): void {
    let ev: CancelEvent;
    try {
      ev = CancelEvent.parse(decode(msg.data));
    } catch (e) {
      this.#log.warn("ignoring a malformed cancel", { subject: msg.subject, error: e });
      return;
    }
    const t = this.#jobs.get(ev.jid);
    if (t && !t.finalizing && subjects.jobCancel(ev.jid) === msg.subject) this.#cancel(t, ev.user);
  }

  /** End `t` as canceled once its targets sent what they have, or after a grace period. */
  #cancel(t: Tracked, user: string): void {
    if (t.canceledBy) return;
    t.canceledBy = user;
    clearTimeout(t.repair);
    clearInterval(t.absentRetry);
    this.#log.info("job canceled", { jid: t.job.jid, user });
    clearTimeout(t.deadline);
    t.deadline = setTimeout(() => this.#finalizeSafely(t.job.jid), CANCEL_GRACE_MS);
  }

  #onFind(msg: Msg): void {
    let req: FindRequest;
    try {
      req = FindRequest.parse(decode(msg.data));
    } catch {
      return;
    }
    const t = this.#jobs.get(req.jid);
    if (!t || t.finalizing || !msg.reply) return;
    t.running.clear();
    this.#send(t, this.#unconfirmed(t));
    setTimeout(() => {
      const reply: FindReply = {
        jid: req.jid,
        running: t.running.size,
        returned: t.stored.size,
        expected: t.tokens.size,
      };
      try {
        msg.respond(encode(reply));
      } catch (e) {
        this.#log.warn("cannot answer a find request", { jid: req.jid, error: e });
      }
    }, FIND_WAIT_MS);
  }

  #scheduleRepair(t: Tracked): void {
    const left = Date.parse(t.job.deadline) - Date.now();
    if (t.repairGapMs >= left) return;
    t.repair = setTimeout(() => {
      if (t.finalizing || t.canceledBy) return;
      if (t.stored.size > t.repairSeen) {
        // Confirmations still arrive: asking again now would only add to their load.
        t.repairSeen = t.stored.size;
      } else {
        this.#askAgain(t);
        const most = Math.max(MAX_REPAIR_GAP_MS, firstRepairGap(t.tokens.size));
        t.repairGapMs = Math.min(t.repairGapMs * 2, most);
      }
      this.#scheduleRepair(t);
    }, t.repairGapMs);
  }

  /** Ask every target whose return is not confirmed again. */
  #askAgain(t: Tracked): void {
    const missing = this.#unconfirmed(t);
    if (!missing.length) return;
    this.#log.info("asking peels again", { jid: t.job.jid, peels: missing.length });
    t.running.clear();
    this.#send(t, missing);
  }

  /** Read back returns stored without a confirmation reaching this master. */
  async #readBack(t: Tracked): Promise<void> {
    const jid = t.job.jid;
    const missing = this.#unconfirmed(t).filter((id) => !t.refused.has(id));
    for (let i = 0; i < missing.length; i += READ_BACK_BATCH) {
      await Promise.all(
        missing.slice(i, i + READ_BACK_BATCH).map(async (id) => {
          try {
            const ret = await getReturn(this.#returnsKv, jid, id);
            if (!ret) return;
            const outcome = returnOutcome(ret);
            returnStored(outcome);
            t.stored.set(id, outcome);
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
    this.#release(t);
    if (t.stored.size < t.tokens.size) await this.#readBack(t);
    const returned = t.stored.size;
    let failed = 0;
    let unknown = 0;
    for (const o of t.stored.values()) {
      if (o === "failed") failed++;
      else if (o === "unknown") unknown++;
    }
    const refused = [...t.refused].sort(([a], [b]) => a.localeCompare(b));
    const status: JobStatus = t.canceledBy
      ? "canceled"
      : refused.length
      ? "failed"
      : finalStatus(t.tokens.size, returned, failed, unknown);
    const now = new Date().toISOString();
    const missing = this.#unconfirmed(t).sort();
    const job: Job = {
      ...t.job,
      status,
      updated: now,
      finished: now,
      returned,
      succeeded: returned - failed - unknown,
      failed,
      unknown,
      missing,
      absent: missing.filter((id) => t.absent.has(id)),
      ...(t.canceledBy ? { canceled_by: t.canceledBy } : {}),
      ...(refused.length
        ? {
          error: `job-returns refused ${refused.length} return(s): ${refused[0]![0]}: ${
            refused[0]![1]
          }`,
        }
        : {}),
    };
    let written = true;
    try {
      await writeJob(this.#jobsKv, job, t.revision);
    } catch (e) {
      written = false;
      if (e instanceof StaleJobError) {
        this.#log.warn("job taken over by another master; leaving it to that one", { jid });
      } else {
        this.#log.error("cannot store final job record", { jid, error: e });
      }
    }
    if (written) {
      jobFinished(job.fun, status, (Date.parse(now) - Date.parse(job.created)) / 1000);
      await this.#events.status(job, returned);
    }
    this.#jobs.delete(jid);
    this.#finished.set(jid, Date.now());
    this.#pruneFinished();
    if (written) {
      this.#log.info("job finished", {
        jid,
        status,
        returned,
        expected: t.tokens.size,
        missing: missing.length || undefined,
      });
    }
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

/** How long after dispatch the first repair round of a job of `targets` peels runs. */
function firstRepairGap(targets: number): number {
  return FIRST_REPAIR_MS + targets * REPAIR_MS_PER_TARGET;
}
