/**
 * The peel process: publishes its facts and its basket entries, answers ExecRequests on
 * `zester.cmd.<peel-id>`, and stores returns in `job-returns`. It writes only in its data dir
 * and spawns only the broker, which does anything privileged for it.
 * @module
 */
import type { NatsConnection } from "nats";
import {
  BUCKETS,
  checkServerUrls,
  closeBus,
  connectBusRetrying,
  decode,
  encode,
  openBucket,
  subjects,
} from "../lib/bus/mod.ts";
import { busOptions, listenAddr, PEEL_CONFIG_PATH, type PeelConfig } from "../lib/config/mod.ts";
import { HealthServer } from "../lib/http/mod.ts";
import { type FactsMessage, ksuid } from "../lib/job/mod.ts";
import { warnIfCertExpiring } from "../lib/auth/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { watchBus } from "../lib/metrics/mod.ts";
import { VERSION } from "../lib/version/mod.ts";
import type { ScheduleSource } from "../lib/schedule/mod.ts";
import { type BasketFunction, basketFunction } from "../lib/config/mod.ts";
import type { BoxKey } from "../lib/secrets/mod.ts";
import { BrokerClient } from "./broker/mod.ts";
import { PeelBasket } from "./basket.ts";
import { CommandServer } from "./command_server.ts";
import { peelChecks } from "./health.ts";
import { brokerOpDone, peelConnected } from "./metrics.ts";
import { execute } from "./exec.ts";
import { FUNCTIONS } from "./functions/mod.ts";
import { ScheduleOutbox } from "./schedule_outbox.ts";
import { Scheduler } from "./scheduler.ts";
import { PeelSettings } from "./settings_source.ts";
// Not `./state/mod.ts`: an idle peel does not load the state pipeline (templates, modules).
import { StateSync } from "./state/sync.ts";
import { templateHost } from "./state/template_host.ts";
import { collectFacts, type SysInfo } from "./facts/mod.ts";
import { peelBoxKey, peelCreds } from "./enroll.ts";

/** Retry delay for facts no master has acknowledged yet. */
const FACTS_RETRY_MS = 10_000;
/** How long one basket function may run. */
const BASKET_FUNCTION_TIMEOUT_MS = 60_000;

/** A running peel. */
export class Peel {
  readonly #cfg: PeelConfig;
  readonly #log: Logger;
  readonly #nc: NatsConnection;
  readonly #broker: BrokerClient;
  readonly #health?: HealthServer;
  #detachGauge?: () => void;
  #facts: Record<string, unknown> = {};
  #commands?: CommandServer;
  readonly #basket: PeelBasket;
  readonly #configPath: string;
  #scheduler?: Scheduler;
  #outbox?: ScheduleOutbox;
  #sync?: StateSync;
  #syncTimer?: ReturnType<typeof setTimeout>;
  readonly #settings: PeelSettings;
  /** `schedule:` of the settings, as last compiled. */
  #settingsSchedule: unknown;
  /** `mine_functions:` of the settings, as last compiled. */
  #settingsBasket: BasketFunction[] = [];
  #settingsTimer?: ReturnType<typeof setTimeout>;
  #factsTimer?: ReturnType<typeof setTimeout>;
  /** Facts are to be sent again as soon as the send under way ends. */
  #factsAgain = false;
  #stopping = false;

  private constructor(
    cfg: PeelConfig,
    baseLog: Logger,
    nc: NatsConnection,
    configPath: string,
    boxKey: BoxKey,
    health?: HealthServer,
  ) {
    const log = baseLog.redacting((line) => this.#settings?.redactLine(line) ?? line);
    this.#cfg = cfg;
    this.#configPath = configPath;
    this.#log = log;
    this.#nc = nc;
    this.#health = health;
    this.#broker = new BrokerClient({
      launcher: cfg.broker.launcher,
      idleTimeoutMs: cfg.broker.idle_timeout,
      log,
      onDone: brokerOpDone,
    });
    this.#basket = new PeelBasket({
      nc,
      peelId: cfg.id,
      log,
      // Settings' mine_functions win on a shared name.
      functions: () => [
        ...cfg.basket.functions.filter((f) => !this.#settingsBasket.some((b) => b.name === f.name)),
        ...this.#settingsBasket,
      ],
      intervalMs: cfg.basket.interval,
      run: (fn) =>
        execute({
          jid: ksuid(),
          fun: fn.fun,
          args: fn.args,
          kwargs: fn.kwargs,
          timeout_ms: BASKET_FUNCTION_TIMEOUT_MS,
        }, {
          peelId: cfg.id,
          facts: () => this.#facts,
          broker: this.#broker,
          log,
          states: this.#sync?.tree,
          settings: this.#settings,
        }),
    });
    this.#settings = new PeelSettings({
      peelId: cfg.id,
      facts: () => this.#facts,
      host: templateHost(this.#broker),
      keptPath: `${cfg.data_dir}/settings.sealed`,
      boxKey,
      log,
      onChange: (settings) => this.#settingsChanged(settings),
    });
  }

  /**
   * Prepare the data dir, serve the health endpoints (not ready yet), connect (retrying while
   * NATS is unreachable or refuses the peel, until `signal` aborts), collect and publish facts,
   * and start answering jobs.
   */
  static async start(
    cfg: PeelConfig,
    log: Logger,
    signal?: AbortSignal,
    configPath = PEEL_CONFIG_PATH,
  ): Promise<Peel> {
    await Deno.mkdir(cfg.data_dir, { recursive: true, mode: 0o700 });
    // Checked before anything listens: a refused URL is the error, whatever the grants.
    checkServerUrls(cfg.nats_url, cfg.insecure);
    const addr = listenAddr(cfg.health_addr);
    const health = addr && new HealthServer({ addr, component: "peel", version: VERSION, log });
    if (cfg.nats_cert) await warnIfCertExpiring(cfg.nats_cert, "NATS client", log);
    let nc: NatsConnection;
    try {
      const credsFile = await peelCreds(cfg, log, signal);
      nc = await connectBusRetrying(
        { ...busOptions(cfg, `zester-peel-${cfg.id}`), credsFile },
        log,
        signal,
      );
    } catch (e) {
      await health?.stop();
      throw e;
    }
    const peel = new Peel(cfg, log, nc, configPath, await peelBoxKey(cfg), health);
    const bus = watchBus(nc);
    peel.#detachGauge = peelConnected.attach(() => bus.connected ? 1 : 0);
    await peel.#refreshFacts();
    await peel.#startSync();
    await peel.#startSettings();
    peel.#commands = await CommandServer.start({
      nc,
      peelId: cfg.id,
      facts: () => peel.#facts,
      broker: peel.#broker,
      log: peel.#log,
      states: () => peel.#sync?.tree,
      basket: peel.#basket,
      settings: peel.#settings,
      journalDir: `${cfg.data_dir}/jobs`,
      schedule: await peel.#startSchedule(),
    });
    await peel.#scheduler!.start();
    peel.#outbox!.attach(nc);
    await nc.flush();
    if (health) health.checks = peelChecks({ cfg, nc, broker: peel.#broker });
    void peel.#publishFacts();
    peel.#basket.start();
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

  /** Where schedule entries come from: `peel.yaml`'s `schedule:`, then the settings' (which win). */
  #scheduleSources(): ScheduleSource[] {
    return [
      { file: this.#configPath, schedule: this.#cfg.schedule },
      { file: "settings", schedule: this.#settingsSchedule },
    ];
  }

  /**
   * New settings: masters target on them, and their `schedule:` and `mine_functions:` (read
   * before secrets are resolved) replace the previous ones.
   */
  #settingsChanged(settings: Record<string, unknown>): void {
    this.#publishFactsSoon();
    if (JSON.stringify(settings.schedule) !== JSON.stringify(this.#settingsSchedule)) {
      this.#settingsSchedule = settings.schedule;
      void this.#scheduler?.reload();
    }
    const mine = settings.mine_functions ?? {};
    const basket: BasketFunction[] = [];
    if (typeof mine !== "object" || mine === null || Array.isArray(mine)) {
      this.#log.warn("ignoring settings mine_functions: expected a map of functions", {});
    } else {
      for (const [name, spec] of Object.entries(mine)) {
        try {
          basket.push(basketFunction(name, spec, `settings mine_functions.${name}`));
        } catch (e) {
          this.#log.warn("ignoring a settings mine_functions entry", { name, error: e });
        }
      }
    }
    if (JSON.stringify(basket) !== JSON.stringify(this.#settingsBasket)) {
      this.#settingsBasket = basket;
      if (this.#commands) void this.#basket.update();
    }
  }

  /** The scheduler, running its jobs through the command server; started by the caller. */
  async #startSchedule(): Promise<Scheduler> {
    const outbox = await ScheduleOutbox.open(`${this.#cfg.data_dir}/schedule-outbox`, this.#log);
    this.#outbox = outbox;
    this.#scheduler = new Scheduler({
      sources: () => this.#scheduleSources(),
      isFunction: (fun) => FUNCTIONS.has(fun),
      run: (call) => this.#commands!.runLocal(call),
      returnJob: (entry, ret) =>
        outbox.add({
          jid: ret.jid,
          peel_id: this.#cfg.id,
          schedule: entry.name,
          fun: entry.fun,
          args: entry.args,
          kwargs: entry.kwargs,
          timeout_ms: entry.timeoutMs,
        }, ret),
      log: this.#log,
    });
    return this.#scheduler;
  }

  /**
   * Follow the settings tree and this peel's secrets. Without the buckets the peel uses its
   * last-known-good settings, says so, and tries again every 10 s.
   */
  async #startSettings(): Promise<void> {
    if (this.#stopping) return;
    try {
      await this.#settings.follow(
        await openBucket(this.#nc, BUCKETS.settingsFiles),
        await openBucket(this.#nc, BUCKETS.secrets),
      );
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
    await this.#health?.stop();
    this.#detachGauge?.();
    clearTimeout(this.#factsTimer);
    clearTimeout(this.#syncTimer);
    this.#basket.stop();
    await this.#scheduler?.stop();
    clearTimeout(this.#settingsTimer);
    await this.#commands?.stop();
    await this.#outbox?.close();
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
