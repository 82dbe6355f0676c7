/**
 * Request/reply endpoints with one error discipline: a payload that does not decode or validate
 * is answered with `{ ok: false, error }` (or logged and dropped when there is no reply subject),
 * and a failing handler never takes the process down.
 * @module
 */
import type { Msg, NatsConnection, Subscription } from "nats";
import type { Logger } from "../log/mod.ts";
import type { Schema } from "../schema/mod.ts";
import { decode, encode } from "./codec.ts";

/** An error reply. */
export interface ErrorReply {
  /** Always false. */
  ok: false;
  /** What went wrong, for people. */
  error: string;
}

/** Options for {@linkcode serve}. */
export interface ServeOptions<T, R> {
  /** Subject to listen on. */
  subject: string;
  /** Queue group, so each request reaches one member. */
  queue?: string;
  /** Validator for the decoded request. */
  schema: Schema<T>;
  /** Handles one valid request; its value is the reply. */
  handle: (req: T, msg: Msg) => Promise<R> | R;
  /**
   * Send each reply as the parts this gives (an error reply as one part), then an empty message
   * that ends it, for replies larger than one message; clients read them with nats.js's
   * `requestMany` and `RequestStrategy.SentinelMsg`.
   */
  parts?: (reply: R) => unknown[];
  /** Where malformed input and handler failures are logged. */
  log: Logger;
}

/** Serve `opts.subject` until the connection drains. */
export function serve<T, R>(nc: NatsConnection, opts: ServeOptions<T, R>): Subscription {
  return nc.subscribe(opts.subject, {
    queue: opts.queue,
    callback: (err, msg) => {
      if (err) {
        opts.log.error("subscription failed", { subject: opts.subject, error: err });
        return;
      }
      void handleOne(opts, msg);
    },
  });
}

async function handleOne<T, R>(opts: ServeOptions<T, R>, msg: Msg): Promise<void> {
  let req: T;
  try {
    req = opts.schema.parse(decode(msg.data), "");
  } catch (e) {
    const error = `Malformed request on ${msg.subject}: ${(e as Error).message}`;
    opts.log.warn("malformed request", { subject: msg.subject, error });
    respond(msg, [{ ok: false, error } satisfies ErrorReply], opts);
    return;
  }
  try {
    const reply = await opts.handle(req, msg);
    respond(msg, opts.parts ? opts.parts(reply) : [reply], opts);
  } catch (e) {
    const error = (e as Error).message ?? String(e);
    opts.log.error("request failed", { subject: msg.subject, error });
    respond(msg, [{ ok: false, error } satisfies ErrorReply], opts);
  }
}

function respond<T, R>(msg: Msg, values: unknown[], opts: ServeOptions<T, R>): void {
  if (!msg.reply) {
    if ((values[0] as ErrorReply)?.ok === false) {
      opts.log.warn("dropped request without reply subject", { subject: msg.subject });
    }
    return;
  }
  try {
    for (const v of values) msg.respond(encode(v));
    if (opts.parts) msg.respond(new Uint8Array(0));
  } catch (e) {
    opts.log.error("cannot send reply", { subject: msg.subject, error: e });
  }
}
