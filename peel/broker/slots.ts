/**
 * A counting semaphore with a FIFO queue: how many broker operations run at once
 * (`max_concurrent`), and, with one slot, the lock that makes file operations take turns.
 * @module
 */

/** `size` slots; {@linkcode Slots.acquire} waits, in arrival order, for a free one. */
export class Slots {
  readonly #size: number;
  #free: number;
  readonly #queue: (() => void)[] = [];
  #roomWaiters: (() => void)[] = [];

  /** Create `size` slots. */
  constructor(size: number) {
    this.#size = size;
    this.#free = size;
  }

  /**
   * Take a slot, waiting for one when none is free; resolves with its release. Rejects with
   * `signal.reason` if `signal` aborts first.
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.#free++;
        this.#next();
      };
      const waiter = () => {
        signal.removeEventListener("abort", onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        this.#wake();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
      this.#next();
    });
  }

  /** Resolves once fewer callers wait than there are slots. */
  async room(): Promise<void> {
    while (this.#queue.length >= this.#size) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  /** Run `fn` holding a slot. */
  async with<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #next(): void {
    while (this.#free > 0 && this.#queue.length > 0) {
      this.#free--;
      this.#queue.shift()!();
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
  }
}
