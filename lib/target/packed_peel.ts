/**
 * A peel as an index of the whole fleet holds it: its facts and settings as MessagePack bytes,
 * outside the V8 heap, decoded only when a matcher reads them. As JavaScript objects a peel's
 * facts took about 3 KB of heap and Salt's grains computed from them 1 KB more; as bytes they take
 * about 2 KB, and a target on the id alone (a glob, `E@`, `L@`) never decodes them.
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { PeelView } from "./peel_view.ts";

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/**
 * `data` as MessagePack, followed by a table of where each top-level entry starts (u32 each,
 * then the map's end and the number of entries), so that reading one entry jumps to it instead
 * of walking every value before it.
 */
export function pack(data: Record<string, unknown>): Uint8Array {
  const body = encoder.encode(data);
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const [n, first] = mapHeader(body, v);
  const out = new Uint8Array(body.byteLength + 4 * (n + 2));
  out.set(body);
  const table = new DataView(out.buffer, body.byteLength);
  let at = first;
  for (let i = 0; i < n; i++) {
    table.setUint32(4 * i, at, true);
    at = skip(body, v, skip(body, v, at));
  }
  table.setUint32(4 * n, at, true);
  table.setUint32(4 * n + 4, n, true);
  return out;
}

/** The number of entries and where the first starts, in the MessagePack map `b`. */
function mapHeader(b: Uint8Array, v: DataView): [number, number] {
  const t = b[0]!;
  if (t >= 0x80 && t <= 0x8f) return [t & 0x0f, 1];
  if (t === 0xde) return [v.getUint16(1), 3];
  if (t === 0xdf) return [v.getUint32(1), 5];
  throw new TypeError(
    `Cannot pack a MessagePack value of type 0x${t.toString(16)}, expected a map`,
  );
}

/** The packed map's entry count and the table's offset. */
function table(bytes: Uint8Array, v: DataView): [number, number] {
  const n = v.getUint32(bytes.byteLength - 4, true);
  return [n, bytes.byteLength - 4 * (n + 2)];
}

/** The data {@linkcode pack} stored. */
export function unpack(bytes: Uint8Array): Record<string, unknown> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [n, at] = table(bytes, v);
  const body = bytes.subarray(0, v.getUint32(at + 4 * n, true));
  return decoder.decode(body) as Record<string, unknown>;
}

const utf8 = new TextEncoder();

/** The offset just past the MessagePack value at `at` (the format's lengths, nothing decoded). */
function skip(b: Uint8Array, v: DataView, at: number): number {
  let items = 1;
  while (items-- > 0) {
    const t = b[at]!;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) at += 1;
    else if (t <= 0x8f) [at, items] = [at + 1, items + 2 * (t & 0x0f)];
    else if (t <= 0x9f) [at, items] = [at + 1, items + (t & 0x0f)];
    else if (t <= 0xbf) at += 1 + (t & 0x1f);
    else if (t === 0xc4 || t === 0xd9) at += 2 + b[at + 1]!;
    else if (t === 0xc5 || t === 0xda) at += 3 + v.getUint16(at + 1);
    else if (t === 0xc6 || t === 0xdb) at += 5 + v.getUint32(at + 1);
    else if (t === 0xc7) at += 3 + b[at + 1]!;
    else if (t === 0xc8) at += 4 + v.getUint16(at + 1);
    else if (t === 0xc9) at += 6 + v.getUint32(at + 1);
    else if (t === 0xca || t === 0xce || t === 0xd2) at += 5;
    else if (t === 0xcb || t === 0xcf || t === 0xd3) at += 9;
    else if (t === 0xcc || t === 0xd0) at += 2;
    else if (t === 0xcd || t === 0xd1) at += 3;
    else if (t >= 0xd4 && t <= 0xd8) at += 2 + (1 << (t - 0xd4));
    else if (t === 0xdc) [at, items] = [at + 3, items + v.getUint16(at + 1)];
    else if (t === 0xdd) [at, items] = [at + 5, items + v.getUint32(at + 1)];
    else if (t === 0xde) [at, items] = [at + 3, items + 2 * v.getUint16(at + 1)];
    else if (t === 0xdf) [at, items] = [at + 5, items + 2 * v.getUint32(at + 1)];
    else throw new RangeError(`Cannot skip MessagePack type 0x${t.toString(16)} at ${at}`);
  }
  return at;
}

/** The string header at `at`: where its bytes start and how many, or undefined if no string. */
function strAt(b: Uint8Array, v: DataView, at: number): [number, number] | undefined {
  const t = b[at]!;
  if (t >= 0xa0 && t <= 0xbf) return [at + 1, t & 0x1f];
  if (t === 0xd9) return [at + 2, b[at + 1]!];
  if (t === 0xda) return [at + 3, v.getUint16(at + 1)];
  if (t === 0xdb) return [at + 5, v.getUint32(at + 1)];
  return undefined;
}

/** True when the `len` bytes at `start` are `key` in UTF-8. */
function keyIs(b: Uint8Array, start: number, len: number, key: string): boolean {
  if (len < key.length) return false; // UTF-8 takes no fewer bytes than UTF-16 units.
  for (let j = 0; j < key.length; j++) {
    const c = key.charCodeAt(j);
    if (c > 0x7f) {
      const k = utf8.encode(key);
      return k.length === len && k.every((x, i) => b[start + i] === x);
    }
    if (b[start + j] !== c) return false;
  }
  return key.length === len;
}

/** The ASCII string of `len` bytes at `at`, or undefined when one is not ASCII. */
function ascii(b: Uint8Array, at: number, len: number): string | undefined {
  let out = "";
  for (let i = at; i < at + len; i++) {
    if (b[i]! > 0x7f) return undefined;
    out += String.fromCharCode(b[i]!);
  }
  return out;
}

/**
 * The value packed in `b` from `start` to `end`: short ASCII strings and short lists of them (most
 * facts a target names) read directly, the rest through the decoder, which costs more per call.
 */
function valueAt(b: Uint8Array, start: number, end: number): unknown {
  const t = b[start]!;
  if (t >= 0xa0 && t <= 0xbf) {
    const s = ascii(b, start + 1, t & 0x1f);
    if (s !== undefined) return s;
  } else if (t >= 0x90 && t <= 0x9f) {
    const out: string[] = [];
    let at = start + 1;
    for (let n = t & 0x0f; n > 0; n--) {
      const e = b[at]!;
      const s = e >= 0xa0 && e <= 0xbf ? ascii(b, at + 1, e & 0x1f) : undefined;
      if (s === undefined) break;
      out.push(s);
      at += 1 + (e & 0x1f);
    }
    if (at === end) return out;
  }
  return decoder.decode(b.subarray(start, end));
}

/**
 * The entries of the packed map `bytes` under `keys` only, decoded; the table {@linkcode pack}
 * wrote leads to each entry, the others are not read.
 */
export function unpackKeys(bytes: Uint8Array, keys: readonly string[]): Record<string, unknown> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [n, at] = table(bytes, v);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const s = strAt(bytes, v, v.getUint32(at + 4 * i, true));
    if (!s) continue;
    for (const key of keys) {
      if (!keyIs(bytes, s[0], s[1], key)) continue;
      out[key] = valueAt(bytes, s[0] + s[1], v.getUint32(at + 4 * i + 4, true));
      break;
    }
  }
  return out;
}

/** A view of a stored peel that decodes its facts and settings on first read, once. */
export class PackedPeel implements PeelView {
  readonly id: string;
  readonly #facts: Uint8Array;
  readonly #settings: Uint8Array | undefined;
  #decodedFacts?: Record<string, unknown>;
  #decodedSettings?: Record<string, unknown>;

  /** A view of peel `id` over its packed facts and settings. */
  constructor(id: string, facts: Uint8Array, settings?: Uint8Array) {
    this.id = id;
    this.#facts = facts;
    this.#settings = settings;
  }

  /** The peel's facts, decoded. */
  get facts(): Record<string, unknown> {
    return this.#decodedFacts ??= unpack(this.#facts);
  }

  /** The peel's facts under the top-level `keys` only (a matcher that names them reads no more). */
  factsAt(keys: readonly string[]): Record<string, unknown> {
    return this.#decodedFacts ?? unpackKeys(this.#facts, keys);
  }

  /** The peel's settings, decoded, if it sent any. */
  get settings(): Record<string, unknown> | undefined {
    if (!this.#settings) return undefined;
    return this.#decodedSettings ??= unpack(this.#settings);
  }
}
