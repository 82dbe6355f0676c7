/**
 * One interval timer shared by many deadlines. A timer per message or job costs several
 * microseconds to arm and clear, which showed up in profiles of the job path; deadlines of
 * seconds do not need that precision. The interval runs only while something is watched, so
 * an idle process has no timer keeping it alive.
 *
 * @example
 * ```ts
 * const sweeper = new Sweeper(100);
 * const check = (now: number) => { if (now > deadline) fail(); };
 * sweeper.watch(check);   // called every 100 ms from now on
 * sweeper.unwatch(check); // and no longer
 * ```
 * @module
 */

/** Calls every watched function with `Date.now()` once per period. */
export class Sweeper {
  readonly #periodMs: number;
  readonly #watched = new Set<(now: number) => void>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A sweeper ticking every `periodMs` while anything is watched. */
  constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  /** Call `fn` on every tick until {@linkcode unwatch}. */
  watch(fn: (now: number) => void): void {
    this.#watched.add(fn);
    this.#timer ??= setInterval(() => {
      const now = Date.now();
      for (const f of this.#watched) f(now);
    }, this.#periodMs);
  }

  /** Stop calling `fn`; the timer stops when nothing is left. */
  unwatch(fn: (now: number) => void): void {
    this.#watched.delete(fn);
    if (this.#watched.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
