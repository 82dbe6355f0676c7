/**
 * `run`: run an argv the policy allows, as an allowed user, with a clean environment, optional
 * cwd and stdin, a timeout, and capped output. The child leads its own process group (through `setsid`), so a timeout or cancel kills
 * it and everything it started.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { user } from "./accounts.ts";
import { defineOp, OpError } from "./op.ts";

/** PATH given to every child. */
export const CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const SETSID = "/usr/bin/setsid";
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SETPRIV = "/usr/bin/setpriv";

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

/** The result of `run`. */
export interface RunResult {
  retcode: number;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  truncated: boolean;
}

/**
 * Build the child's environment: a fixed base plus the job's variables. Nothing is inherited
 * from the broker; loader variables (`LD_*`) pass only where the policy names them.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  for (const name of Object.keys(extra)) {
    if (!ENV_NAME.test(name)) {
      throw new OpError("bad_request", `Invalid environment variable name "${name}"`);
    }
  }
  return { PATH: CHILD_PATH, LANG: "C.UTF-8", ...extra };
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

/** The `run` operation. */
export const runOp = defineOp({
  args: RunArgs,
  async run(args, ctx) {
    if (args.argv.length === 0) throw new OpError("bad_request", "run needs a non-empty argv");
    ctx.policy.exec(args.argv, args.user, Object.keys(args.env ?? {}));
    const env = childEnv(args.env);
    const maxOutput = Math.min(args.max_output, ctx.policy.section.max_output);
    // setsid makes the child a group leader (so a kill reaches its children); setpriv drops to
    // the requested user with that user's groups.
    let argv = args.argv;
    if (args.user !== undefined) {
      const account = await user(args.user);
      argv = [
        SETPRIV,
        `--reuid=${account.uid}`,
        `--regid=${account.gid}`,
        "--init-groups",
        "--",
        ...argv,
      ];
    }
    const t0 = performance.now();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(SETSID, {
        args: argv,
        cwd: args.cwd,
        env,
        clearEnv: true,
        stdin: args.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      throw new OpError("failed", `Cannot run "${args.argv[0]}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    let timedOut = false;
    const killGroup = () => {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch { /* already gone */ }
    };
    const timer = args.timeout_ms === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      killGroup();
    }, args.timeout_ms);
    const onAbort = () => killGroup();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (args.stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(args.stdin)).catch(() => {});
        await w.close().catch(() => {});
      }
      const [out, err, status] = await Promise.all([
        readCapped(child.stdout, maxOutput),
        readCapped(child.stderr, maxOutput),
        child.status,
      ]);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const notFound = status.code === 127 && /No such file or directory/.test(err.text);
      if (notFound) throw new OpError("failed", `Cannot run "${args.argv[0]}": not found`);
      return {
        retcode: status.code,
        stdout: out.text,
        stderr: err.text,
        duration_ms: Math.round((performance.now() - t0) * 1000) / 1000,
        timed_out: timedOut,
        truncated: out.truncated || err.truncated,
      } satisfies RunResult;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onAbort);
    }
  },
});
