/**
 * Scheduled runs waiting to become jobs: each run of an entry with `return_job` is kept in the
 * data dir (`<dir>/<jid>`: the encoded return and its report) until its return is stored in
 * `job-returns` and a master has recorded the job. Delivery is retried while NATS is away, so a
 * run made then appears once it is back, and a restart of the peel keeps what was not delivered.
 * At most {@linkcode MAX_PENDING} runs wait; past that the oldest is dropped, with an error
 * naming it.
 * @module
 */
import { headers, type NatsConnection } from "nats";
import {
  decode,
  encode,
  FIRST_WRITE,
  isAlreadyStored,
  JID_PATTERN,
  pubAckRefusal,
  subjects,
} from "../lib/bus/mod.ts";
import { type ExecReturn, ScheduleReport } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";

/** Runs kept at most while no master can be reached. */
export const MAX_PENDING = 1000;
/** How long to wait before trying again after a failed delivery. */
const RETRY_MS = 2_000;
const REQUEST_TIMEOUT_MS = 5_000;

const FIRST_WRITE_HEADERS = headers();
FIRST_WRITE_HEADERS.set(FIRST_WRITE.header, FIRST_WRITE.value);

/** Scheduled runs kept until they are jobs. */
export class ScheduleOutbox {
  readonly #dir: string;
  readonly #log: Logger;
  /** Pending JIDs, oldest first (KSUIDs sort by time). */
  readonly #pending: string[];
  #nc?: NatsConnection;
  #flushing?: Promise<void>;
  #retry?: ReturnType<typeof setTimeout>;
  #closed = false;

  private constructor(dir: string, log: Logger, pending: string[]) {
    this.#dir = dir;
    this.#log = log;
    this.#pending = pending;
  }

  /** Open the outbox in `dir` (created if missing) with the runs kept there. */
  static async open(dir: string, log: Logger): Promise<ScheduleOutbox> {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const pending: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && JID_PATTERN.test(e.name)) pending.push(e.name);
    }
    if (pending.length) log.info("scheduled runs waiting to be recorded", { runs: pending.length });
    return new ScheduleOutbox(dir, log, pending.sort());
  }

  /** Runs not yet recorded as jobs. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Deliver over `nc` from now on, starting with what is kept. */
  attach(nc: NatsConnection): void {
    this.#nc = nc;
    this.#flush();
  }

  /** Keep the run on disk, then deliver it (and anything older) when NATS allows. */
  async add(report: ScheduleReport, ret: ExecReturn): Promise<void> {
    await Deno.writeFile(`${this.#dir}/${report.jid}`, encode({ report, ret: encode(ret) }), {
      mode: 0o600,
    });
    this.#pending.push(report.jid);
    while (this.#pending.length > MAX_PENDING) {
      const dropped = this.#pending.shift()!;
      this.#log.error("scheduled run dropped: too many waiting to be recorded", {
        jid: dropped,
        max: MAX_PENDING,
      });
      await Deno.remove(`${this.#dir}/${dropped}`).catch(() => {});
    }
    this.#flush();
  }

  /** Stop delivering; what is kept stays on disk for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#flushing;
  }

  #flush(): void {
    if (this.#flushing || this.#closed || !this.#nc) return;
    clearTimeout(this.#retry);
    this.#flushing = this.#deliverAll(this.#nc).finally(() => {
      this.#flushing = undefined;
      if (this.#pending.length && !this.#closed) {
        this.#retry = setTimeout(() => this.#flush(), RETRY_MS);
      }
    });
  }

  async #deliverAll(nc: NatsConnection): Promise<void> {
    while (this.#pending.length && !this.#closed) {
      const jid = this.#pending[0]!;
      try {
        await this.#deliver(nc, jid);
      } catch (e) {
        this.#log.debug("scheduled run not recorded yet, will retry", { jid, error: e });
        return;
      }
      if (this.#pending[0] === jid) this.#pending.shift();
      await Deno.remove(`${this.#dir}/${jid}`).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }

  /** Store the return (first write wins), then have a master record the job. */
  async #deliver(nc: NatsConnection, jid: string): Promise<void> {
    let report: ScheduleReport;
    let ret: Uint8Array;
    try {
      const kept = decode(await Deno.readFile(`${this.#dir}/${jid}`)) as Record<string, unknown>;
      report = ScheduleReport.parse(kept.report, jid);
      if (!(kept.ret instanceof Uint8Array)) throw new TypeError("it holds no return");
      ret = kept.ret;
    } catch (e) {
      // Unreadable runs are dropped, not retried forever in front of the others.
      this.#log.error("scheduled run dropped: its file cannot be read", { jid, error: e });
      return;
    }
    const ack = await nc.request(subjects.jobReturn(jid, report.peel_id), ret, {
      headers: FIRST_WRITE_HEADERS,
      timeout: REQUEST_TIMEOUT_MS,
    });
    const refusal = pubAckRefusal(ack.data);
    if (refusal !== undefined && !isAlreadyStored(refusal)) {
      throw new Error(`job-returns refused the return: ${refusal}`);
    }
    const reply = decode(
      (await nc.request(subjects.scheduleReport(report.peel_id), encode(report), {
        timeout: REQUEST_TIMEOUT_MS,
      })).data,
    ) as { ok?: boolean; error?: string };
    if (reply?.ok !== true) throw new Error(reply?.error ?? "no master recorded the run");
    this.#log.info("scheduled run recorded as a job", { jid, schedule: report.schedule });
  }
}
