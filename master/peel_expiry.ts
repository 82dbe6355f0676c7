/**
 * Peels gone for good leave the index: a peel refreshes its facts every `facts_interval`, so
 * one whose facts were not stored for `peel_expiry` (7 days by default) has not been connected
 * for that long. Its facts are purged from `facts`, which every master's index follows; a peel
 * that comes back is indexed again by its next facts.
 * @module
 */
import type { KV } from "nats";
import type { Logger } from "../lib/log/mod.ts";
import type { FactIndex } from "./fact_index.ts";

/** The longest time between two sweeps. */
const MAX_SWEEP_GAP_MS = 3_600_000;

/** Purges the facts of peels not seen for `expiryMs`, now and periodically. */
export class PeelExpiry {
  readonly #timer: ReturnType<typeof setInterval>;

  /** Sweep now and then every tenth of `expiryMs` (at most hourly). */
  constructor(
    readonly factsKv: KV,
    readonly index: FactIndex,
    readonly expiryMs: number,
    readonly log: Logger,
  ) {
    this.#timer = setInterval(
      () => void this.sweep(),
      Math.min(Math.max(expiryMs / 10, 1_000), MAX_SWEEP_GAP_MS),
    );
    void this.sweep();
  }

  /** Purge every peel not seen for the expiry time. */
  async sweep(): Promise<void> {
    for (const id of this.index.storedBefore(Date.now() - this.expiryMs)) {
      try {
        await this.factsKv.purge(id);
        this.log.info("peel expired from the index", { peel_id: id });
      } catch (e) {
        this.log.error("cannot expire peel", { peel_id: id, error: e });
      }
    }
  }

  /** Stop sweeping. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
