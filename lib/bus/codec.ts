/**
 * The MessagePack codec for every NATS payload and KV value (state files excepted, which are raw
 * bytes). Decoding never throws anything but {@linkcode CodecError}, so a bad message can be
 * logged and dropped. One encoder and one decoder serve the whole process: the library's
 * `encode`/`decode` functions build a new one (and a 2 KiB buffer) per call, which showed up in
 * profiles of the job path.
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack";

/** A payload that is not valid MessagePack. */
export class CodecError extends SyntaxError {
  /** Wrap the decoder's error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CodecError";
  }
}

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder({ useBigInt64: false });

/** Encode a value as MessagePack. `undefined` fields are left out. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decode MessagePack bytes; throws {@linkcode CodecError} on garbage. */
export function decode(data: Uint8Array): unknown {
  if (data.byteLength === 0) throw new CodecError("Cannot decode message: it is empty");
  try {
    return decoder.decode(data);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new CodecError(`Cannot decode message (${data.byteLength} bytes): ${why}`, { cause: e });
  }
}
