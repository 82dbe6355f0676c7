/**
 * `-b/--batch N|N%`: run a job on at most N peels at a time, as Salt's batch mode does: a
 * sliding window, each peel's job started as soon as one running ends (after `--batch-wait`),
 * and no new peel started once `--batch-fail` peels failed (`--failhard`: one).
 * @module
 */
import type { NatsConnection } from "nats";
import { InvalidArgumentError } from "@commander-js/extra-typings";
import type { ExecReturn, JobStatus } from "../../lib/job/mod.ts";
import type { FollowEvents } from "./follow.ts";
import { previewTarget } from "./preview.ts";
import { exitCode, runJob, type RunOptions, type RunOutcome } from "./run.ts";

/** A batch size: a count, or a percentage of the targets. */
export type BatchSize = { count: number } | { percent: number };

/** Parse `-b` (a commander argument parser). */
export function parseBatchSize(text: string): BatchSize {
  const m = /^([1-9]\d*)(%?)$/.exec(text.trim());
  if (!m || (m[2] && Number(m[1]) > 100)) {
    throw new InvalidArgumentError("expected a number of peels or a percentage, such as 10 or 25%");
  }
  return m[2] ? { percent: Number(m[1]) } : { count: Number(m[1]) };
}

/** How many of `total` peels run at once. */
export function batchWidth(size: BatchSize, total: number): number {
  const n = "count" in size ? size.count : Math.ceil((size.percent * total) / 100);
  return Math.max(1, Math.min(n, total));
}

/** What batch mode adds to a run. */
export interface BatchOptions {
  size: BatchSize;
  /** Pause after a peel's job ends before the next starts. */
  waitMs: number;
  /** Start no new peel once this many failed. */
  failLimit?: number;
}

/** Run `opts` in batches; one job per peel, at most the batch width at a time. */
export async function runBatch(
  nc: NatsConnection,
  opts: RunOptions,
  batch: BatchOptions,
  events: FollowEvents & { onDispatched?: (jid: string, targets: number) => void } = {},
): Promise<RunOutcome> {
  const ids = await previewTarget(nc, opts.tgt, opts.tgtType);
  if (ids.length === 0) throw new Error(`No peels matched the target "${opts.tgt}"`);
  const outcomes: RunOutcome[] = [];
  let next = 0;
  let failures = 0;
  const stopped = () => batch.failLimit !== undefined && failures >= batch.failLimit;
  const slot = async () => {
    while (next < ids.length && !stopped()) {
      const id = ids[next++]!;
      const o = await runJob(nc, { ...opts, tgt: id, tgtType: "list" }, events);
      outcomes.push(o);
      if (exitCode(o) !== 0) failures++;
      if (batch.waitMs > 0 && next < ids.length) {
        await new Promise((r) => setTimeout(r, batch.waitMs));
      }
    }
  };
  await Promise.all(Array.from({ length: batchWidth(batch.size, ids.length) }, slot));
  return merge(ids, outcomes);
}

/** The outcomes of a batch's jobs as one: complete only if every peel's job was. */
function merge(ids: string[], outcomes: RunOutcome[]): RunOutcome {
  const returns = new Map<string, ExecReturn>();
  const absent = new Set<string>();
  for (const o of outcomes) {
    for (const [id, r] of o.returns) returns.set(id, r);
    for (const id of o.absent) absent.add(id);
  }
  const bad = outcomes.find((o) => exitCode(o) !== 0);
  const status: JobStatus = bad?.status ?? (outcomes.length < ids.length ? "canceled" : "complete");
  return {
    jid: outcomes.map((o) => o.jid).join(","),
    status,
    ended: outcomes.every((o) => o.ended),
    targets: ids,
    returns,
    absent,
    missing: ids.filter((id) => !returns.has(id)),
  };
}
