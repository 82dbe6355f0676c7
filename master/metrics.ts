/**
 * The master's metrics: jobs, returns, dispatch, facts, peels and its heartbeat. Listed in
 * `docs/metrics.md`.
 * @module
 */
import type { JobStatus, ReturnOutcome } from "../lib/job/mod.ts";
import {
  boundedLabel,
  counter,
  histogram,
  MAX_FUNCTIONS,
  SampledGauge,
} from "../lib/metrics/mod.ts";

const functionLabel = boundedLabel(MAX_FUNCTIONS);

const jobs = counter({
  name: "zester_jobs_total",
  help: "Jobs this master finished, by function and final status.",
  labelNames: ["function", "status"] as const,
});

const jobDuration = histogram({
  name: "zester_job_duration_seconds",
  help: "Time from a job's creation to its final status.",
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
});

const returnsTotal = counter({
  name: "zester_returns_total",
  help: "Returns confirmed stored in job-returns, by outcome (ok, failed, unknown).",
  labelNames: ["outcome"] as const,
});
const RETURNS: Record<ReturnOutcome, { inc(): void }> = {
  ok: returnsTotal.labels("ok"),
  failed: returnsTotal.labels("failed"),
  unknown: returnsTotal.labels("unknown"),
};

const dispatchLatency = histogram({
  name: "zester_dispatch_latency_seconds",
  help: "Time from a dispatch request's arrival to its ExecRequests being sent.",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
});

const factsUpdates = counter({
  name: "zester_facts_updates_total",
  help: "Fact snapshots from peels this master stored in the facts bucket.",
});

const heartbeatFailures = counter({
  name: "zester_heartbeat_failures_total",
  help: "Heartbeats this master could not write to master-heartbeat.",
});

/** `zester_connected_peels`: peels whose facts were stored recently (see `fact_index.ts`). */
export const connectedPeels = new SampledGauge(
  "zester_connected_peels",
  "Peels whose facts were stored in the last 10 minutes (twice the default facts_interval).",
);

/** `zester_active_jobs`: jobs this master is watching. */
export const activeJobs = new SampledGauge(
  "zester_active_jobs",
  "Jobs this master owns and is watching.",
);

/** A job this master finished with `status`, `seconds` after it was created. */
export function jobFinished(fun: string, status: JobStatus, seconds: number): void {
  jobs.inc({ function: functionLabel(fun), status });
  jobDuration.observe(seconds);
}

/** A return stored with `outcome`. */
export function returnStored(outcome: ReturnOutcome): void {
  RETURNS[outcome].inc();
}

/** A dispatch handled in `seconds`. */
export function dispatched(seconds: number): void {
  dispatchLatency.observe(seconds);
}

/** A fact snapshot stored. */
export function factsStored(): void {
  factsUpdates.inc();
}

/** A heartbeat not written. */
export function heartbeatFailed(): void {
  heartbeatFailures.inc();
}
