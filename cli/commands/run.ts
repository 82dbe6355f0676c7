/**
 * `zester '<target>' <module.function> [args…] [key=value…]`: dispatch a job through a master,
 * follow its returns live, and print them once every target has returned or the job ends.
 * @module
 */
import type { Msg, NatsConnection } from "nats";
import { BUCKETS, decode, encode, parseReturnSubject, subjects } from "../../lib/bus/mod.ts";
import {
  DispatchReplySchema,
  type DispatchRequest,
  type ExecReturn,
  isReturnWrite,
  isTerminal,
  type JobStatus,
  JobStatusEvent,
  ksuid,
  readJobRecord,
  readReturn,
  readReturns,
  readTargets,
  type TargetType,
} from "../../lib/job/mod.ts";
import { formatDuration } from "../../lib/config/mod.ts";
import { parseFunctionArgs } from "../args.ts";
import {
  color,
  type Format,
  indent,
  isStateRun,
  renderValue,
  serialize,
  stateBlock,
  useColor,
} from "../output/mod.ts";

/** What the operator asked for. */
export interface RunOptions {
  tgt: string;
  tgtType?: TargetType;
  fun: string;
  words: string[];
  timeoutMs?: number;
  format: Format;
  user: string;
}

/** A finished run: what to print and the exit status. */
export interface RunOutcome {
  jid: string;
  status: JobStatus;
  targets: string[];
  returns: Map<string, ExecReturn>;
  missing: string[];
}

/** Default timeouts by function, as the product's CLI reference gives them. */
export function defaultTimeoutMs(fun: string): number | undefined {
  if (fun === "state.highstate") return 10 * 60_000;
  if (fun === "state.apply" || fun === "state.sls") return 5 * 60_000;
  return undefined;
}

/** How long past the job's deadline the CLI waits for the master's final status. */
const GRACE_MS = 5_000;

/** Dispatch a job and wait for it to finish. Throws with the master's reason if refused. */
export async function runJob(nc: NatsConnection, opts: RunOptions): Promise<RunOutcome> {
  const jid = ksuid();
  const { args, kwargs } = parseFunctionArgs(opts.words);
  const returns = new Map<string, ExecReturn>();
  const final = Promise.withResolvers<JobStatus>();
  const subs = [
    nc.subscribe(subjects.jobStatus(jid), {
      callback: (_err, msg) => onStatus(msg, jid, final.resolve),
    }),
    nc.subscribe(subjects.jobReturns(jid), {
      callback: (_err, msg) => {
        const ids = parseReturnSubject(msg.subject);
        if (ids && isReturnWrite(msg)) {
          returns.set(ids.peelId, readReturn(msg.data, jid, ids.peelId));
        }
      },
    }),
  ];
  try {
    // No flush needed: the server sees this SUB before the dispatch request on this connection.
    const req: DispatchRequest = {
      jid,
      fun: opts.fun,
      args,
      kwargs,
      tgt: opts.tgt,
      tgt_type: opts.tgtType,
      timeout_ms: opts.timeoutMs ?? defaultTimeoutMs(opts.fun),
      user: opts.user,
    };
    const reply = DispatchReplySchema.parse(
      decode((await nc.request(subjects.dispatch, encode(req), { timeout: 10_000 })).data),
    );
    if (!reply.ok) throw new Error(reply.error);
    const js = nc.jetstream();
    const jobsKv = await js.views.kv(BUCKETS.jobs.name, { bindOnly: true });
    const waitMs = Math.max(0, Date.parse(reply.deadline) - Date.now()) + GRACE_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      final.promise,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), waitMs)),
    ]);
    clearTimeout(timer);
    const settled = status ?? (await readJobRecord(jobsKv, jid))?.status ?? "running";
    const ids = await readTargets(jobsKv, jid, reply.target_count);
    if (ids.some((id) => !returns.has(id))) {
      // Returns that went past this subscription (e.g. during a reconnect) are still in KV.
      const kv = await js.views.kv(BUCKETS.jobReturns.name, { bindOnly: true });
      for (const [id, ret] of await readReturns(kv, jid)) {
        if (!returns.has(id)) returns.set(id, ret);
      }
    }
    const missing = ids.filter((id) => !returns.has(id));
    return { jid, status: settled, targets: ids, returns, missing };
  } finally {
    for (const sub of subs) sub.unsubscribe();
  }
}

function onStatus(msg: Msg, jid: string, done: (s: JobStatus) => void): void {
  try {
    const ev = JobStatusEvent.parse(decode(msg.data));
    if (ev.jid === jid && isTerminal(ev.status)) done(ev.status);
  } catch {
    // A malformed event is not ours to act on; the stored job record is the authority.
  }
}

/** Exit status of a run: 0 when every target returned successfully, else 1. */
export function exitCode(o: RunOutcome): number {
  if (o.missing.length) return 1;
  for (const r of o.returns.values()) if (!r.success) return 1;
  return 0;
}

/** The per-peel record printed in JSON and YAML. */
export function returnRecord(r: ExecReturn | undefined): Record<string, unknown> {
  if (!r) return { returned: false, success: false, error: "Peel did not return" };
  const { jid: _j, peel_id: _p, ...rest } = r;
  return { returned: true, ...rest };
}

/** Render a finished run in `format`. */
export function renderRun(o: RunOutcome, format: Format): string {
  if (format !== "text") {
    const out: Record<string, unknown> = {};
    for (const id of o.targets) {
      const r = o.returns.get(id);
      // State runs are keyed by peel id with their states and summary, as call --local gives them.
      out[id] = r && isStateRun(r.result) ? r.result : returnRecord(r);
    }
    return serialize(out, format);
  }
  const on = useColor();
  const lines: string[] = [];
  for (const id of o.targets) {
    const r = o.returns.get(id);
    lines.push(color(`${id}:`, r ? (r.success ? "green" : "red") : "yellow", on));
    if (!r) lines.push(indent(color("Peel did not return. [No response]", "yellow", on)));
    else if (r.error !== undefined) lines.push(indent(color(`ERROR: ${r.error}`, "red", on)));
    else if (isStateRun(r.result)) lines.push(stateBlock(r.result));
    else if (r.result !== "") lines.push(indent(renderValue(r.result)));
    if (r && r.retcode !== undefined && r.retcode !== 0) {
      lines.push(indent(color(`[exit code ${r.retcode}]`, "red", on)));
    }
  }
  if (o.missing.length) {
    lines.push("");
    lines.push(
      color(`Did not return (${o.missing.length}): ${o.missing.join(", ")}`, "yellow", on),
    );
  }
  return lines.join("\n");
}

/** One line on stderr about the job, for `--verbose`. */
export function summaryLine(o: RunOutcome, elapsedMs: number): string {
  return `jid ${o.jid}: ${o.status}, ${o.returns.size}/${o.targets.length} returned in ${
    formatDuration(elapsedMs)
  }`;
}
