/**
 * The peel process: publishes its facts, answers ExecRequests on `zester.cmd.<peel-id>`, and
 * sends returns to `zester.job.<jid>.return.<peel-id>`. It writes only in its data dir and
 * spawns only the broker, which does anything privileged for it.
 * @module
 */
import type { JetStreamClient, Msg, NatsConnection, Subscription } from "nats";
import { closeBus, connectBus, decode, encode, subjects } from "../lib/bus/mod.ts";
import { busOptions, type PeelConfig } from "../lib/config/mod.ts";
import { ExecRequest, type ExecReturn, type FactsMessage } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { BrokerClient } from "./broker/mod.ts";
import { execute } from "./exec.ts";
import { collectFacts, type SysInfo } from "./facts/mod.ts";

/** How long a peel remembers job ids, to run each job once even if it is delivered twice. */
const DEDUP_WINDOW = 10_000;
/** Retry delay for facts no master has acknowledged yet. */
const FACTS_RETRY_MS = 10_000;

/** A running peel. */
export class Peel {
  readonly #cfg: PeelConfig;
  readonly #log: Logger;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #broker: BrokerClient;
  readonly #seen = new Set<string>();
  readonly #inflight = new Set<Promise<void>>();
  #facts: Record<string, unknown> = {};
  #sub?: Subscription;
  #factsTimer?: ReturnType<typeof setTimeout>;
  #stopping = false;

  private constructor(cfg: PeelConfig, log: Logger, nc: NatsConnection) {
    this.#cfg = cfg;
    this.#log = log;
    this.#nc = nc;
    this.#js = nc.jetstream();
    this.#broker = new BrokerClient({
      launcher: cfg.broker.launcher,
      idleTimeoutMs: cfg.broker.idle_timeout,
      log,
    });
  }

  /** Prepare the data dir, connect, collect and publish facts, and start answering jobs. */
  static async start(cfg: PeelConfig, log: Logger): Promise<Peel> {
    await Deno.mkdir(cfg.data_dir, { recursive: true, mode: 0o700 });
    const nc = await connectBus(busOptions(cfg, `zester-peel-${cfg.id}`), log);
    const peel = new Peel(cfg, log, nc);
    await peel.#refreshFacts();
    peel.#sub = nc.subscribe(subjects.cmd(cfg.id), {
      callback: (err, msg) => {
        if (err) log.error("command subscription failed", { error: err });
        else peel.#onCommand(msg);
      },
    });
    await nc.flush();
    void peel.#publishFacts();
    log.info("peel ready", { facts: Object.keys(peel.#facts).length });
    return peel;
  }

  /** The facts last collected. */
  get facts(): Record<string, unknown> {
    return this.#facts;
  }

  /** Stop taking jobs, let running ones return, stop the broker and close. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#factsTimer);
    this.#sub?.unsubscribe();
    await Promise.allSettled([...this.#inflight]);
    await this.#broker.close();
    await closeBus(this.#nc);
    this.#log.info("peel stopped");
  }

  async #refreshFacts(): Promise<void> {
    const { facts, errors } = await collectFacts({
      peelId: this.#cfg.id,
      factsFile: this.#cfg.facts_file,
      sysinfo: async () =>
        await this.#broker.request("sysinfo", {}, { timeoutMs: 10_000 }) as SysInfo,
    });
    for (const error of errors) this.#log.warn("fact collector failed", { error });
    this.#facts = facts;
  }

  /** Send facts until a master acknowledges them, then again every `facts_interval`. */
  async #publishFacts(): Promise<void> {
    if (this.#stopping) return;
    const msg: FactsMessage = {
      peel_id: this.#cfg.id,
      facts: this.#facts,
      collected: new Date().toISOString(),
    };
    let next = this.#cfg.facts_interval;
    try {
      const reply = decode(
        (await this.#nc.request(subjects.fact(this.#cfg.id), encode(msg), {
          timeout: 5_000,
        })).data,
      ) as { ok?: boolean; error?: string };
      if (reply?.ok !== true) throw new Error(reply?.error ?? "master refused the facts");
      this.#log.debug("facts published");
    } catch (e) {
      next = Math.min(next, FACTS_RETRY_MS);
      this.#log.warn("facts not stored yet, will retry", { error: e, retry_ms: next });
    }
    if (this.#stopping) return;
    this.#factsTimer = setTimeout(async () => {
      await this.#refreshFacts().catch((e) => this.#log.error("facts failed", { error: e }));
      await this.#publishFacts();
    }, next);
  }

  #onCommand(msg: Msg): void {
    let req: ExecRequest;
    try {
      req = ExecRequest.parse(decode(msg.data));
    } catch (e) {
      this.#log.warn("dropping malformed command", { subject: msg.subject, error: e });
      if (msg.reply) msg.respond(encode({ ok: false, error: (e as Error).message }));
      return;
    }
    if (this.#seen.has(req.jid)) {
      this.#log.info("ignoring repeated job", { jid: req.jid });
      return;
    }
    this.#remember(req.jid);
    const p = this.#run(req).finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  #remember(jid: string): void {
    this.#seen.add(jid);
    if (this.#seen.size > DEDUP_WINDOW) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  async #run(req: ExecRequest): Promise<void> {
    const ret = await execute(req, {
      peelId: this.#cfg.id,
      facts: () => this.#facts,
      broker: this.#broker,
      log: this.#log,
    });
    await this.#sendReturn(ret);
  }

  /** Publish a return and wait for the job-events stream to store it, retrying a few times. */
  async #sendReturn(ret: ExecReturn): Promise<void> {
    const subject = subjects.jobReturn(ret.jid, ret.peel_id);
    const data = encode(ret);
    for (let attempt = 1;; attempt++) {
      try {
        await this.#js.publish(subject, data, {
          msgID: `${ret.jid}.${ret.peel_id}`,
          timeout: 5_000,
        });
        return;
      } catch (e) {
        if (attempt >= 3) {
          // The stream did not confirm; send it plainly so a master still sees it.
          this.#nc.publish(subject, data);
          this.#log.error("return not confirmed by the job-events stream; sent unconfirmed", {
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
