/**
 * What the `run` op answers, and how a failed run reads to a user: shared by the broker's ops and
 * the peel's modules without loading the op itself into the peel.
 * @module
 */

/** The result of `run`. */
export interface RunResult {
  retcode: number;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  truncated: boolean;
}

/** What a failed command said: its stderr, else its stdout, else its exit code. */
export function runFailure(r: RunResult): string {
  return (r.stderr || r.stdout).trim() || `exit code ${r.retcode}`;
}
