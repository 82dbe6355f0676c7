/**
 * Answers `zester.target.resolve`: which peels an expression selects, from the fact index, in
 * parts of at most {@linkcode IDS_PER_CHUNK} ids (100,000 ids exceed one message), then an empty
 * message.
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import { MASTER_QUEUE, serve, subjects } from "../lib/bus/mod.ts";
import { IDS_PER_CHUNK, TARGET_TYPES } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import * as s from "../lib/schema/mod.ts";
import { compileTarget } from "../lib/target/mod.ts";
import type { FactIndex } from "./fact_index.ts";

/** Request on `zester.target.resolve`. */
export const ResolveRequest = s.object({
  tgt: s.string({ minLength: 1, maxLength: 65536 }),
  tgt_type: s.optional(s.literal(...TARGET_TYPES)),
}, { strict: false });

/** Serve target resolution until the connection drains. */
export function serveTargetResolve(
  nc: NatsConnection,
  index: FactIndex,
  nodegroups: Record<string, string | string[]>,
  log: Logger,
): Subscription {
  return serve(nc, {
    subject: subjects.targetResolve,
    queue: MASTER_QUEUE,
    schema: ResolveRequest,
    log,
    handle: (req) => index.resolve(compileTarget(req.tgt, req.tgt_type, { nodegroups })),
    parts: (ids) => {
      const parts = [];
      for (let i = 0; i === 0 || i < ids.length; i += IDS_PER_CHUNK) {
        parts.push({ ok: true, ids: ids.slice(i, i + IDS_PER_CHUNK) });
      }
      return parts;
    },
  });
}
