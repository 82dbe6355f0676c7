/**
 * The peel's side of the basket (Salt's mine): it runs the functions it publishes through its
 * normal function table, at start and then every interval (Salt's `mine_interval`), and writes
 * each result into the `basket` bucket under `<peel-id>.<name>`, which only this peel may write.
 * A function that fails is logged with its name and the others are still published. It also
 * reads the basket for `mine.get` and templates.
 *
 * The functions come from a call made at each round, so sources besides `peel.yaml` (settings,
 * as Salt's `mine_functions` in pillar) can add to them without restarting anything.
 * @module
 */
import type { KV, NatsConnection } from "nats";
import { basketGet, basketKey, listNames } from "../lib/basket/mod.ts";
import { BUCKETS, encode, openBucket } from "../lib/bus/mod.ts";
import type { BasketFunction } from "../lib/config/mod.ts";
import type { ExecReturn, TargetType } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import type { Basket } from "./functions/mod.ts";

/** How soon a round is tried again when the bucket refused its entries. */
const RETRY_MS = 10_000;

/** A basket function that ran and failed. */
class FunctionFailed extends Error {
  override name = "FunctionFailed";
}

/** What a {@linkcode PeelBasket} needs. */
export interface PeelBasketOptions {
  /** The peel's connection; throws while there is none yet. */
  nc: () => NatsConnection;
  peelId: string;
  log: Logger;
  /** The functions to publish, asked at every round. */
  functions: () => BasketFunction[];
  /** Time between rounds. */
  intervalMs: number;
  /** Run one function as a job would run it. */
  run: (fn: BasketFunction) => Promise<ExecReturn>;
}

/** Publishes this peel's basket entries and reads everyone's. */
export class PeelBasket implements Basket {
  readonly #opts: PeelBasketOptions;
  #kv?: KV;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;

  /** A basket for the peel `opts.peelId`; {@linkcode PeelBasket.start} starts publishing. */
  constructor(opts: PeelBasketOptions) {
    this.#opts = opts;
  }

  /**
   * Publish now, then every interval, until {@linkcode PeelBasket.stop}; sooner while the bucket
   * refuses entries (no master has provisioned storage yet).
   */
  start(): void {
    const round = async () => {
      const { stored } = await this.#round();
      const next = stored ? this.#opts.intervalMs : Math.min(this.#opts.intervalMs, RETRY_MS);
      if (!this.#stopped) this.#timer = setTimeout(round, next);
    };
    void round();
  }

  /** Stop publishing. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #bucket(): Promise<KV> {
    return this.#kv ??= await openBucket(this.#opts.nc(), BUCKETS.basket);
  }

  /** Run and publish every function; a failure is logged, and returned by name. */
  async update(): Promise<Record<string, string>> {
    return (await this.#round()).failed;
  }

  async #round(): Promise<{ failed: Record<string, string>; stored: boolean }> {
    const failed: Record<string, string> = {};
    let stored = true;
    for (const fn of this.#opts.functions()) {
      try {
        await this.send(fn);
      } catch (e) {
        const unstored = !(e instanceof FunctionFailed);
        if (unstored) stored = false;
        failed[fn.name] = (e as Error).message;
        this.#opts.log.warn(unstored ? "basket entry not stored" : "basket function failed", {
          function: fn.name,
          fun: fn.fun,
          error: e,
        });
      }
    }
    return { failed, stored };
  }

  /** Run `fn` and publish its result; throws the function's error or the bucket's. */
  async send(fn: BasketFunction): Promise<void> {
    const ret = await this.#opts.run(fn);
    if (!ret.success) throw new FunctionFailed(ret.error ?? `${fn.fun} failed`);
    const key = basketKey(this.#opts.peelId, fn.name);
    await (await this.#bucket()).put(key, encode(ret.result ?? null));
  }

  /** Remove this peel's entry `name`. */
  async delete(name: string): Promise<void> {
    await (await this.#bucket()).delete(basketKey(this.#opts.peelId, name));
  }

  /** Remove every entry of this peel. */
  async flush(): Promise<void> {
    const kv = await this.#bucket();
    for (const name of await listNames(kv, this.#opts.peelId)) {
      await kv.delete(basketKey(this.#opts.peelId, name));
    }
  }

  /** Salt's `mine.get` on this peel's connection. */
  get(tgt: string, name: string, tgtType?: TargetType): Promise<Record<string, unknown>> {
    return basketGet(this.#opts.nc(), tgt, name, tgtType);
  }
}
