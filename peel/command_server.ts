/**
 * A peel's command loop: takes ExecRequests on `zester.cmd.<peel-id>`, validates them, runs each
 * job once, and sends its return to `zester.job.<jid>.return.<peel-id>`, retrying until the
 * `job-events` stream confirms it is stored. Shared by the peel and the benchmark's fleet simulator, so the simulator
 * measures the real request handling.
 * @module
 */
import type { Msg, NatsConnection, Subscription } from "nats";
import { AckedPublisher, decode, encode, subjects } from "../lib/bus/mod.ts";
import { ExecRequest, type ExecReturn } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { execute } from "./exec.ts";
import type { Broker } from "./functions/mod.ts";
import type { StateTree } from "./state_tree.ts";

/** How many job ids a peel remembers, to run each job once even if it is delivered twice. */
const DEDUP_WINDOW = 10_000;

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
  readonly #publisher: AckedPublisher;
  readonly #seen = new Set<string>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #sub: Subscription;

  /** Subscribe to the peel's command subject. */
  constructor(opts: CommandServerOptions) {
    this.#opts = opts;
    this.#publisher = new AckedPublisher(opts.nc);
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
    this.#publisher.close();
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
    await this.#sendReturn(await execute(req, { peelId, facts, broker, log, states }));
  }

  /** Publish a return and wait for the job-events stream to store it, retrying a few times. */
  async #sendReturn(ret: ExecReturn): Promise<void> {
    const subject = subjects.jobReturn(ret.jid, ret.peel_id);
    const data = encode(ret);
    for (let attempt = 1;; attempt++) {
      try {
        await this.#publisher.publish(subject, data);
        return;
      } catch (e) {
        if (attempt >= 3) {
          this.#opts.log.error("return not confirmed by the job-events stream", {
            jid: ret.jid,
            error: e,
          });
          return;
        }
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }
}
