/**
 * What a broker operation is: a name, a validator for its arguments and a handler.
 * @module
 */
import type { Logger } from "../../../lib/log/mod.ts";
import type { Schema } from "../../../lib/schema/mod.ts";
import type { Policy } from "../policy.ts";

/** What a handler gets besides its arguments. */
export interface OpContext {
  /** Aborted on cancel or timeout; the reason is a `BrokerError`. */
  signal: AbortSignal;
  /** Job id, for the log. */
  jid?: string;
  /** The broker's logger. */
  log: Logger;
  /** The policy every operation is checked against. */
  policy: Policy;
  /**
   * Write the audit record of what the operation is about to do, after its checks passed and
   * before it acts, with what it resolved (real paths, the user it acts as); later calls do
   * nothing. Throws `BrokerError("audit_unwritable")` when the record cannot be written: the
   * operation must not act.
   */
  intent(resolved?: Record<string, unknown>): void;
}

/** One broker operation. */
export interface Op<A> {
  /** Argument validator. */
  args: Schema<A>;
  /** Do it. */
  run(args: A, ctx: OpContext): Promise<unknown>;
  /**
   * True when `run` calls `ctx.intent()` itself, after its own checks and before it acts (with
   * what it resolved). Otherwise the broker writes the intent record before calling `run`, so
   * no operation can act unrecorded.
   */
  auditsItself?: boolean;
}

/**
 * Define an operation with its argument type inferred from the validator. The result is erased
 * to `Op<unknown>` for the registry; the broker always validates with `args` before `run`.
 */
export function defineOp<A>(op: Op<A>): Op<unknown> {
  return op as unknown as Op<unknown>;
}
