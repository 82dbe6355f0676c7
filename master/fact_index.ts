/**
 * The master's in-memory view of every peel's facts (and the settings it may be targeted on),
 * fed by a watch on the `facts` bucket, so target resolution never reads KV per job; `PeelIndex`
 * narrows lookups by id prefix and fact value.
 * @module
 */
import type { KV, KvEntry, QueuedIterator } from "nats";
import { decode, isPeelId } from "../lib/bus/mod.ts";
import { FactsMessage } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { PeelIndex, type PeelView, resolveTarget, type Target } from "../lib/target/mod.ts";
import { Sweeper } from "../lib/timer/mod.ts";

interface Waiter {
  deadline: number;
  resolve: (reached: boolean) => void;
}

/** Expires waits for revisions (a timer per fact message would cost more than the wait). */
const sweeper = new Sweeper(250);

/** Peel ids and facts, kept current from the `facts` bucket. */
export class FactIndex {
  readonly #peels = new PeelIndex();
  /** When each peel's facts were last stored. */
  readonly #storedAt = new Map<string, number>();
  #watch?: QueuedIterator<KvEntry>;
  /** The revision of the last entry applied. */
  #revision = 0;
  /**
   * Who waits for which revision. The watch delivers every revision in order, so a waiter is
   * settled by its own revision's entry; one it already had is answered at once.
   */
  readonly #waiters = new Map<number, Waiter[]>();
  readonly #listeners = new Set<(id: string) => void>();
  readonly #expire = (now: number) => {
    for (const [revision, list] of this.#waiters) {
      if (list[0]!.deadline <= now) this.#settle(revision, false);
    }
  };

  /** Number of peels known. */
  get size(): number {
    return this.#peels.size;
  }

  /** Set or replace one peel's facts (and the settings it can be targeted on). */
  set(id: string, facts: Record<string, unknown>, settings?: Record<string, unknown>): void {
    this.#peels.set(id, facts, settings);
  }

  /** Forget a peel. */
  delete(id: string): void {
    this.#peels.delete(id);
    this.#storedAt.delete(id);
  }

  /** Peels whose facts were last stored before `cutoff` (milliseconds since the epoch). */
  storedBefore(cutoff: number): string[] {
    const out: string[] = [];
    for (const [id, at] of this.#storedAt) if (at < cutoff) out.push(id);
    return out;
  }

  /** How many peels had their facts stored at or after `cutoff`. */
  storedSince(cutoff: number): number {
    let n = 0;
    for (const at of this.#storedAt.values()) if (at >= cutoff) n++;
    return n;
  }

  /** One peel, if known. */
  get(id: string): PeelView | undefined {
    return this.#peels.get(id);
  }

  /** Every peel known. */
  peels(): IterableIterator<PeelView> {
    return this.#peels.peels();
  }

  /** Call `fn` with a peel's id each time its entry is stored or removed; returns the detach. */
  onChange(fn: (id: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The ids `target` selects, sorted, narrowed through the index where it can. */
  resolve(target: Target): string[] {
    return resolveTarget(target, this.#peels);
  }

  /**
   * Load the bucket and follow its changes. Resolves once the initial values are in, so the
   * first dispatch after start sees every known peel.
   */
  async follow(kv: KV, log: Logger): Promise<void> {
    let ready!: () => void;
    const initialized = new Promise<void>((r) => ready = r);
    this.#watch = await kv.watch({ key: ">", initializedFn: () => ready() });
    (async () => {
      for await (const e of this.#watch!) this.#apply(e, log);
    })().catch((e) => log.error("facts watch ended", { error: e }));
    await initialized;
  }

  /** Resolves true once the index has applied the bucket's entry `revision`, false after `timeoutMs`. */
  reached(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.#revision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const list = this.#waiters.get(revision) ?? [];
      list.push({ deadline: Date.now() + timeoutMs, resolve });
      this.#waiters.set(revision, list);
      if (this.#waiters.size === 1) sweeper.watch(this.#expire);
    });
  }

  #settle(revision: number, reached: boolean): void {
    const list = this.#waiters.get(revision);
    if (!list) return;
    this.#waiters.delete(revision);
    if (this.#waiters.size === 0) sweeper.unwatch(this.#expire);
    for (const w of list) w.resolve(reached);
  }

  /** Stop following the bucket. */
  stop(): void {
    this.#watch?.stop();
    for (const revision of [...this.#waiters.keys()]) this.#settle(revision, false);
  }

  #apply(e: KvEntry, log: Logger): void {
    this.#index(e, log);
    for (const fn of this.#listeners) fn(e.key);
    this.#revision = e.revision;
    this.#settle(e.revision, true);
  }

  #index(e: KvEntry, log: Logger): void {
    if (!isPeelId(e.key)) {
      log.warn("ignoring facts entry with invalid key", { key: e.key });
      return;
    }
    if (e.operation !== "PUT") {
      this.delete(e.key);
      return;
    }
    try {
      const msg = FactsMessage.parse(decode(e.value));
      this.set(e.key, msg.facts, msg.settings);
      this.#storedAt.set(e.key, e.created.getTime());
    } catch (err) {
      log.warn("ignoring malformed facts entry", { peel_id: e.key, error: err });
    }
  }
}
