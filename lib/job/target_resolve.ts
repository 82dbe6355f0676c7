/**
 * Asking the masters which peels a target expression selects (`zester.target.resolve`), as the
 * CLI's `--preview` and the basket's fact-based lookups do: the answer comes in parts of at most
 * 4,096 ids, then an empty message.
 * @module
 */
import { type NatsConnection, RequestStrategy } from "nats";
import { decode, encode, subjects } from "../bus/mod.ts";
import type { TargetType } from "./types.ts";

/** How long a complete answer may take. */
const RESOLVE_WAIT_MS = 10_000;

/** The ids a master's fact index selects for `tgt`; throws with its reason for a bad expression. */
export async function resolveOnMasters(
  nc: NatsConnection,
  tgt: string,
  tgtType?: TargetType,
): Promise<string[]> {
  const ids: string[] = [];
  const replies = await nc.requestMany(subjects.targetResolve, encode({ tgt, tgt_type: tgtType }), {
    strategy: RequestStrategy.SentinelMsg,
    maxWait: RESOLVE_WAIT_MS,
  });
  for await (const m of replies) {
    if (m.data.byteLength === 0) return ids;
    const r = decode(m.data) as { ok?: boolean; ids?: unknown; error?: string };
    if (r?.ok !== true || !Array.isArray(r.ids)) throw new Error(r?.error ?? "Malformed reply");
    ids.push(...r.ids.map(String));
  }
  throw new Error(`No complete answer from a master within ${RESOLVE_WAIT_MS / 1000} s`);
}
