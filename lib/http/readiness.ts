/**
 * Readiness: named checks run in parallel, each with its own time limit, folded into one
 * status. `ok` and `degraded` mean ready (HTTP 200), `down` means not (503).
 * @module
 */

/** A check's verdict, worst last. */
export type CheckStatus = "ok" | "degraded" | "down";

const RANK: Record<CheckStatus, number> = { ok: 0, degraded: 1, down: 2 };

/** What one check found. */
export interface CheckResult {
  /** Its verdict. */
  status: CheckStatus;
  /** What it saw, for people. */
  message?: string;
}

/** One readiness check. */
export interface Check {
  /** Its key in the `/readyz` body (`nats`, `kv`, `broker`). */
  name: string;
  /** Look once; a rejection or a time-out is `down` with the reason as message. */
  run(): Promise<CheckResult>;
}

/** A check's result as `/readyz` reports it. */
export interface CheckReport extends CheckResult {
  /** How long the check took, in milliseconds. */
  latency_ms: number;
}

/** The `/readyz` body. */
export interface Readiness {
  /** The worst status of all checks; `down` when there are none yet (starting). */
  status: CheckStatus;
  /** Each check by name. */
  checks: Record<string, CheckReport>;
}

/** How long each check may take. */
export const CHECK_TIMEOUT_MS = 2_000;

async function runOne(check: Check, timeoutMs: number): Promise<CheckReport> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: "down", message: `No answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  let result: CheckResult;
  try {
    result = await Promise.race([check.run(), late]);
  } catch (e) {
    result = { status: "down", message: (e as Error).message ?? String(e) };
  } finally {
    clearTimeout(timer);
  }
  return { ...result, latency_ms: Math.round((performance.now() - t0) * 10) / 10 };
}

/** Run `checks` in parallel, each for at most `timeoutMs`. */
export async function readiness(
  checks: readonly Check[],
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<Readiness> {
  const reports = await Promise.all(checks.map((c) => runOne(c, timeoutMs)));
  let status: CheckStatus = checks.length ? "ok" : "down";
  const byName: Record<string, CheckReport> = {};
  reports.forEach((r, i) => {
    byName[checks[i]!.name] = r;
    if (RANK[r.status] > RANK[status]) status = r.status;
  });
  return { status, checks: byName };
}
