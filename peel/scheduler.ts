/**
 * The peel's scheduler, Salt's minion schedule: runs each entry of `schedule:` on its interval
 * or cron expression through the peel's own job path, so a scheduled run meets the same function
 * table, broker policy, audit log, timeouts and one-state-run-at-a-time rule as a job a master
 * sends. It needs no connection: runs go on while NATS is away, and those with `return_job` are
 * handed to `returnJob`, which keeps them until they are stored as jobs.
 *
 * Entries come from `sources()`, read at start and again on every {@linkcode Scheduler.reload}:
 * `peel.yaml` today. Settings add theirs by returning one more source (a later source wins on a
 * name both have) and calling `reload()` when they change. A bad entry is logged, naming its file
 * and field, and left out; the others run. Changes made at run time (`schedule.enable_job`, …)
 * last until the next reload or restart: they are not written anywhere.
 *
 * Interval runs keep to their start's rhythm: a run the peel was too busy for is skipped, never
 * run twice to catch up. `splay` delays each run by a random time without moving the rhythm.
 * @module
 */
import { type ExecReturn, ksuid } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { parseSchedule, type ScheduleEntry, type ScheduleSource } from "../lib/schedule/mod.ts";
import type { ExecCall } from "./exec.ts";
import type { ScheduleControl, ScheduleListing } from "./functions/mod.ts";

/** Longest single timer; a later run is re-checked after this long. */
const MAX_SLEEP_MS = 3_600_000;

/** What the scheduler needs from the peel. */
export interface SchedulerOptions {
  /** Where entries come from; later sources win on shared names. */
  sources: () => readonly ScheduleSource[] | Promise<readonly ScheduleSource[]>;
  /** Whether the peel has function `fun`. */
  isFunction: (fun: string) => boolean;
  /** Run one job through the peel's job path. */
  run: (call: ExecCall) => Promise<ExecReturn>;
  /** A run of an entry with `return_job` ended: report it as a job. */
  returnJob: (entry: ScheduleEntry, ret: ExecReturn) => Promise<void>;
  log: Logger;
  /** The clock (ms since the epoch); tests move it. */
  now?: () => number;
  /** A number in [0, 1) for splay. */
  random?: () => number;
}

interface Slot {
  entry: ScheduleEntry;
  enabled: boolean;
  /** The run time the rhythm is at: the last interval or cron time reached. */
  base: number;
  /** When the next run goes, splay included. */
  next?: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Runs a peel's schedule until stopped. */
export class Scheduler implements ScheduleControl {
  readonly #opts: SchedulerOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #inflight = new Set<Promise<void>>();
  /** Runs under way, by entry name (kept across reloads). */
  readonly #running = new Map<string, number>();
  #slots = new Map<string, Slot>();
  #enabled = true;
  #stopped = false;

  /** A scheduler that does nothing until {@linkcode start}. */
  constructor(opts: SchedulerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
  }

  /** Load the entries and start them; those with `run_on_start` run now. */
  async start(): Promise<void> {
    await this.#load(true);
  }

  /** Read the sources again and restart every entry from now (no `run_on_start`). */
  async reload(): Promise<void> {
    await this.#load(false);
  }

  /** Stop every timer and wait for runs under way to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const slot of this.#slots.values()) clearTimeout(slot.timer);
    await Promise.allSettled([...this.#inflight]);
  }

  /** The entries, their state and next run time (`schedule.list`). */
  list(): ScheduleListing {
    const jobs: ScheduleListing["jobs"] = {};
    for (const [name, { entry: e, enabled, next }] of this.#slots) {
      jobs[name] = {
        function: e.fun,
        args: e.args,
        kwargs: e.kwargs,
        ...(e.intervalMs === undefined ? {} : { seconds: e.intervalMs / 1000 }),
        ...(e.cron ? { cron: e.cron.expression } : {}),
        splay: { start: e.splay.startMs / 1000, end: e.splay.endMs / 1000 },
        maxrunning: e.maxrunning,
        run_on_start: e.runOnStart,
        return_job: e.returnJob,
        jid_include: e.jidInclude,
        enabled,
        running: this.#running.get(name) ?? 0,
        ...(next === undefined ? {} : { next_fire_time: new Date(next).toISOString() }),
      };
    }
    return { enabled: this.#enabled, jobs };
  }

  /** Let entries run again (`schedule.enable`). */
  enable(): void {
    this.#enabled = true;
  }

  /** Stop every entry from running until enabled again (`schedule.disable`). */
  disable(): void {
    this.#enabled = false;
  }

  /** Enable or disable entry `name`; throws when there is none. */
  setJobEnabled(name: string, enabled: boolean): void {
    this.#slot(name).enabled = enabled;
  }

  /**
   * Run entry `name` now (`schedule.run_job`), even when disabled if `force`; resolves with the
   * run's JID. Throws when there is no such entry, it is disabled, or `maxrunning` runs are on.
   */
  runJob(name: string, force = false): string {
    const slot = this.#slot(name);
    if (!force && (!slot.enabled || !this.#enabled)) {
      throw new Error(`Schedule job "${name}" is disabled; force=True runs it anyway`);
    }
    const jid = this.#fire(slot);
    if (!jid) {
      throw new Error(
        `Schedule job "${name}" is already running (maxrunning ${slot.entry.maxrunning})`,
      );
    }
    return jid;
  }

  #slot(name: string): Slot {
    const slot = this.#slots.get(name);
    if (!slot) throw new Error(`No schedule job named "${name}"`);
    return slot;
  }

  async #load(starting: boolean): Promise<void> {
    const { entries, errors } = parseSchedule(
      await this.#opts.sources(),
      this.#opts.isFunction,
    );
    for (const e of errors) {
      this.#opts.log.error("schedule entry ignored", { error: e.message, file: e.file });
    }
    for (const slot of this.#slots.values()) clearTimeout(slot.timer);
    const now = this.#now();
    this.#slots = new Map();
    for (const [name, entry] of entries) {
      const slot: Slot = { entry, enabled: entry.enabled, base: now };
      this.#slots.set(name, slot);
      if (starting && entry.runOnStart) this.#at(slot, now + this.#splay(entry));
      else this.#arm(slot);
    }
    this.#opts.log.info("schedule loaded", {
      entries: entries.size,
      invalid: errors.length || undefined,
    });
  }

  /** Set the slot's next run from its rhythm. */
  #arm(slot: Slot): void {
    const { entry } = slot;
    const now = this.#now();
    if (entry.intervalMs !== undefined) {
      do slot.base += entry.intervalMs; while (slot.base <= now);
    } else {
      const next = entry.cron!.next(new Date(Math.max(slot.base, now)));
      if (!next) {
        slot.next = undefined;
        return;
      }
      slot.base = next.getTime();
    }
    this.#at(slot, slot.base + this.#splay(entry));
  }

  #at(slot: Slot, time: number): void {
    slot.next = time;
    this.#sleep(slot);
  }

  #sleep(slot: Slot): void {
    if (this.#stopped || slot.next === undefined) return;
    const wait = Math.min(Math.max(slot.next - this.#now(), 0), MAX_SLEEP_MS);
    slot.timer = setTimeout(() => this.#wake(slot), wait);
  }

  #wake(slot: Slot): void {
    if (this.#slots.get(slot.entry.name) !== slot) return;
    if (slot.next !== undefined && this.#now() < slot.next) return this.#sleep(slot);
    const { entry } = slot;
    const now = this.#now();
    const inWindow = (entry.after === undefined || now >= entry.after) &&
      (entry.until === undefined || now <= entry.until);
    if (this.#enabled && slot.enabled && inWindow) this.#fire(slot);
    this.#arm(slot);
  }

  #splay(entry: ScheduleEntry): number {
    const { startMs, endMs } = entry.splay;
    return startMs + Math.floor(this.#random() * (endMs - startMs));
  }

  /** Start a run of `slot` unless `maxrunning` runs are on; its JID, or undefined if skipped. */
  #fire(slot: Slot): string | undefined {
    const { entry } = slot;
    const log = this.#opts.log;
    const running = this.#running.get(entry.name) ?? 0;
    if (entry.jidInclude && running >= entry.maxrunning) {
      log.info("scheduled job skipped: maxrunning reached", {
        schedule: entry.name,
        maxrunning: entry.maxrunning,
      });
      return undefined;
    }
    const jid = ksuid(this.#now());
    this.#running.set(entry.name, running + 1);
    log.info("running scheduled job", { schedule: entry.name, fun: entry.fun, jid });
    const done = this.#opts.run({
      jid,
      fun: entry.fun,
      args: entry.args,
      kwargs: entry.kwargs,
      timeout_ms: entry.timeoutMs,
    }).then(async (ret) => {
      const fields = { schedule: entry.name, jid, success: ret.success, error: ret.error };
      if (ret.success) log.info("scheduled job done", fields);
      else log.warn("scheduled job failed", fields);
      if (entry.returnJob) await this.#opts.returnJob(entry, ret);
    }).catch((e) =>
      log.error("scheduled job not recorded", { schedule: entry.name, jid, error: e })
    )
      .finally(() => {
        this.#running.set(entry.name, (this.#running.get(entry.name) ?? 1) - 1);
        this.#inflight.delete(done);
      });
    this.#inflight.add(done);
    return jid;
  }
}
