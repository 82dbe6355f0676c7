/**
 * KSUIDs for job ids: 4 bytes of seconds since 2014-05-13 and 16 random bytes, written as 27
 * base62 characters, so that ids sort by creation time as strings.
 *
 * @example
 * ```ts
 * import { ksuid, ksuidTime } from "./ksuid.ts";
 * const jid = ksuid();
 * ksuidTime(jid); // about now
 * ```
 * @module
 */

const EPOCH_S = 1_400_000_000;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LENGTH = 27;

/** A new KSUID for `now` (milliseconds since the Unix epoch). */
export function ksuid(now: number = Date.now()): string {
  const bytes = new Uint8Array(20);
  new DataView(bytes.buffer).setUint32(0, Math.floor(now / 1000) - EPOCH_S);
  crypto.getRandomValues(bytes.subarray(4));
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(LENGTH, "0");
}

/** The creation time of a KSUID, in milliseconds since the Unix epoch. */
export function ksuidTime(id: string): number {
  let n = 0n;
  for (const c of id) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) throw new TypeError(`Invalid KSUID "${id}": unexpected character "${c}"`);
    n = n * 62n + BigInt(v);
  }
  return (Number(n >> 128n) + EPOCH_S) * 1000;
}
