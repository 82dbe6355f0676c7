/**
 * `zester-broker`: the peel's privileged half. Reads request frames on stdin and runs up to
 * `max_concurrent` operations at once (later ones wait their turn; while as many wait, it stops
 * reading, so a flood of requests cannot grow it without bound), writing one response frame per
 * request on stdout. Each policed operation is audited before it acts, or refused. A frame that
 * does not decode or validate gets an error response and the broker goes on; it exits when stdin
 * closes, after in-flight operations finish.
 * @module
 */
import { BROKER_DEFAULTS } from "../../lib/config/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { SchemaError } from "../../lib/schema/mod.ts";
import type { CodecError } from "../../lib/bus/codec.ts";
import { OPS } from "./ops/mod.ts";
import { AuditError, AuditLog, type AuditRecord, summarize } from "./audit.ts";
import { Policy, policyPath } from "./policy.ts";
import { Slots } from "./slots.ts";
import {
  BrokerError,
  BrokerRequest,
  type BrokerResponse,
  decodeBody,
  encodeFrame,
  type ErrorCode,
  FrameError,
  readFrames,
} from "./protocol.ts";

const log = new Logger({ level: "info", fields: { component: "broker", pid: Deno.pid } });
const out = Deno.stdout.writable.getWriter();
let writing = Promise.resolve();
const inflight = new Map<number, AbortController>();
const running = new Set<Promise<void>>();
/** Operations that need no policy entry. */
const UNPOLICED = new Set(["ping", "sysinfo"]);
/** A deny-all policy for the unpoliced operations when the real one cannot be loaded. */
const EMPTY = BROKER_DEFAULTS;
let policy: Policy | undefined;
let policyError = "";
let audit = new AuditLog(BROKER_DEFAULTS.audit_log);
let slots = new Slots(BROKER_DEFAULTS.max_concurrent);

function send(res: BrokerResponse): Promise<void> {
  writing = writing.then(() => out.write(encodeFrame(res))).catch((e) => {
    log.error("cannot write response", { error: e });
  });
  return writing;
}

function fail(id: number, code: ErrorCode, message: string): Promise<void> {
  return send({ id, ok: false, error: { code, message } });
}

async function handle(req: BrokerRequest): Promise<void> {
  if (req.op === "cancel") {
    const target = Number(req.args.target);
    inflight.get(target)?.abort(new BrokerError("canceled", `Request ${target} was canceled`));
    await send({ id: req.id, ok: true, result: { canceled: inflight.has(target) } });
    return;
  }
  const t0 = performance.now();
  let resolved: Record<string, unknown> | undefined;
  const record = (phase: AuditRecord["phase"], decision: AuditRecord["decision"]) => ({
    time: new Date().toISOString(),
    phase,
    pid: Deno.pid,
    id: req.id,
    jid_claimed: req.jid,
    op: req.op,
    args: summarize(req.op, req.args),
    decision,
    resolved,
  });
  let intended = false;
  const intent = (what?: Record<string, unknown>) => {
    if (intended) return; // One record per operation, however many processes it starts.
    resolved = what;
    try {
      audit.write(record("intent", "allow"));
    } catch (e) {
      throw new BrokerError("audit_unwritable", (e as Error).message, { cause: e });
    }
    intended = true;
  };
  const done = (decision: AuditRecord["decision"], code?: ErrorCode, reason?: string) => {
    const duration_ms = Math.round((performance.now() - t0) * 1000) / 1000;
    try {
      audit.write({ ...record("done", decision), code, reason, duration_ms });
    } catch (e) {
      if (!(e instanceof AuditError)) throw e;
      log.error("cannot write audit record", { error: e, op: req.op, id: req.id, decision });
    }
  };
  const refuse = async (code: ErrorCode, message: string) => {
    done(code === "denied" ? "deny" : "error", code, message);
    await fail(req.id, code, message);
  };
  const op = OPS.get(req.op);
  if (!op) return await refuse("unknown_op", `Unknown operation "${req.op}"`);
  if (!policy && !UNPOLICED.has(req.op)) {
    return await refuse("denied", `Denied: no usable policy (${policyError})`);
  }
  let args: unknown;
  try {
    args = op.args.parse(req.args, "args");
  } catch (e) {
    return await refuse("bad_request", (e as Error).message);
  }
  const ac = new AbortController();
  inflight.set(req.id, ac);
  const timer = req.timeout_ms === undefined ? undefined : setTimeout(
    () =>
      ac.abort(
        new BrokerError("timeout", `Operation "${req.op}" timed out after ${req.timeout_ms} ms`),
      ),
    req.timeout_ms + 1_000, // Ops with their own timeout (run) report it themselves first.
  );
  try {
    const aborted = new Promise<never>((_, reject) => {
      ac.signal.addEventListener("abort", () => reject(ac.signal.reason), { once: true });
    });
    const ctx = {
      signal: ac.signal,
      jid: req.jid,
      log,
      policy: policy ?? new Policy(EMPTY),
      intent,
    };
    const result = await slots.with(ac.signal, () => {
      if (!op.auditsItself && !UNPOLICED.has(req.op)) intent();
      return Promise.race([op.run(args, ctx), aborted]);
    });
    done("allow");
    await send({ id: req.id, ok: true, result });
  } catch (e) {
    const code: ErrorCode = e instanceof BrokerError ? e.code : "failed";
    await refuse(code, (e as Error).message ?? String(e));
  } finally {
    clearTimeout(timer);
    inflight.delete(req.id);
  }
}

function onFrame(body: Uint8Array): void {
  let raw: unknown;
  try {
    raw = decodeBody(body);
  } catch (e) {
    void fail(0, "bad_frame", (e as CodecError).message);
    return;
  }
  let req: BrokerRequest;
  try {
    req = BrokerRequest.parse(raw);
  } catch (e) {
    const id = typeof (raw as { id?: unknown })?.id === "number" ? (raw as { id: number }).id : 0;
    void fail(id, "bad_request", e instanceof SchemaError ? e.message : String(e));
    return;
  }
  const p = handle(req).finally(() => running.delete(p));
  running.add(p);
}

/**
 * The policy its caller expects this broker to enforce (`--expect-policy FILE`, which
 * `zester call --local --policy FILE` passes). It can only make the broker refuse, never choose:
 * the broker's policy path is fixed by its launcher.
 */
function expectedPolicy(args: string[]): string | undefined {
  const i = args.indexOf("--expect-policy");
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<number> {
  const file = policyPath();
  const expected = expectedPolicy(Deno.args);
  try {
    if (expected !== undefined && expected !== file) {
      throw new Error(
        `this broker enforces "${file}" (fixed by its launcher), not "${expected}" as asked`,
      );
    }
    policy = await Policy.load(file);
    audit = new AuditLog(policy.section.audit_log);
    slots = new Slots(policy.section.max_concurrent);
  } catch (e) {
    policyError = (e as Error).message;
    log.error("no usable policy: every policed operation is denied", { file, error: policyError });
  }
  let code = 0;
  try {
    for await (const body of readFrames(Deno.stdin.readable)) {
      onFrame(body);
      await slots.room();
    }
  } catch (e) {
    if (!(e instanceof FrameError)) throw e;
    log.error("unreadable input, exiting", { error: e });
    await fail(0, "bad_frame", e.message);
    code = 3;
  }
  await Promise.all([...running]);
  await writing;
  audit.close();
  return code;
}

if (import.meta.main) Deno.exit(await main());
