/**
 * Each master writes a heartbeat to `master-heartbeat` (15 s TTL) so that others can tell it is
 * alive (see `recovery.ts`) and, for people, which jobs it owns.
 * @module
 */
import type { KV } from "nats";
import { encode } from "../lib/bus/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { heartbeatFailed } from "./metrics.ts";

/** The heartbeat value. */
export interface Heartbeat {
  /** Master instance id. */
  id: string;
  /** When this instance started. */
  started: string;
  /** When this beat was written. */
  time: string;
  /** Jobs this master is watching. */
  active_jobs: string[];
}

/** Beat every `intervalMs` until stopped. */
export class HeartbeatWriter {
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #started = new Date().toISOString();
  #lastBeat = 0;

  /** Beat every `intervalMs`; the first beat is the caller's to write (see {@linkcode beat}). */
  constructor(
    readonly kv: KV,
    readonly id: string,
    intervalMs: number,
    readonly activeJobs: () => string[],
    readonly log: Logger,
  ) {
    this.#timer = setInterval(() => void this.beat(), intervalMs);
  }

  /** Write one heartbeat. */
  async beat(): Promise<void> {
    const hb: Heartbeat = {
      id: this.id,
      started: this.#started,
      time: new Date().toISOString(),
      active_jobs: this.activeJobs(),
    };
    try {
      await this.kv.put(this.id, encode(hb));
      this.#lastBeat = Date.now();
    } catch (e) {
      heartbeatFailed();
      this.log.warn("heartbeat failed", { error: e });
    }
  }

  /** When the last heartbeat was written (milliseconds since the epoch; 0 before the first). */
  get lastBeat(): number {
    return this.#lastBeat;
  }

  /** Stop beating and remove this master's entry. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.kv.delete(this.id).catch(() => {});
  }
}
