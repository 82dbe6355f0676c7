/**
 * The `cpu`, `memory`, `disk` and `load` facts. Deno refuses every read under `/proc` and `/sys`
 * without `--allow-all`, so the peel takes what Deno's APIs give (CPU count, memory, load) and
 * asks the broker for the rest: `/proc/cpuinfo` and `df` output, parsed here.
 * @module
 */

/** CPU model and physical core count from `/proc/cpuinfo` text. */
export function parseCpuinfo(
  text: string,
): { count: number; model: string; physical_count: number } {
  let count = 0;
  let model = "";
  const cores = new Set<string>();
  let physical = "";
  for (const line of text.split("\n")) {
    const [k, ...rest] = line.split(":");
    const key = k?.trim();
    const value = rest.join(":").trim();
    if (key === "processor") count++;
    else if (key === "model name" && !model) model = value;
    else if (key === "physical id") physical = value;
    else if (key === "core id") cores.add(`${physical}/${value}`);
  }
  return { count, model, physical_count: cores.size || count };
}

/** One mounted filesystem, from `df -PkT`. */
export interface Mount {
  device: string;
  fstype: string;
  mountpoint: string;
  size_bytes: number;
  used_bytes: number;
  available_bytes: number;
  used_percent: number;
}

/** Parse `df -PkT` output (POSIX format, 1 KiB blocks, with types). */
export function parseDf(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    const [device, fstype, size, used, avail, pct] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const n = (s: string) => Number(s) * 1024;
    if (![size, used, avail].every((x) => /^\d+$/.test(x))) continue;
    out.push({
      device,
      fstype,
      mountpoint: f.slice(6).join(" "),
      size_bytes: n(size),
      used_bytes: n(used),
      available_bytes: n(avail),
      used_percent: Number(pct.replace("%", "")) || 0,
    });
  }
  return out;
}

/** The facts Deno's own APIs give: CPU count, memory and load. */
export function collectHardware(): Record<string, unknown> {
  const mem = Deno.systemMemoryInfo();
  const [l1, l5, l15] = Deno.loadavg();
  const count = navigator.hardwareConcurrency;
  return {
    cpu: { count, model: "", physical_count: count },
    memory: {
      total: mem.total,
      free: mem.free,
      available: mem.available,
      used_percent: mem.total ? Math.round((1 - mem.available / mem.total) * 1000) / 10 : 0,
    },
    load: { "1m": l1, "5m": l5, "15m": l15 },
  };
}
