/**
 * Byte strings of many small, long-lived records (a fleet's packed facts) copied into shared
 * 1 MiB buffers. A buffer per record is a malloc each, interleaved with the short-lived buffers of
 * network reads: with 10,000 peels the allocator's heap then held 20 MiB more that it could not
 * return.
 * @module
 */

const CHUNK = 1 << 20;
/** Records larger than this get a buffer of their own. */
const LARGE = CHUNK >> 3;

/** An append-only store of byte strings; copying the live ones into a new arena reclaims the rest. */
export class Arena {
  #chunk = new ArrayBuffer(0);
  #used = 0;
  #live = 0;
  #released = 0;

  /** A copy of `bytes` in the arena. */
  store(bytes: Uint8Array): Uint8Array {
    const n = bytes.byteLength;
    this.#live += n;
    if (n > LARGE) return bytes.slice();
    if (this.#used + n > this.#chunk.byteLength) {
      this.#chunk = new ArrayBuffer(CHUNK);
      this.#used = 0;
    }
    const out = new Uint8Array(this.#chunk, this.#used, n);
    out.set(bytes);
    this.#used += n;
    return out;
  }

  /** Mark `stored` (from {@linkcode Arena.store}) as unused. */
  release(stored: Uint8Array): void {
    this.#live -= stored.byteLength;
    this.#released += stored.byteLength;
  }

  /** True when more bytes are released than live: copying the live ones would halve it. */
  get wasteful(): boolean {
    return this.#released > CHUNK && this.#released > this.#live;
  }
}
