/**
 * The peel process: publishes its facts and its basket entries, answers ExecRequests on
 * `zester.cmd.<peel-id>`, and stores returns in `job-returns`. It writes only in its data dir
 * and spawns only the broker, which does anything privileged for it. Its schedule runs from
 * the start, before NATS is reached, with the last-known-good settings and state tree kept in
 * its data dir.
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
import { dirTree, type StateTree } from "./state/tree.ts";
import { templateHost } from "./state/template_host.ts";
import { collectFacts, type SysInfo } from "./facts/mod.ts";
import { peelBoxKey, peelCreds } from "./enroll.ts";

/** Retry delay for facts no master has acknowledged yet. */
const FACTS_RETRY_MS = 10_000;
/** How long one basket function may run. */
const BASKET_FUNCTION_TIMEOUT_MS = 60_000;
/** The mirrored state tree, in the data dir. */
const STATES_CACHE = "states-cache";

/** A running peel. */
export class Peel {
  readonly #cfg: PeelConfig;
  readonly #log: Logger;
  #nc?: NatsConnection;
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
  /** The state tree mirrored at an earlier run, used until the mirror is followed again. */
  #cachedStates?: StateTree;
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
    configPath: string,
    boxKey: BoxKey,
    health?: HealthServer,
  ) {
    const log = baseLog.redacting((line) => this.#settings?.redactLine(line) ?? line);
    this.#cfg = cfg;
    this.#configPath = configPath;
    this.#log = log;
    this.#health = health;
    this.#broker = new BrokerClient({
      launcher: cfg.broker.launcher,
      idleTimeoutMs: cfg.broker.idle_timeout,
      log,
      onDone: brokerOpDone,
    });
    this.#basket = new PeelBasket({
      nc: () => this.#bus(),
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
          states: this.#states(),
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
   * Prepare the data dir, serve the health endpoints (not ready yet), start the schedule, then
   * connect (enrolling first if needed, retrying while NATS is unreachable or refuses the peel,
   * until `signal` aborts), publish facts, and start answering jobs.
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
    let peel: Peel | undefined;
    try {
      if (cfg.nats_cert) await warnIfCertExpiring(cfg.nats_cert, "NATS client", log);
      peel = new Peel(cfg, log, configPath, await peelBoxKey(cfg), health);
      await peel.#startLocal();
      const credsFile = await peelCreds(cfg, log, signal);
      await peel.#connected(
        await connectBusRetrying(
          { ...busOptions(cfg, `zester-peel-${cfg.id}`), credsFile },
          log,
          signal,
        ),
      );
    } catch (e) {
      await (peel ? peel.stop() : health?.stop());
      throw e;
    }
    return peel;
  }

  /**
   * What needs no connection: facts, the last-known-good settings' `schedule:` and
   * `mine_functions:`, the job path and the schedule, whose runs with `return_job` wait in the
   * outbox until NATS is reached.
   */
  async #startLocal(): Promise<void> {
    await this.#refreshFacts();
    const kept = await this.#settings.keptCompiled();
    if (kept) this.#applySettings(kept);
    const cache = `${this.#cfg.data_dir}/${STATES_CACHE}`;
    if (await Deno.stat(cache).then((st) => st.isDirectory, () => false)) {
      this.#cachedStates = dirTree(cache);
    }
    this.#commands = await CommandServer.start({
      peelId: this.#cfg.id,
      facts: () => this.#facts,
      broker: this.#broker,
      log: this.#log,
      states: () => this.#states(),
      basket: this.#basket,
      settings: this.#settings,
      journalDir: `${this.#cfg.data_dir}/jobs`,
      schedule: await this.#startSchedule(),
    });
    await this.#scheduler!.start();
  }

  /** Connected: follow the trees, take jobs, deliver kept scheduled runs, publish facts. */
  async #connected(nc: NatsConnection): Promise<void> {
    this.#nc = nc;
    const bus = watchBus(nc);
    this.#detachGauge = peelConnected.attach(() => bus.connected ? 1 : 0);
    await this.#startSync();
    await this.#startSettings();
    this.#commands!.listen(nc);
    this.#outbox!.attach(nc);
    await nc.flush();
    if (this.#health) {
      this.#health.checks = peelChecks({ cfg: this.#cfg, nc, broker: this.#broker });
    }
    void this.#publishFacts();
    this.#basket.start();
    this.#log.info("peel ready", { facts: Object.keys(this.#facts).length });
  }

  /** The connection; an error before NATS was first reached. */
  #bus(): NatsConnection {
    if (!this.#nc) throw new Deno.errors.NotConnected("NATS has not been reached yet");
    return this.#nc;
  }

  /** The mirrored state tree, or the one kept from an earlier run until it is followed. */
  #states(): StateTree | undefined {
    return this.#sync?.tree ?? this.#cachedStates;
  }

  /**
   * Mirror the state tree. Without the `state-files` bucket (no master has provisioned storage
   * yet) the peel still serves everything else and tries again every 10 s.
   */
  async #startSync(): Promise<void> {
    if (this.#stopping) return;
    try {
      const kv = await openBucket(this.#bus(), BUCKETS.stateFiles);
      const sync = new StateSync(kv, `${this.#cfg.data_dir}/${STATES_CACHE}`, this.#log);
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
    this.#applySettings(settings);
  }

  /** Take the `schedule:` and `mine_functions:` of `settings`. */
  #applySettings(settings: Record<string, unknown>): void {
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
        await openBucket(this.#bus(), BUCKETS.settingsFiles),
        await openBucket(this.#bus(), BUCKETS.secrets),
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
    if (this.#nc) await closeBus(this.#nc);
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
        (await this.#bus().request(subjects.fact(this.#cfg.id), encode(msg), {
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
