/**
 * A peel's command loop: takes ExecRequests on `zester.cmd.<peel-id>`, validates them, runs each
 * job once, and stores its return in `job-returns` under `<jid>.<peel-id>`, first write wins: a
 * stored return is never replaced, not even by the peel itself. The bucket's stream
 * confirms the write to the owning master (the request's `ack` subject, with the outcome in the
 * reply subject), which asks again with `resend` if no confirmation reached it; recent returns
 * are kept for that.
 * Shared by the peel and the benchmark's fleet simulator, so the simulator measures the real
 * request handling.
 * @module
 */
import { headers, type Msg, type NatsConnection, type Subscription } from "nats";
import { decode, encode, FIRST_WRITE, returnReplySubject, subjects } from "../lib/bus/mod.ts";
import { ExecRequest, type ExecReturn } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { execute } from "./exec.ts";
import type { Broker } from "./functions/mod.ts";
import type { StateTree } from "./state_tree.ts";

/** How many job ids a peel remembers, to run each job once even if it is delivered twice. */
const DEDUP_WINDOW = 10_000;
/** How many recent returns a peel keeps for a master's `resend`, and their total size cap. */
const KEEP_RETURNS = 256;
const KEEP_RETURN_BYTES = 8 * 1024 * 1024;

/** The stream stores a return only if its key holds nothing yet. */
const RETURN_HEADERS = headers();
RETURN_HEADERS.set(FIRST_WRITE.header, FIRST_WRITE.value);

interface Kept {
  data: Uint8Array;
  success: boolean;
}

/** What the command loop needs. */
export interface CommandServerOptions {
  nc: NatsConnection;
  peelId: string;
  facts: () => Record<string, unknown>;
  broker: Broker;
  log: Logger;
  /** The mirrored state tree, for `state.*`. */
  states?: () => StateTree | undefined;
}

/** Serves one peel's commands until stopped. */
export class CommandServer {
  readonly #opts: CommandServerOptions;
  readonly #seen = new Set<string>();
  readonly #running = new Set<string>();
  readonly #kept = new Map<string, Kept>();
  #keptBytes = 0;
  readonly #inflight = new Set<Promise<void>>();
  readonly #sub: Subscription;

  /** Subscribe to the peel's command subject. */
  constructor(opts: CommandServerOptions) {
    this.#opts = opts;
    this.#sub = opts.nc.subscribe(subjects.cmd(opts.peelId), {
      callback: (err, msg) => {
        if (err) opts.log.error("command subscription failed", { error: err });
        else this.#onCommand(msg);
      },
    });
  }

  /** Stop taking commands and wait for running jobs to send their returns. */
  async stop(): Promise<void> {
    this.#sub.unsubscribe();
    await Promise.allSettled([...this.#inflight]);
  }

  #onCommand(msg: Msg): void {
    let req: ExecRequest;
    try {
      req = ExecRequest.parse(decode(msg.data));
    } catch (e) {
      this.#opts.log.warn("dropping malformed command", { subject: msg.subject, error: e });
      if (msg.reply) msg.respond(encode({ ok: false, error: (e as Error).message }));
      return;
    }
    if (req.resend) return this.#resend(req);
    if (this.#seen.has(req.jid)) {
      this.#opts.log.info("ignoring repeated job", { jid: req.jid });
      return;
    }
    this.#seen.add(req.jid);
    if (this.#seen.size > DEDUP_WINDOW) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    const p = this.#run(req).finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  async #run(req: ExecRequest): Promise<void> {
    const { peelId, facts, broker, log } = this.#opts;
    const states = this.#opts.states?.();
    this.#running.add(req.jid);
    try {
      const ret = await execute(req, { peelId, facts, broker, log, states });
      const kept = encodeReturn(ret, log);
      this.#keep(req.jid, kept);
      this.#publish(req, kept);
    } finally {
      this.#running.delete(req.jid);
    }
  }

  /** Send a kept return again; a job this peel never ran is not run now. */
  #resend(req: ExecRequest): void {
    const fields = { jid: req.jid };
    const kept = this.#kept.get(req.jid);
    if (kept) {
      this.#opts.log.info("sending return again", fields);
      this.#publish(req, kept);
    } else if (this.#running.has(req.jid)) {
      this.#opts.log.debug("asked for a return still being made", fields);
    } else if (this.#seen.has(req.jid)) {
      this.#opts.log.warn("asked for a return no longer kept", fields);
    } else {
      this.#opts.log.warn("asked for the return of a job this peel never received", fields);
    }
  }

  /** Write the return into `job-returns`; the stream's ack goes to the master. */
  #publish(req: ExecRequest, { data, success }: Kept): void {
    const { nc, peelId, log } = this.#opts;
    try {
      const reply = returnReplySubject(req.ack, peelId, success);
      nc.publish(subjects.jobReturn(req.jid, peelId), data, { reply, headers: RETURN_HEADERS });
    } catch (e) {
      // Closed connection: the master will ask again with `resend` after the peel reconnects.
      log.error("cannot send return", { jid: req.jid, error: e });
    }
  }

  #keep(jid: string, kept: Kept): void {
    this.#kept.set(jid, kept);
    this.#keptBytes += kept.data.byteLength;
    while (this.#kept.size > KEEP_RETURNS || this.#keptBytes > KEEP_RETURN_BYTES) {
      const [oldest, { data }] = this.#kept.entries().next().value!;
      this.#kept.delete(oldest);
      this.#keptBytes -= data.byteLength;
    }
  }
}

/** Encode a return; a result MessagePack cannot carry becomes a failed return saying so. */
function encodeReturn(ret: ExecReturn, log: Logger): Kept {
  try {
    return { data: encode(ret), success: ret.success };
  } catch (e) {
    const error = `Cannot send the result of ${ret.fun}: ${(e as Error).message}`;
    log.error("cannot encode return", { jid: ret.jid, error });
    const { result: _, ...rest } = ret;
    return { data: encode({ ...rest, success: false, error }), success: false };
  }
}
