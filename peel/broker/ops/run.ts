/**
 * `run`: run an argv the policy allows, as an allowed user, with a fixed environment plus the
 * variables the policy's `env_allow` names, an optional cwd inside the allowed paths and stdin,
 * a timeout, and capped output. {@linkcode execute} is the spawning half, shared with the
 * package and service operations, which build their argv themselves.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { type Account, user } from "./accounts.ts";
import { type Contained, spawnContained } from "./contain.ts";
import { defineOp, type OpContext } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import type { RunResult } from "./run_result.ts";

/** PATH given to every child. */
export const CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The environment every child starts from; nothing is inherited from the broker. */
export const BASE_ENV: Readonly<Record<string, string>> = { PATH: CHILD_PATH, LANG: "C.UTF-8" };
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Arguments of `run`. */
export const RunArgs = s.object({
  argv: s.array(s.string({ minLength: 1 }), { maxItems: 4096 }),
  env: s.optional(s.record(s.string())),
  cwd: s.optional(s.string({ minLength: 1 })),
  stdin: s.optional(s.string()),
  timeout_ms: s.optional(s.int({ min: 1 })),
  user: s.optional(s.string({ pattern: /^[a-z_][a-z0-9_-]*\$?$/, expected: "a user name" })),
  max_output: s.optional(s.int({ min: 0 }), DEFAULT_MAX_OUTPUT),
});

/** What {@linkcode execute} runs: an argv the caller has already checked or built. */
export interface Command {
  argv: readonly string[];
  /** The child's whole environment. */
  env: Record<string, string>;
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
  /** Cap on each of stdout and stderr, in bytes. */
  maxOutput: number;
  /** Run as this account, with its groups. */
  user?: Account;
}

/**
 * Build a child's environment: {@linkcode BASE_ENV} plus the job's variables, whose names must
 * be well formed (the policy decides which are allowed).
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  for (const name of Object.keys(extra)) {
    if (!ENV_NAME.test(name)) {
      throw new BrokerError("bad_request", `Invalid environment variable name "${name}"`);
    }
  }
  return { ...BASE_ENV, ...extra };
}

async function readCapped(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of stream) {
    if (size >= max) {
      truncated = true;
      continue; // Keep draining so the child never blocks on a full pipe.
    }
    const take = chunk.subarray(0, max - size);
    if (take.byteLength < chunk.byteLength) truncated = true;
    chunks.push(take);
    size += take.byteLength;
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.byteLength;
  }
  return { text: new TextDecoder().decode(all), truncated };
}

/**
 * Run `cmd` contained (`contain.ts`), so a timeout or an abort of `ctx.signal` kills it and
 * everything it started, and none of it outlives the broker; as `cmd.user` when given. The
 * intent is audited first: no record, no process.
 */
export async function execute(cmd: Command, ctx: OpContext): Promise<RunResult> {
  const prog = cmd.argv[0] ?? "";
  // A cancel that arrived while the operation was still being checked starts nothing.
  if (ctx.signal.aborted) throw ctx.signal.reason;
  ctx.intent();
  const t0 = performance.now();
  let contained: Contained;
  try {
    contained = spawnContained(cmd.argv, {
      user: cmd.user,
      cwd: cmd.cwd,
      env: cmd.env,
      stdin: cmd.stdin === undefined ? "null" : "piped",
    });
  } catch (e) {
    throw new BrokerError("failed", `Cannot run "${prog}": ${(e as Error).message}`, { cause: e });
  }
  const { child, kill: killGroup } = contained;
  let timedOut = false;
  const timer = cmd.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    killGroup();
  }, cmd.timeoutMs);
  ctx.signal.addEventListener("abort", killGroup, { once: true });
  try {
    if (cmd.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(cmd.stdin)).catch(() => {});
      await w.close().catch(() => {});
    }
    const [out, err, status] = await Promise.all([
      readCapped(child.stdout, cmd.maxOutput),
      readCapped(child.stderr, cmd.maxOutput),
      child.status,
    ]);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const notFound = status.code === 127 && /No such file or directory/.test(err.text);
    if (notFound) throw new BrokerError("failed", `Cannot run "${prog}": not found`);
    return {
      retcode: status.code,
      stdout: out.text,
      stderr: err.text,
      duration_ms: Math.round((performance.now() - t0) * 1000) / 1000,
      timed_out: timedOut,
      truncated: out.truncated || err.truncated,
    };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", killGroup);
  }
}

/** The `run` operation. */
export const runOp = defineOp({
  auditsItself: true,
  args: RunArgs,
  async run(args, ctx) {
    if (args.argv.length === 0) throw new BrokerError("bad_request", "run needs a non-empty argv");
    const env = childEnv(args.env);
    ctx.policy.exec(args.argv, args.user, Object.keys(args.env ?? {}));
    return await execute({
      argv: args.argv,
      env,
      cwd: args.cwd === undefined ? undefined : await ctx.policy.read(args.cwd, "cwd"),
      stdin: args.stdin,
      timeoutMs: args.timeout_ms,
      maxOutput: Math.min(args.max_output, ctx.policy.section.max_output),
      user: args.user === undefined ? undefined : await user(args.user),
    }, ctx);
  },
});
