/**
 * Orphaned jobs: every master scans `master-heartbeat` each heartbeat interval, and a master
 * whose heartbeat has not changed for {@linkcode MISS_THRESHOLD} scans in a row is taken for
 * stopped. Its unfinished jobs (found by their `active.<jid>` markers in `jobs`) are adopted:
 * claimed by a compare-and-set, which only one survivor wins and which fences the old owner
 * out should it come back, then watched from the returns already stored and for the time left
 * before the deadline, and finished. A master started again adopts what was left unfinished,
 * and a job canceled while its owner was gone ends `canceled`.
 * @module
 */
import type { JetStreamManager, KV } from "nats";
import { decode, isJsError, JS_ERRORS, STREAMS, subjects } from "../lib/bus/mod.ts";
import {
  activeJobIds,
  CancelEvent,
  forgetActive,
  isTerminal,
  readJobAt,
  StaleJobError,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import type { JobTracker } from "./job_tracker.ts";

/** Scans without a new heartbeat after which a master is taken for stopped. */
export const MISS_THRESHOLD = 2;
/** Every this many scans, active markers are checked even if no master stopped. */
const SWEEP_EVERY = 12;

/** What the scanner works with. */
export interface OrphanScannerOptions {
  hbKv: KV;
  jobsKv: KV;
  jsm: JetStreamManager;
  tracker: JobTracker;
  masterId: string;
  /** Time between scans: the heartbeat interval. */
  intervalMs: number;
  log: Logger;
}

interface Seen {
  revision: number;
  misses: number;
}

/** Finds the jobs of stopped masters and adopts them. */
export class OrphanScanner {
  readonly #seen = new Map<string, Seen>();
  readonly #opts: OrphanScannerOptions;
  #scans = 0;
  #timer?: ReturnType<typeof setInterval>;
  #scanning = false;

  /** Scan every `intervalMs` from now on. */
  constructor(opts: OrphanScannerOptions) {
    this.#opts = opts;
    this.#timer = setInterval(() => void this.scan(), opts.intervalMs);
  }

  /** Stop scanning. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** One scan: note who beat since the last one, and adopt the jobs of masters that stopped. */
  async scan(): Promise<void> {
    if (this.#scanning) return;
    this.#scanning = true;
    try {
      this.#scans++;
      const stopped = await this.#note();
      if (stopped.length || this.#scans === MISS_THRESHOLD || this.#scans % SWEEP_EVERY === 0) {
        await this.#adoptOrphans();
      }
    } catch (e) {
      this.#opts.log.error("orphan scan failed", { error: e });
    } finally {
      this.#scanning = false;
    }
  }

  /** Update who beat; the masters that just reached the miss threshold. */
  async #note(): Promise<string[]> {
    const { hbKv, log } = this.#opts;
    const beats = new Map<string, number>();
    for await (const key of await hbKv.keys()) {
      const e = await hbKv.get(key);
      if (e?.operation === "PUT") beats.set(key, e.revision);
    }
    const stopped: string[] = [];
    for (const [id, seen] of this.#seen) {
      if (beats.get(id) === seen.revision || !beats.has(id)) seen.misses++;
      if (seen.misses === MISS_THRESHOLD) stopped.push(id);
    }
    for (const [id, revision] of beats) {
      const seen = this.#seen.get(id);
      if (!seen || seen.revision !== revision) this.#seen.set(id, { revision, misses: 0 });
    }
    for (const id of stopped) {
      log.warn("master stopped beating", { master: id });
      if (!beats.has(id)) this.#seen.delete(id);
    }
    return stopped;
  }

  #alive(owner: string): boolean {
    const seen = this.#seen.get(owner);
    return seen !== undefined && seen.misses < MISS_THRESHOLD;
  }

  async #adoptOrphans(): Promise<void> {
    const { jobsKv, tracker, masterId, log } = this.#opts;
    for (const jid of await activeJobIds(jobsKv)) {
      if (tracker.has(jid)) continue;
      try {
        const at = await readJobAt(jobsKv, jid);
        if (!at || isTerminal(at.job.status)) {
          await forgetActive(jobsKv, jid);
          continue;
        }
        const owner = at.job.owner;
        if (owner !== masterId && this.#alive(owner)) continue;
        const canceledBy = await this.#canceledBy(jid);
        await tracker.take(at.job, at.revision, { adopted: true, canceledBy });
        log.info("adopted job", { jid, from: owner, status: at.job.status });
      } catch (e) {
        if (e instanceof StaleJobError) log.info("job adopted by another master", { jid });
        else log.error("cannot adopt job", { jid, error: e });
      }
    }
  }

  /** Who canceled job `jid`, if anyone did (its last cancel event in `job-events`). */
  async #canceledBy(jid: string): Promise<string | undefined> {
    try {
      const m = await this.#opts.jsm.streams.getMessage(STREAMS.jobEvents.name, {
        last_by_subj: subjects.jobCancel(jid),
      });
      return CancelEvent.parse(decode(m.data)).user;
    } catch (e) {
      if (isJsError(e, JS_ERRORS.noMessageFound)) return undefined;
      throw e;
    }
  }
}
