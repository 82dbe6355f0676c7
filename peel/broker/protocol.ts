/**
 * The broker's wire protocol over stdio: each frame is a 4-byte big-endian length and a
 * MessagePack body. The peel sends requests (`id`, `op`, `args`, optional `timeout_ms`, `jid`),
 * the broker answers each with `{ id, ok: true, result }` or `{ id, ok: false, error }`. A
 * request `{ op: "cancel", args: { target } }` cancels request `target`.
 * @module
 */
import { decode, encode } from "../../lib/bus/codec.ts";
import * as s from "../../lib/schema/mod.ts";

/** Largest frame either side accepts. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Error codes a response may carry. */
export const ERROR_CODES = [
  "bad_frame",
  "bad_request",
  "unknown_op",
  "denied",
  "audit_unwritable",
  "timeout",
  "canceled",
  "failed",
  "broker_crashed",
] as const;
/** One of {@linkcode ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[number];

/** A request frame, validated. */
export const BrokerRequest = s.object({
  id: s.int({ min: 1 }),
  op: s.string({ pattern: /^[a-z][a-z0-9_.]*$/, expected: "an operation name" }),
  args: s.optional(s.record(s.unknown()), {}),
  timeout_ms: s.optional(s.int({ min: 1, max: 24 * 3600 * 1000 })),
  jid: s.optional(s.string({ maxLength: 64 })),
});
/** A validated request. */
export type BrokerRequest = s.Infer<typeof BrokerRequest>;

/** A response frame. */
export type BrokerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: ErrorCode; message: string } };

/** Validator for {@linkcode BrokerResponse}. */
export const BrokerResponseSchema: s.Schema<BrokerResponse> = s.transform(
  s.object({
    id: s.int({ min: 0 }),
    ok: s.boolean(),
    result: s.optional(s.unknown()),
    error: s.optional(s.object({ code: s.literal(...ERROR_CODES), message: s.string() })),
  }),
  (v, path) => {
    if (v.ok) return { id: v.id, ok: true, result: v.result };
    if (!v.error) throw new s.SchemaError(`${path}error`, "an error for ok: false", undefined);
    return { id: v.id, ok: false, error: v.error };
  },
);

/** A failed broker operation with its wire error code; the same class on both sides. */
export class BrokerError extends Error {
  /** The wire error code. */
  readonly code: ErrorCode;
  /** Build the error. */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BrokerError";
    this.code = code;
  }
}

/** A stream that cannot be read as frames (a declared length over the limit). */
export class FrameError extends SyntaxError {
  /** Build the error. */
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** Encode `value` as one frame. */
export function encodeFrame(value: unknown): Uint8Array {
  const body = encode(value);
  if (body.byteLength > MAX_FRAME_BYTES) {
    throw new FrameError(
      `Cannot send frame of ${body.byteLength} bytes: limit is ${MAX_FRAME_BYTES}`,
    );
  }
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

/** Decode a frame body; throws `CodecError` on garbage. */
export function decodeBody(body: Uint8Array): unknown {
  return decode(body);
}

/**
 * Split a byte stream into frame bodies, whatever the chunking. Chunks are kept as they come and
 * each body is copied once, so a large frame in many small chunks costs linear time. Throws
 * {@linkcode FrameError} for a declared length over {@linkcode MAX_FRAME_BYTES}: the stream cannot
 * be resynchronised.
 */
export async function* readFrames(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let chunks: Uint8Array[] = [];
  let head = 0; // Index of the first unread chunk.
  let buffered = 0;
  let want = -1; // Body length of the frame being read, once its header is in.
  const take = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n;) {
      const c = chunks[head]!;
      const k = Math.min(c.byteLength, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k === c.byteLength) head++;
      else chunks[head] = c.subarray(k);
    }
    buffered -= n;
    if (head * 2 >= chunks.length) [chunks, head] = [chunks.slice(head), 0]; // Amortised O(1).
    return out;
  };
  for await (const chunk of stream) {
    chunks.push(chunk);
    buffered += chunk.byteLength;
    for (;;) {
      if (want < 0) {
        if (buffered < 4) break;
        want = new DataView(take(4).buffer).getUint32(0);
        if (want > MAX_FRAME_BYTES) {
          throw new FrameError(`Frame of ${want} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
        }
      }
      if (buffered < want) break;
      yield take(want);
      want = -1;
    }
  }
}
