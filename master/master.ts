/**
 * The master process: connects, provisions storage, and serves dispatch, target resolution,
 * fact ingestion and job tracking until stopped. It holds no state of its own: everything it
 * needs is in JetStream, so any number can run side by side.
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import { BUCKETS, closeBus, connectBus, provisionStorage } from "../lib/bus/mod.ts";
import { busOptions, type MasterConfig } from "../lib/config/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { compileTarget } from "../lib/target/mod.ts";
import { serveDispatch } from "./dispatch.ts";
import { FactIndex } from "./fact_index.ts";
import { serveFactIngest } from "./facts_ingest.ts";
import { HeartbeatWriter } from "./heartbeat.ts";
import { JobTracker } from "./job_tracker.ts";
import { serveTargetResolve } from "./target_resolve.ts";
import { checkStatesDir, StatePublisher } from "./state_publisher.ts";

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
  readonly #subs: Subscription[];
  readonly #heartbeat: HeartbeatWriter;
  readonly #publisher: StatePublisher;
  readonly #log: Logger;

  private constructor(
    id: string,
    nc: NatsConnection,
    index: FactIndex,
    tracker: JobTracker,
    subs: Subscription[],
    heartbeat: HeartbeatWriter,
    publisher: StatePublisher,
    log: Logger,
  ) {
    this.#publisher = publisher;
    this.id = id;
    this.nc = nc;
    this.index = index;
    this.tracker = tracker;
    this.#subs = subs;
    this.#heartbeat = heartbeat;
    this.#log = log;
  }

  /** Check the config against the machine, connect, provision storage and start serving. */
  static async start(cfg: MasterConfig, baseLog: Logger): Promise<Master> {
    checkNodegroups(cfg.nodegroups);
    await checkStatesDir(cfg.states_dir);
    const id = cfg.id ?? newMasterId();
    const log = baseLog.with({ master_id: id });
    const nc = await connectBus(busOptions(cfg, `zester-master-${id}`), log);
    try {
      const jsm = await nc.jetstreamManager();
      const provisioned = await provisionStorage(jsm);
      const changed = provisioned.filter((p) => p.action !== "unchanged");
      if (changed.length) log.info("storage provisioned", { changed });
      const js = nc.jetstream();
      const kv = async (name: string) => await js.views.kv(name, { bindOnly: true });
      const [factsKv, jobsKv, returnsKv, hbKv, statesKv] = await Promise.all([
        kv(BUCKETS.facts.name),
        kv(BUCKETS.jobs.name),
        kv(BUCKETS.jobReturns.name),
        kv(BUCKETS.masterHeartbeat.name),
        kv(BUCKETS.stateFiles.name),
      ]);
      const publisher = new StatePublisher(statesKv, cfg.states_dir, log);
      const published = await publisher.publish();
      publisher.watch();
      const index = new FactIndex();
      await index.follow(factsKv, log);
      const tracker = new JobTracker(nc, jobsKv, returnsKv, log);
      const subs = [
        serveDispatch({
          nc,
          jobsKv,
          index,
          tracker,
          masterId: id,
          defaultTimeoutMs: cfg.job_timeout,
          nodegroups: cfg.nodegroups,
          log,
        }),
        serveTargetResolve(nc, index, cfg.nodegroups, log),
        serveFactIngest(nc, index, log),
      ];
      await nc.flush();
      const heartbeat = new HeartbeatWriter(
        hbKv,
        id,
        cfg.heartbeat_interval,
        () => tracker.active(),
        log,
      );
      log.info("master ready", { peels: index.size, state_files: published });
      return new Master(id, nc, index, tracker, subs, heartbeat, publisher, log);
    } catch (e) {
      await nc.close();
      throw e;
    }
  }

  /** Stop serving, finalize watched jobs, and close the connection. */
  async stop(): Promise<void> {
    for (const s of this.#subs) s.unsubscribe();
    await this.tracker.stop();
    await this.#heartbeat.stop();
    await this.#publisher.stop();
    this.index.stop();
    await closeBus(this.nc);
    this.#log.info("master stopped");
  }
}
