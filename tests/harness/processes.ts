/**
 * Processes a test starts and must find again. Other checkouts on the same machine run the same
 * tests at the same time, so a test finds its own processes by a command line no other run has.
 */

/**
 * The command line of a `sleep` of about `seconds` that is this run's alone (random decimals),
 * for a test to find with {@linkcode pidsOf}.
 */
export function uniqueSleep(seconds: number): string {
  const [n] = crypto.getRandomValues(new Uint32Array(1));
  return `/usr/bin/sleep ${Math.trunc(seconds)}.${String(n).padStart(10, "0")}`;
}

/** The pids of the processes whose command line is exactly `commandLine`. */
export function pidsOf(commandLine: string): number[] {
  const pattern = `^${commandLine.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
  const out = new Deno.Command("pgrep", { args: ["-f", pattern] }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
}
