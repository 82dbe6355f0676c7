/**
 * A peel as an index of the whole fleet holds it: its facts and settings as MessagePack bytes,
 * outside the V8 heap, decoded only when a matcher reads them. As JavaScript objects a peel's
 * facts took about 3 KB of heap and Salt's grains computed from them 1 KB more; as bytes they take
 * about 2 KB, and a target on the id alone (a glob, `E@`, `L@`) never decodes them.
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { PeelView } from "./compile.ts";

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/** `data` as MessagePack, in the encoder's buffer: valid until the next call. */
export function pack(data: Record<string, unknown>): Uint8Array {
  return encoder.encode(data);
}

/** The data {@linkcode pack} stored. */
export function unpack(bytes: Uint8Array): Record<string, unknown> {
  return decoder.decode(bytes) as Record<string, unknown>;
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

  /** The peel's settings, decoded, if it sent any. */
  get settings(): Record<string, unknown> | undefined {
    if (!this.#settings) return undefined;
    return this.#decodedSettings ??= unpack(this.#settings);
  }
}
