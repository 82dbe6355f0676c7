/**
 * The master process: connects, provisions storage, and serves dispatch, target resolution,
 * fact ingestion, job tracking and peels' scheduled runs until stopped. It holds no state of its own: everything it
 * needs is in JetStream, so any number can run side by side.
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import {
  BUCKETS,
  checkServerUrls,
  closeBus,
  connectBusRetrying,
  openBucket,
  provisionStorage,
} from "../lib/bus/mod.ts";
import {
  busOptions,
  DEFAULT_JOB_TIMEOUTS,
  listenAddr,
  type MasterConfig,
} from "../lib/config/mod.ts";
import { HealthServer } from "../lib/http/mod.ts";
import { warnIfCertExpiring } from "../lib/auth/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { publishMasterPublicKey, readBoxKeyFile } from "../lib/secrets/mod.ts";
import { watchBus } from "../lib/metrics/mod.ts";
import { VERSION } from "../lib/version/mod.ts";
import { compileTarget } from "../lib/target/mod.ts";
import { serveDispatch } from "./dispatch.ts";
import { FactIndex } from "./fact_index.ts";
import { masterChecks } from "./health.ts";
import { connectedPeels } from "./metrics.ts";
import { serveFactIngest } from "./facts_ingest.ts";
import { HeartbeatWriter } from "./heartbeat.ts";
import { JobEvents } from "./job_events.ts";
import { serveJobKill } from "./job_kill.ts";
import { serveScheduleReports } from "./schedule_report.ts";
import { JobTracker } from "./job_tracker.ts";
import { PeelExpiry } from "./peel_expiry.ts";
import { OrphanScanner } from "./recovery.ts";
import { serveTargetResolve } from "./target_resolve.ts";
import { Enrollment } from "./enrollment.ts";
import { SETTINGS_CONFIG_KEY, type SettingsConfig } from "../lib/settings/mod.ts";
import { SecretSealer } from "./settings_secrets.ts";
import { checkTreeDir, TreePublisher } from "./tree_publisher.ts";

/** A fresh master instance id: `master-` and 10 random base62 characters. */
export function newMasterId(): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return `master-${[...bytes].map((b) => alphabet[b % 62]).join("")}`;
}

/**
 * Compile every nodegroup once, so that an unknown reference, a cycle or a bad expression stops
 * the master at start with the group's name instead of failing each job that uses it.
 */
export function checkNodegroups(nodegroups: Record<string, string | string[]>): void {
  for (const name of Object.keys(nodegroups)) {
    try {
      compileTarget(name, "nodegroup", { nodegroups });
    } catch (e) {
      throw new TypeError(`Invalid nodegroup "${name}" in master.yaml: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}

/** Peels whose facts were stored within this window count as connected. */
const PRESENCE_WINDOW_MS = 10 * 60_000;

const UTF8 = new TextEncoder();

/**
 * Whether the settings tree can be read. Without one the master publishes no settings and leaves
 * `settings-files` as it is (another master may serve it), and says so.
 */
async function settingsDirReadable(dir: string, log: Logger): Promise<boolean> {
  try {
    await checkTreeDir(dir, "settings_dir");
    return true;
  } catch (e) {
    log.warn("no settings tree: settings-files left as it is", { error: (e as Error).message });
    return false;
  }
}

/** What a master stops when it stops. */
interface MasterParts {
  health?: HealthServer;
  detachGauge: () => void;
  subs: Subscription[];
  heartbeat: HeartbeatWriter;
  publishers: TreePublisher[];
  sealer: SecretSealer;
  events: JobEvents;
  expiry: PeelExpiry;
  enrollment?: Enrollment;
}

/** A running master. */
export class Master {
  /** This instance's id (job owner, heartbeat key). */
  readonly id: string;
  /** The NATS connection. */
  readonly nc: NatsConnection;
  /** Peel facts, for targeting. */
  readonly index: FactIndex;
  /** Jobs this master watches. */
  readonly tracker: JobTracker;
  /** Finds and adopts the jobs of masters that stopped. */
  readonly scanner: OrphanScanner;
  /** The health endpoints, unless `health_addr` is off. */
  readonly health?: HealthServer;
  readonly #parts: MasterParts;
  readonly #log: Logger;

  private constructor(
    id: string,
    nc: NatsConnection,
    index: FactIndex,
    tracker: JobTracker,
    scanner: OrphanScanner,
    parts: MasterParts,
    log: Logger,
  ) {
    this.id = id;
    this.nc = nc;
    this.index = index;
    this.tracker = tracker;
    this.scanner = scanner;
    this.health = parts.health;
    this.#parts = parts;
    this.#log = log;
  }

  /**
   * Serve the health endpoints (not ready yet), connect (retrying while NATS is unreachable or
   * refuses the master, until `signal` aborts), provision storage and start serving.
   */
  static async start(cfg: MasterConfig, baseLog: Logger, signal?: AbortSignal): Promise<Master> {
    checkNodegroups(cfg.nodegroups);
    await checkTreeDir(cfg.states_dir, "states_dir");
    const boxKey = cfg.box_key_file ? await readBoxKeyFile(cfg.box_key_file) : undefined;
    const id = cfg.id ?? newMasterId();
    const log = baseLog.with({ master_id: id });
    if (cfg.nats_cert) await warnIfCertExpiring(cfg.nats_cert, "NATS client", log);
    // Checked before anything listens: a refused URL is the error, whatever the grants.
    checkServerUrls(cfg.nats_url, cfg.insecure);
    const addr = listenAddr(cfg.health_addr);
    const health = addr && new HealthServer({ addr, component: "master", version: VERSION, log });
    let nc: NatsConnection;
    try {
      nc = await connectBusRetrying(busOptions(cfg, `zester-master-${id}`), log, signal);
    } catch (e) {
      await health?.stop();
      throw e;
    }
    try {
      const jsm = await nc.jetstreamManager();
      const provisioned = await provisionStorage(jsm, {
        replicas: cfg.storage_replicas,
        limits: cfg.retention,
        log,
      });
      const changed = provisioned.filter((p) => p.action !== "unchanged");
      if (changed.length) log.info("storage provisioned", { changed });
      const [factsKv, jobsKv, returnsKv, hbKv, statesKv, settingsKv, secretsKv, enrollmentsKv] =
        await Promise.all([
          openBucket(nc, BUCKETS.facts),
          openBucket(nc, BUCKETS.jobs),
          openBucket(nc, BUCKETS.jobReturns),
          openBucket(nc, BUCKETS.masterHeartbeat),
          openBucket(nc, BUCKETS.stateFiles),
          openBucket(nc, BUCKETS.settingsFiles),
          openBucket(nc, BUCKETS.secrets),
          openBucket(nc, BUCKETS.enrollments),
        ]);
      if (boxKey) await publishMasterPublicKey(secretsKv, boxKey);
      const index = new FactIndex();
      await index.follow(factsKv, log);
      const sealer = new SecretSealer({ secretsKv, enrollmentsKv, index, boxKey, log });
      const publishers = [
        new TreePublisher(statesKv, cfg.states_dir, {
          what: "state tree",
          field: "states_dir",
        }, log),
      ];
      const published = await publishers[0]!.publish();
      if (await settingsDirReadable(cfg.settings_dir, log)) {
        const merging: SettingsConfig = {
          strategy: cfg.settings_merging_strategy,
          merge_lists: cfg.settings_merge_lists,
        };
        publishers.push(
          new TreePublisher(settingsKv, cfg.settings_dir, {
            what: "settings tree",
            field: "settings_dir",
            transform: (path, data) => sealer.transform(path, data),
            entries: new Map([[SETTINGS_CONFIG_KEY, UTF8.encode(JSON.stringify(merging))]]),
            published: (paths) => sealer.published(paths),
          }, log),
        );
        await publishers[1]!.publish();
        await sealer.start();
      }
      for (const p of publishers) p.watch();
      const expiry = new PeelExpiry(factsKv, index, cfg.peel_expiry, log);
      const events = new JobEvents(nc, log);
      const tracker = new JobTracker({ nc, jobsKv, returnsKv, events, masterId: id, log });
      // A master beats before it owns anything, so that no job has an owner others never saw.
      const heartbeat = new HeartbeatWriter(
        hbKv,
        id,
        cfg.heartbeat_interval,
        () => tracker.active(),
        log,
      );
      await heartbeat.beat();
      const scanner = new OrphanScanner({
        hbKv,
        jobsKv,
        jsm,
        tracker,
        masterId: id,
        intervalMs: cfg.heartbeat_interval,
        log,
      });
      const enrollment = cfg.enroll && await Enrollment.start(nc, cfg, id, log);
      const subs = [
        serveDispatch({
          nc,
          jobsKv,
          index,
          tracker,
          events,
          masterId: id,
          timeouts: {
            defaultMs: cfg.job_timeout,
            byFunction: { ...DEFAULT_JOB_TIMEOUTS, ...cfg.job_timeouts },
            maxMs: cfg.max_job_timeout,
          },
          nodegroups: cfg.nodegroups,
          log,
        }),
        serveJobKill(nc, jobsKv, events, log),
        serveTargetResolve(nc, index, cfg.nodegroups, log),
        serveFactIngest(nc, index, log, enrollment && ((peel) => enrollment.connected(peel))),
        serveScheduleReports({ nc, jobsKv, returnsKv, events, masterId: id, log }),
      ];
      await nc.flush();
      watchBus(nc);
      if (health) health.checks = masterChecks({ cfg, nc, jsm, factsKv, heartbeat });
      const detachGauge = connectedPeels.attach(() =>
        index.storedSince(Date.now() - PRESENCE_WINDOW_MS)
      );
      log.info("master ready", { peels: index.size, state_files: published });
      return new Master(id, nc, index, tracker, scanner, {
        health,
        detachGauge,
        subs,
        heartbeat,
        publishers,
        sealer,
        events,
        expiry,
        enrollment,
      }, log);
    } catch (e) {
      await health?.stop();
      await nc.close();
      throw e;
    }
  }

  /**
   * Stop serving and close the connection. Jobs still running are left to the other masters,
   * or to this one started again, which adopt them.
   */
  async stop(): Promise<void> {
    const { health, detachGauge, subs, heartbeat, publishers, sealer, events, expiry, enrollment } =
      this.#parts;
    await health?.stop();
    detachGauge();
    for (const s of subs) s.unsubscribe();
    await enrollment?.stop();
    this.scanner.stop();
    this.tracker.stop();
    expiry.stop();
    await heartbeat.stop();
    for (const p of publishers) await p.stop();
    await sealer.stop();
    this.index.stop();
    await closeBus(this.nc);
    events.close();
    this.#log.info("master stopped");
  }
}
