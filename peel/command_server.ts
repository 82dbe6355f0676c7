/**
 * A peel's command loop: takes ExecRequests on `zester.cmd.<peel-id>`, validates them, runs each
 * job once, and stores its return in `job-returns` under `<jid>.<peel-id>`, first write wins: a
 * stored return is never replaced, not even by the peel itself. The bucket's stream
 * confirms the write to the owning master (the request's `ack` subject, with the outcome in the
 * reply subject).
 *
 * A request for a job already seen runs nothing: the kept return is sent again, or the master
 * hears that the job is still running; a job cut short by a restart of the peel is reported
 * with an unknown outcome. A job never seen runs if its deadline has not passed, so a peel that
 * connects while the job is on still runs it. What the peel saw is kept in its data dir (see
 * `job_journal.ts`), so a restart keeps it.
 *
 * A job canceled on `zester.job.<jid>.cancel` is stopped. One state run at a time: a second
 * gets Salt's "already running" answer, naming the first, unless called with `concurrent=True`.
 *
 * Shared by the peel and the benchmark's fleet simulator, so the simulator measures the real
 * request handling.
 * @module
 */
import { headers, type Msg, type NatsConnection, type Subscription } from "nats";
import {
  ackOfRequest,
  ackReplySubject,
  decode,
  encode,
  FIRST_WRITE,
  subjects,
} from "../lib/bus/mod.ts";
import {
  CancelEvent,
  ExecRequest,
  type ExecReturn,
  returnOutcome,
  RUNNING_ANSWER,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { type ExecCall, execute, JobCancel, JobCanceledError } from "./exec.ts";
import type { Broker } from "./broker/mod.ts";
import {
  type Basket,
  FUNCTIONS,
  type ScheduleControl,
  type SettingsAccess,
} from "./functions/mod.ts";
import { JobJournal, type Kept } from "./job_journal.ts";
import { jobRan } from "./metrics.ts";
import type { StateTree } from "./state/mod.ts";

/** The stream stores a return only if its key holds nothing yet. */
const RETURN_HEADERS = headers();
RETURN_HEADERS.set(FIRST_WRITE.header, FIRST_WRITE.value);

/** What the command loop needs. */
export interface CommandServerOptions {
  /** The connection to take commands on; without it, none until {@linkcode CommandServer.listen}. */
  nc?: NatsConnection;
  peelId: string;
  facts: () => Record<string, unknown>;
  broker: Broker;
  log: Logger;
  /** The mirrored state tree, for `state.*`. */
  states?: () => StateTree | undefined;
  /** The basket, for `mine.*` and templates. */
  basket?: Basket;
  /** The peel's settings, for `pillar.*` and templates. */
  settings?: SettingsAccess;
  /** Where the job journal lives; without it, the peel remembers jobs in memory only. */
  journalDir?: string;
  /** The peel's scheduler, for `schedule.*`. */
  schedule?: ScheduleControl;
}

interface Running {
  fun: string;
  /** `Date.now()` at the start; formatted only for Salt's "already running" answer. */
  started: number;
  cancel: JobCancel;
}

/** State functions that apply states, which Salt runs one at a time on a host. */
function isStateRun(fun: string): boolean {
  return fun === "state.apply" || fun === "state.sls" || fun === "state.highstate" ||
    (!FUNCTIONS.has(fun) && fun.includes("."));
}

/** Serves one peel's commands until stopped. */
export class CommandServer {
  readonly #opts: CommandServerOptions;
  readonly #journal: JobJournal;
  readonly #running = new Map<string, Running>();
  readonly #inflight = new Set<Promise<void>>();
  #subs: Subscription[] = [];
  #nc?: NatsConnection;

  private constructor(opts: CommandServerOptions, journal: JobJournal) {
    this.#opts = opts;
    this.#journal = journal;
  }

  /**
   * Open the journal and, given `opts.nc`, take commands. Scheduled runs
   * ({@linkcode CommandServer.runLocal}) need no connection.
   */
  static async start(opts: CommandServerOptions): Promise<CommandServer> {
    const journal = await JobJournal.open(opts.journalDir, opts.log, outcomeOf);
    const server = new CommandServer(opts, journal);
    if (opts.nc) server.listen(opts.nc);
    return server;
  }

  /** Subscribe to the peel's command and cancel subjects on `nc`. */
  listen(nc: NatsConnection): void {
    const on = (what: string, handle: (msg: Msg) => void) => (err: Error | null, msg: Msg) => {
      if (err) this.#opts.log.error(`${what} subscription failed`, { error: err });
      else handle(msg);
    };
    this.#nc = nc;
    this.#subs = [
      nc.subscribe(subjects.cmd(this.#opts.peelId), {
        callback: on("command", (m) => this.#onCommand(m)),
      }),
      nc.subscribe(subjects.jobCancelAll, {
        callback: on("cancel", (m) => this.#onCancel(m)),
      }),
    ];
  }

  /** Stop taking commands and wait for running jobs to send their returns. */
  async stop(): Promise<void> {
    for (const sub of this.#subs) sub.unsubscribe();
    await Promise.allSettled([...this.#inflight]);
    await this.#journal.close();
  }

  #onCommand(msg: Msg): void {
    let req: Command;
    try {
      const ack = ackOfRequest(msg.reply, this.#opts.peelId);
      if (ack === undefined) {
        throw new TypeError(
          `Invalid reply subject ${
            JSON.stringify(msg.reply ?? "")
          }: expected <ack>.${this.#opts.peelId}.answer`,
        );
      }
      req = { ...ExecRequest.parse(decode(msg.data)), ack };
    } catch (e) {
      this.#opts.log.warn("dropping malformed command", { subject: msg.subject, error: e });
      return;
    }
    const jid = req.jid;
    const deadline = Date.parse(req.deadline);
    const kept = this.#journal.kept(jid);
    if (kept) {
      this.#opts.log.info("sending return again", { jid });
      this.#publish(req, kept);
    } else if (this.#running.has(jid)) {
      this.#opts.log.debug("asked about a job still running", { jid });
      if (msg.reply) msg.respond(RUNNING_ANSWER);
    } else if (this.#journal.interrupted(jid)) {
      this.#opts.log.warn("asked about a job cut short by a restart", { jid });
      this.#track(this.#unknown(req));
    } else if (this.#journal.seen(jid)) {
      this.#opts.log.warn("asked for a return no longer kept", { jid });
    } else if (Date.now() >= deadline) {
      this.#opts.log.warn("refusing a job past its deadline", { jid, deadline: req.deadline });
    } else {
      this.#track(this.#run(req, deadline));
    }
  }

  #track(p: Promise<void>): void {
    const done = p.catch((e) => this.#opts.log.error("job failed", { error: e }))
      .finally(() => this.#inflight.delete(done));
    this.#inflight.add(done);
  }

  async #run(req: Command, deadline: number): Promise<void> {
    const t0 = performance.now();
    const ret = await this.#execute(req, () => this.#journal.start(req.jid, deadline));
    const kept = encodeReturn(ret, this.#opts.log);
    jobRan(req.fun, kept.outcome, (performance.now() - t0) / 1000, ret.result);
    await this.#journal.finish(req.jid, kept);
    this.#publish(req, kept);
  }

  /**
   * Run a job the peel starts itself (a scheduled run) as it runs a master's: same functions,
   * timeout, cancel and one state run at a time. It has no journal entry: no master asks for it.
   */
  runLocal(call: ExecCall): Promise<ExecReturn> {
    const done = this.#execute(call);
    this.#track(done.then(() => {}));
    return done;
  }

  /** Run `call` once `recorded` (if any) resolves; its return. */
  async #execute(call: ExecCall, recorded?: () => Promise<void>): Promise<ExecReturn> {
    const { peelId, facts, broker, log, basket } = this.#opts;
    const stateRun = isStateRun(call.fun);
    // Checked and registered in one step, before anything is awaited.
    const busy = stateRun && call.kwargs.concurrent !== true ? this.#stateRun() : undefined;
    const running: Running = { fun: call.fun, started: Date.now(), cancel: new JobCancel() };
    this.#running.set(call.jid, running);
    try {
      await recorded?.();
      return busy ? this.#alreadyRunning(call, ...busy) : await execute(
        stateRun ? { ...call, kwargs: withoutConcurrent(call.kwargs) } : call,
        {
          peelId,
          facts,
          broker,
          log,
          states: this.#opts.states?.(),
          basket,
          cancel: running.cancel,
          schedule: this.#opts.schedule,
          settings: this.#opts.settings,
        },
      );
    } catch (e) {
      return this.#failed(call, `Cannot record the job in the data dir: ${(e as Error).message}`);
    } finally {
      this.#running.delete(call.jid);
    }
  }

  /** A state run under way here, with its JID. */
  #stateRun(): [string, Running] | undefined {
    for (const [jid, r] of this.#running) if (isStateRun(r.fun)) return [jid, r];
    return undefined;
  }

  #failed(req: ExecCall, error: string, extra: Partial<ExecReturn> = {}): ExecReturn {
    return {
      jid: req.jid,
      peel_id: this.#opts.peelId,
      fun: req.fun,
      success: false,
      error,
      ...extra,
      started: new Date().toISOString(),
      duration_ms: 0,
    };
  }

  /** Salt's answer to a state run while another runs. */
  #alreadyRunning(req: ExecCall, jid: string, other: Running): ExecReturn {
    return this.#failed(
      req,
      `The function "${other.fun}" is running as PID ${Deno.pid} and was started at ${
        new Date(other.started).toISOString()
      } with jid ${jid}`,
      { retcode: 1 },
    );
  }

  /** Report a job a restart cut short: what it did is unknown. */
  async #unknown(req: Command): Promise<void> {
    const ret = this.#failed(
      req,
      `The peel restarted while running ${req.fun}; its outcome is unknown`,
      { outcome: "unknown" },
    );
    const kept = encodeReturn(ret, this.#opts.log);
    await this.#journal.finish(req.jid, kept);
    this.#publish(req, kept);
  }

  #onCancel(msg: Msg): void {
    let ev: CancelEvent;
    try {
      ev = CancelEvent.parse(decode(msg.data));
    } catch (e) {
      this.#opts.log.warn("ignoring a malformed cancel", { subject: msg.subject, error: e });
      return;
    }
    const running = this.#running.get(ev.jid);
    if (!running || msg.subject !== subjects.jobCancel(ev.jid)) return;
    this.#opts.log.info("canceling job", { jid: ev.jid, user: ev.user });
    running.cancel.cancel(new JobCanceledError(ev.user));
  }

  /** Write the return into `job-returns`; the stream's ack goes to the master. */
  #publish(req: Command, { data, outcome }: Kept): void {
    const { peelId, log } = this.#opts;
    try {
      const reply = ackReplySubject(req.ack, peelId, outcome);
      this.#nc!.publish(subjects.jobReturn(req.jid, peelId), data, {
        reply,
        headers: RETURN_HEADERS,
      });
    } catch (e) {
      // Closed connection: the master asks again after the peel reconnects.
      log.error("cannot send return", { jid: req.jid, error: e });
    }
  }
}

/** A master's request, with the ack subject its reply subject carries. */
type Command = ExecRequest & { ack: string };

/** A state run's keyword arguments without `concurrent`, which only the command loop reads. */
function withoutConcurrent(kwargs: Record<string, unknown>): Record<string, unknown> {
  const { concurrent: _, ...rest } = kwargs;
  return rest;
}

/** The outcome of an encoded return kept on disk. */
function outcomeOf(data: Uint8Array): Kept["outcome"] {
  try {
    return returnOutcome(decode(data) as ExecReturn);
  } catch {
    return "failed";
  }
}

/** Encode a return; a result MessagePack cannot carry becomes a failed return saying so. */
function encodeReturn(ret: ExecReturn, log: Logger): Kept {
  try {
    return { data: encode(ret), outcome: returnOutcome(ret) };
  } catch (e) {
    const error = `Cannot send the result of ${ret.fun}: ${(e as Error).message}`;
    log.error("cannot encode return", { jid: ret.jid, error });
    const { result: _, ...rest } = ret;
    return { data: encode({ ...rest, success: false, error }), outcome: "failed" };
  }
}
