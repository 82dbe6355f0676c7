/**
 * The peel process: publishes its facts, answers ExecRequests on `zester.cmd.<peel-id>`, and
 * stores returns in `job-returns`. It writes only in its data dir and spawns only the broker,
 * which does anything privileged for it.
 * @module
 */
import type { NatsConnection } from "nats";
import {
  BUCKETS,
  closeBus,
  connectBusRetrying,
  decode,
  encode,
  openBucket,
  subjects,
} from "../lib/bus/mod.ts";
import { busOptions, type PeelConfig } from "../lib/config/mod.ts";
import type { FactsMessage } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { BrokerClient } from "./broker/mod.ts";
import { CommandServer } from "./command_server.ts";
import { PeelSettings } from "./settings_source.ts";
import { StateSync } from "./state_sync.ts";
import { templateHost } from "./template_host.ts";
import { collectFacts, type SysInfo } from "./facts/mod.ts";

/** Retry delay for facts no master has acknowledged yet. */
const FACTS_RETRY_MS = 10_000;

/** A running peel. */
export class Peel {
  readonly #cfg: PeelConfig;
  readonly #log: Logger;
  readonly #nc: NatsConnection;
  readonly #broker: BrokerClient;
  #facts: Record<string, unknown> = {};
  #commands?: CommandServer;
  #sync?: StateSync;
  #syncTimer?: ReturnType<typeof setTimeout>;
  readonly #settings: PeelSettings;
  #settingsTimer?: ReturnType<typeof setTimeout>;
  #factsTimer?: ReturnType<typeof setTimeout>;
  /** Facts are to be sent again as soon as the send under way ends. */
  #factsAgain = false;
  #stopping = false;

  private constructor(cfg: PeelConfig, log: Logger, nc: NatsConnection) {
    this.#cfg = cfg;
    this.#log = log;
    this.#nc = nc;
    this.#broker = new BrokerClient({
      launcher: cfg.broker.launcher,
      idleTimeoutMs: cfg.broker.idle_timeout,
      log,
    });
    this.#settings = new PeelSettings({
      peelId: cfg.id,
      facts: () => this.#facts,
      host: templateHost(this.#broker),
      keptPath: `${cfg.data_dir}/settings.json`,
      log,
      onChange: () => this.#publishFactsSoon(),
    });
  }

  /**
   * Prepare the data dir, connect (retrying while NATS is unreachable or refuses the peel, until
   * `signal` aborts), collect and publish facts, and start answering jobs.
   */
  static async start(cfg: PeelConfig, log: Logger, signal?: AbortSignal): Promise<Peel> {
    await Deno.mkdir(cfg.data_dir, { recursive: true, mode: 0o700 });
    const nc = await connectBusRetrying(busOptions(cfg, `zester-peel-${cfg.id}`), log, signal);
    const peel = new Peel(cfg, log, nc);
    await peel.#refreshFacts();
    await peel.#startSync();
    await peel.#startSettings();
    peel.#commands = await CommandServer.start({
      nc,
      peelId: cfg.id,
      facts: () => peel.#facts,
      broker: peel.#broker,
      log,
      states: () => peel.#sync?.tree,
      settings: peel.#settings,
      journalDir: `${cfg.data_dir}/jobs`,
    });
    await nc.flush();
    void peel.#publishFacts();
    log.info("peel ready", { facts: Object.keys(peel.#facts).length });
    return peel;
  }

  /**
   * Mirror the state tree. Without the `state-files` bucket (no master has provisioned storage
   * yet) the peel still serves everything else and tries again every 10 s.
   */
  async #startSync(): Promise<void> {
    if (this.#stopping) return;
    try {
      const kv = await openBucket(this.#nc, BUCKETS.stateFiles);
      const sync = new StateSync(kv, `${this.#cfg.data_dir}/states-cache`, this.#log);
      await sync.start();
      this.#sync = sync;
    } catch (e) {
      this.#log.warn("state tree not available yet, will retry", { error: e, retry_ms: 10_000 });
      this.#syncTimer = setTimeout(() => void this.#startSync(), 10_000);
    }
  }

  /**
   * Follow the settings tree. Without the `settings-files` bucket the peel uses its
   * last-known-good settings, says so, and tries again every 10 s.
   */
  async #startSettings(): Promise<void> {
    if (this.#stopping) return;
    try {
      await this.#settings.follow(await openBucket(this.#nc, BUCKETS.settingsFiles));
    } catch (e) {
      this.#settings.unavailable(`cannot read settings-files: ${(e as Error).message}`);
      this.#settingsTimer = setTimeout(() => void this.#startSettings(), 10_000);
    }
  }

  /** The facts last collected. */
  get facts(): Record<string, unknown> {
    return this.#facts;
  }

  /** Stop taking jobs, let running ones return, stop the broker and close. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#factsTimer);
    clearTimeout(this.#syncTimer);
    clearTimeout(this.#settingsTimer);
    await this.#commands?.stop();
    this.#sync?.stop();
    this.#settings.stop();
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
    this.#settings.factsChanged();
  }

  /** Send the facts now, or right after the send under way (new settings to target on). */
  #publishFactsSoon(): void {
    if (this.#factsTimer === undefined) {
      this.#factsAgain = true;
      return;
    }
    clearTimeout(this.#factsTimer);
    this.#factsTimer = undefined;
    void this.#publishFacts();
  }

  /**
   * Send facts, with the settings masters may target on (compiled, secrets not resolved), until
   * a master acknowledges them, then again every `facts_interval`.
   */
  async #publishFacts(): Promise<void> {
    if (this.#stopping) return;
    const settings = this.#settings.compiled;
    const msg: FactsMessage = {
      peel_id: this.#cfg.id,
      facts: this.#facts,
      ...(settings ? { settings } : {}),
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
    if (this.#factsAgain) {
      this.#factsAgain = false;
      next = 0;
    }
    this.#factsTimer = setTimeout(async () => {
      this.#factsTimer = undefined;
      await this.#refreshFacts().catch((e) => this.#log.error("facts failed", { error: e }));
      await this.#publishFacts();
    }, next);
  }
}
