/**
 * The peel's metrics: its connection, the jobs it ran, its broker's operations and its state
 * applies. Listed in `docs/metrics.md`.
 * @module
 */
import type { ReturnOutcome } from "../lib/job/mod.ts";
import {
  boundedLabel,
  counter,
  histogram,
  MAX_FUNCTIONS,
  SampledGauge,
} from "../lib/metrics/mod.ts";
import type { BrokerError } from "./broker/mod.ts";

const functionLabel = boundedLabel(MAX_FUNCTIONS);

/** `zester_peel_connected`: 1 while the peel is connected to NATS. */
export const peelConnected = new SampledGauge(
  "zester_peel_connected",
  "1 while this peel is connected to NATS, else 0.",
);

const jobs = counter({
  name: "zester_peel_jobs_total",
  help: "Jobs this peel ran, by function and outcome (ok, failed, unknown).",
  labelNames: ["function", "outcome"] as const,
});

const jobDuration = histogram({
  name: "zester_peel_job_duration_seconds",
  help: "Time this peel took to run a job.",
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900],
});

const brokerOps = counter({
  name: "zester_broker_ops_total",
  help: "Broker operations by op and decision: allowed (ran, even if it failed), " +
    "denied (by policy) or error (not checked: bad request, broker down, audit unwritable).",
  labelNames: ["op", "decision"] as const,
});

const applies = counter({
  name: "zester_state_applies_total",
  help: "State runs (state.apply, state.sls, state.highstate) by result: " +
    "succeeded, failed (a state failed) or error (nothing ran: render, compile or busy).",
  labelNames: ["result"] as const,
});

const applyDuration = histogram({
  name: "zester_state_apply_duration_seconds",
  help: "Time a state run took, rendering included.",
  buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
});

/** The functions that apply states. */
const APPLY_FUNCTIONS = new Set(["state.apply", "state.sls", "state.highstate"]);

/**
 * A job of `fun` ran for `seconds` with `outcome`; for a state run, `result` (the return's
 * `result`) tells a failed state from a run that never started.
 */
export function jobRan(
  fun: string,
  outcome: ReturnOutcome,
  seconds: number,
  result: unknown,
): void {
  jobs.inc({ function: functionLabel(fun), outcome });
  jobDuration.observe(seconds);
  if (!APPLY_FUNCTIONS.has(fun)) return;
  applies.inc({
    result: outcome === "ok" ? "succeeded" : result === undefined ? "error" : "failed",
  });
  applyDuration.observe(seconds);
}

/** Whether the broker ran an operation: its error's code decides. */
function decision(error?: BrokerError): string {
  if (!error) return "allowed";
  switch (error.code) {
    case "denied":
      return "denied";
    case "failed":
    case "timeout":
    case "canceled":
      return "allowed";
    default:
      return "error";
  }
}

/** A broker operation `op` answered, with `error` when it did not succeed. */
export function brokerOpDone(op: string, error?: BrokerError): void {
  brokerOps.inc({ op, decision: decision(error) });
}
