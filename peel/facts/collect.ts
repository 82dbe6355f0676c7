/**
 * Runs every fact collector. A collector that fails is reported, and its namespace left out;
 * it never stops the others.
 * @module
 */
import { readCustomFacts } from "./custom.ts";
import { collectHardware, parseCpuinfo, parseDf } from "./hardware.ts";
import { collectNetwork } from "./network.ts";
import { collectOs } from "./os.ts";

/** Top-level keys the built-in collectors own; custom facts may not replace them. */
export const BUILTIN_NAMESPACES = [
  "id",
  "os",
  "kernel",
  "hostname",
  "fqdn",
  "network",
  "cpu",
  "memory",
  "disk",
  "load",
] as const;

/** Facts and the problems met collecting them. */
export interface CollectResult {
  /** The facts. */
  facts: Record<string, unknown>;
  /** One line per collector that failed or custom key that was refused. */
  errors: string[];
}

/** Raw system text only a privileged process can read: `/proc/cpuinfo`, `df -PkT`, init. */
export interface SysInfo {
  /** Contents of `/proc/cpuinfo`. */
  cpuinfo: string;
  /** Output of `df -PkT`. */
  df: string;
  /** The name of process 1 (`systemd`, `init`…), where the broker reports it. */
  init?: string;
}

/** Salt's `init` grain from the name of process 1. */
export function initSystem(comm: string): string {
  if (comm === "systemd") return "systemd";
  if (comm === "init") return "sysvinit";
  if (/^openrc/.test(comm)) return "openrc";
  if (/^runit/.test(comm)) return "runit";
  return comm || "unknown";
}

/** Options for {@linkcode collectFacts}. */
export interface CollectOptions {
  /** The peel id, stored as the `id` fact. */
  peelId: string;
  /** The custom facts YAML file. */
  factsFile: string;
  /** Prefix of the system files read (default `/`), for tests. */
  root?: string;
  /** Fetches what the peel may not read itself (from the broker). */
  sysinfo?: () => Promise<SysInfo>;
}

/** Collect every fact. */
export async function collectFacts(opts: CollectOptions): Promise<CollectResult> {
  const root = (opts.root ?? "/").replace(/\/?$/, "/");
  const errors: string[] = [];
  const facts: Record<string, unknown> = {};
  const collectors: [string, () => Promise<Record<string, unknown>>][] = [
    ["os", () => collectOs(root)],
    ["network", () => collectNetwork(root)],
    ["hardware", () => Promise.resolve(collectHardware())],
  ];
  const results = await Promise.allSettled(collectors.map(([, f]) => f()));
  results.forEach((r, i) => {
    if (r.status === "fulfilled") Object.assign(facts, r.value);
    else {errors.push(
        `${collectors[i]![0]} collector failed: ${(r.reason as Error)?.message ?? r.reason}`,
      );}
  });
  if (opts.sysinfo) {
    try {
      const info = await opts.sysinfo();
      const cpu = parseCpuinfo(info.cpuinfo);
      if (cpu.count > 0) facts.cpu = cpu;
      facts.disk = { mounts: parseDf(info.df) };
      if (info.init !== undefined && typeof facts.os === "object" && facts.os !== null) {
        (facts.os as Record<string, unknown>).init = initSystem(info.init);
      }
    } catch (e) {
      errors.push(`system info from the broker failed: ${(e as Error).message}`);
    }
  }
  try {
    const custom = await readCustomFacts(opts.factsFile);
    for (const [k, v] of Object.entries(custom)) {
      if ((BUILTIN_NAMESPACES as readonly string[]).includes(k)) {
        errors.push(
          `Custom fact "${k}" in "${opts.factsFile}" would replace a built-in fact; ignored`,
        );
      } else {
        facts[k] = v;
      }
    }
  } catch (e) {
    errors.push((e as Error).message);
  }
  facts.id = opts.peelId;
  return { facts, errors };
}
