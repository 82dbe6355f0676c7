/**
 * CPU time of processes, from `/proc/<pid>/stat` (Linux): how the benchmarks say which process
 * a fan-out's time went to. Deno reads nothing under `/proc` without `--allow-all`, so the files
 * are read by `cat`, between measured runs. Without `/proc` every figure is `null`.
 * @module
 */
import process from "node:process";

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on every Linux build we run). */
const TICKS_PER_S = 100;

/** User plus system CPU milliseconds of each of `pids` so far (`NaN` where unreadable). */
export async function cpuMs(pids: number[]): Promise<number[]> {
  let text = "";
  try {
    const out = await new Deno.Command("cat", {
      args: pids.map((p) => `/proc/${p}/stat`),
      stdout: "piped",
      stderr: "null",
    }).output();
    text = new TextDecoder().decode(out.stdout);
  } catch { /* no cat, no /proc */ }
  const byPid = new Map<number, number>();
  for (const line of text.split("\n")) {
    // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
    const f = line.slice(line.lastIndexOf(")") + 2).split(" ");
    const pid = Number.parseInt(line, 10);
    if (f.length > 13) byPid.set(pid, (Number(f[11]) + Number(f[12])) * 1000 / TICKS_PER_S);
  }
  return pids.map((p) => byPid.get(p) ?? NaN);
}

/** This process's user plus system CPU milliseconds so far. */
function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Named groups of processes whose CPU time is summed together; `"self"` is this process, read
 * exactly around each call rather than through `cat` (whose spawning would count too).
 */
export type ProcessGroups = Record<string, number[] | "self">;

/** CPU milliseconds per group, summed over the calls of {@linkcode CpuMeter.measure}. */
export class CpuMeter {
  readonly #groups: ProcessGroups;
  readonly #spent = new Map<string, number>();
  #calls = 0;

  /** Measure the processes in `groups`. */
  constructor(groups: ProcessGroups) {
    this.#groups = groups;
    for (const g of Object.keys(groups)) this.#spent.set(g, 0);
  }

  /** Run `fn` and add the CPU time each group spent meanwhile. */
  async measure<T>(fn: () => Promise<T>): Promise<T> {
    const before = await this.#read();
    const selfBefore = ownCpuMs();
    const out = await fn();
    const self = ownCpuMs() - selfBefore;
    const after = await this.#read();
    for (const [g, ms] of this.#spent) {
      const spent = this.#groups[g] === "self" ? self : after.get(g)! - before.get(g)!;
      this.#spent.set(g, ms + spent);
    }
    this.#calls++;
    return out;
  }

  /** Mean CPU milliseconds per call, per group; `null` where `/proc` could not be read. */
  perCall(): Record<string, number | null> {
    return Object.fromEntries(
      [...this.#spent].map(([g, ms]) => [
        g,
        Number.isFinite(ms) && this.#calls ? Math.round(ms / this.#calls) : null,
      ]),
    );
  }

  async #read(): Promise<Map<string, number>> {
    const groups = Object.entries(this.#groups).filter((e): e is [string, number[]] =>
      e[1] !== "self"
    );
    const all = await cpuMs(groups.flatMap(([, pids]) => pids));
    let i = 0;
    return new Map(groups.map(([g, pids]) => {
      let sum = 0;
      for (const _ of pids) sum += all[i++]!;
      return [g, sum];
    }));
  }
}
