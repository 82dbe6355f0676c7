/**
 * `zester '<target>' <module.function> [args…] [key=value…]`: dispatch a job through a master
 * and follow it, with Salt's meaning of `-t`: how long the CLI waits, not how long the job may
 * run. The CLI waits until the job ends, or until `-t` passed without a new return and no
 * target still runs the job (asked as Salt's `find_job` asks). The job keeps its own deadline
 * and its result stays in `zester job show`.
 * @module
 */
import type { NatsConnection } from "nats";
import { decode, encode, subjects } from "../../lib/bus/mod.ts";
import { formatDuration } from "../../lib/config/mod.ts";
import {
  type DispatchReply,
  DispatchReplySchema,
  type DispatchRequest,
  type ExecReturn,
  FindReply,
  type JobStatus,
  ksuid,
  type TargetType,
} from "../../lib/job/mod.ts";
import { parseFunctionArgs } from "../args.ts";
import { type FollowEvents, JobFollower } from "./follow.ts";

/** What the operator asked for. */
export interface RunOptions {
  tgt: string;
  tgtType?: TargetType;
  fun: string;
  words: string[];
  /** How long to wait without news (`-t`). */
  waitMs: number;
  /** The job's timeout to ask the master for (`--job-timeout`); its default otherwise. */
  jobTimeoutMs?: number;
  user: string;
}

/** A run as the CLI saw it: what to print and the exit status. */
export interface RunOutcome {
  jid: string;
  /** The job's status when the CLI stopped following it. */
  status: JobStatus;
  /** False when the CLI stopped waiting before the job ended. */
  ended: boolean;
  targets: string[];
  returns: Map<string, ExecReturn>;
  /** Targets found not connected. */
  absent: Set<string>;
  missing: string[];
}

/** How long past the job's deadline the CLI waits for its final record. */
const GRACE_MS = 5_000;

/** Send a dispatch request for a new job `jid`; throws with the master's reason if refused. */
export async function submitJob(
  nc: NatsConnection,
  opts: RunOptions,
  jid = ksuid(),
): Promise<Extract<DispatchReply, { ok: true }>> {
  const { args, kwargs } = parseFunctionArgs(opts.words);
  const req: DispatchRequest = {
    jid,
    fun: opts.fun,
    args,
    kwargs,
    tgt: opts.tgt,
    tgt_type: opts.tgtType,
    timeout_ms: opts.jobTimeoutMs,
    user: opts.user,
  };
  const reply = DispatchReplySchema.parse(
    decode((await nc.request(subjects.dispatch, encode(req), { timeout: 10_000 })).data),
  );
  if (!reply.ok) throw new Error(reply.error);
  return reply;
}

/** Dispatch a job and follow it; `events` hears each return as it arrives. */
export async function runJob(
  nc: NatsConnection,
  opts: RunOptions,
  events: FollowEvents & { onDispatched?: (jid: string, targets: number) => void } = {},
): Promise<RunOutcome> {
  const jid = ksuid();
  const f = await JobFollower.start(nc, jid, events);
  try {
    const reply = await submitJob(nc, opts, jid);
    events.onDispatched?.(jid, reply.target_count);
    const targets = await f.targets(reply.target_count);
    await waitFor(nc, f, targets, opts.waitMs, Date.parse(reply.deadline) + GRACE_MS);
    return await outcomeOf(f, targets);
  } finally {
    f.stop();
  }
}

/** What `f` saw of a job of `targets`, with returns that went past it read back. */
export async function outcomeOf(f: JobFollower, targets: string[]): Promise<RunOutcome> {
  await f.readBack(targets);
  if (!f.ended) await f.refresh();
  return {
    jid: f.jid,
    status: f.status ?? "pending",
    ended: f.ended,
    targets,
    returns: f.returns,
    absent: f.absent,
    missing: targets.filter((id) => !f.returns.has(id)),
  };
}

/**
 * Wait until the job ends, or every target that did not return was found not connected, or until
 * `waitMs` passed without a new return and the owner says no target still runs it; never past
 * `giveUpAt`.
 */
async function waitFor(
  nc: NatsConnection,
  f: JobFollower,
  targets: string[],
  waitMs: number,
  giveUpAt: number,
): Promise<void> {
  const heard = () =>
    f.absent.size > 0 && f.returns.size + f.absent.size >= targets.length &&
    targets.every((id) => f.returns.has(id) || f.absent.has(id));
  // One wait for the whole job: a return moves the time to wait until, not the wait.
  let until = Date.now() + waitMs;
  for (;;) {
    await f.until(() => f.ended || heard(), Math.min(until, giveUpAt) - Date.now());
    if (f.ended || heard() || Date.now() >= giveUpAt) return;
    if (f.lastReturnAt + waitMs > Date.now()) {
      until = Math.max(until, f.lastReturnAt + waitMs);
      continue;
    }
    await f.refresh();
    if (f.ended || await stillRunning(nc, f.jid) === 0) return;
    until = Date.now() + waitMs;
  }
}

/**
 * How many targets say they still run job `jid`, asked through its owner; `undefined` when no
 * master answers (the job is between owners), which is no reason to stop waiting.
 */
async function stillRunning(nc: NatsConnection, jid: string): Promise<number | undefined> {
  try {
    const m = await nc.request(subjects.jobsFind, encode({ jid }), { timeout: 5_000 });
    return FindReply.parse(decode(m.data)).running;
  } catch {
    return undefined;
  }
}

/** Exit status of a run: 0 when the job ended complete (every target succeeded), else 1. */
export function exitCode(o: RunOutcome): number {
  return o.ended && o.status === "complete" ? 0 : 1;
}

/** One line on stderr about the job, for `--verbose`. */
export function summaryLine(o: RunOutcome, elapsedMs: number): string {
  return `jid ${o.jid}: ${o.status}, ${o.returns.size}/${o.targets.length} returned in ${
    formatDuration(elapsedMs)
  }`;
}
