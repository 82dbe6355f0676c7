/**
 * BENCHMARKS.md: the figures of the last run of each benchmark, with the command, date and
 * machine, and the hand-written findings from `bench/findings.md`. Figures of benchmarks not
 * run this time are kept from the previous report.
 * @module
 */

/** What the report says about the machine. */
export interface Machine {
  cores: number;
  memory_gib: number;
  os: string;
  deno: string;
  nats_server: string;
  /** Load averages (1, 5 and 15 minutes) when the run ended: the machine is shared. */
  load?: number[];
}

/** Describe this machine. */
export async function machine(): Promise<Machine> {
  let nats = "unknown";
  try {
    const out = await new Deno.Command("nats-server", { args: ["--version"] }).output();
    nats = new TextDecoder().decode(out.stdout).trim().replace(/^nats-server:\s*/, "");
  } catch { /* not on PATH */ }
  return {
    cores: navigator.hardwareConcurrency,
    memory_gib: Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    nats_server: nats,
    load: Deno.loadavg().map((x) => Math.round(x * 10) / 10),
  };
}

const START = "<!-- figures:";
const END = "-->";

function previous(text: string): Record<string, { figures: unknown; meta: unknown }> {
  const i = text.indexOf(START);
  if (i < 0) return {};
  const j = text.indexOf(END, i);
  try {
    return JSON.parse(text.slice(i + START.length, j));
  } catch {
    return {};
  }
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return "";
  const cols = Object.keys(rows[0]!);
  return [
    `| ${cols.join(" | ")} |`,
    `| ${cols.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${cols.map((c) => String(r[c])).join(" | ")} |`),
  ].join("\n");
}

/** Write the report to `path`, merging with the figures already there. */
export async function writeReport(
  path: string,
  results: Record<string, unknown>,
  meta: { command: string; machine: Machine; order: string[] },
): Promise<void> {
  let old: Record<string, { figures: unknown; meta: unknown }> = {};
  try {
    old = previous(await Deno.readTextFile(path));
  } catch { /* first report */ }
  const now = { command: meta.command, machine: meta.machine, date: new Date().toISOString() };
  for (const [k, v] of Object.entries(results)) old[k] = { figures: v, meta: now };
  let findings = "";
  try {
    findings = await Deno.readTextFile(new URL("./findings.md", import.meta.url));
  } catch { /* none yet */ }
  const rank = (k: string) => (meta.order.indexOf(k) + 1) || meta.order.length + 1;
  const sections = Object.entries(old).sort(([a], [b]) => rank(a) - rank(b)).map(
    ([name, { figures, meta: m }]) => {
      const mm = m as { command: string; date: string; machine: Machine };
      const rows = (Array.isArray(figures) ? figures : [figures]) as Record<string, unknown>[];
      // A list inside the figures (e.g. targeting's resolutions) gets its own table.
      const nested = rows.flatMap((r) =>
        Object.entries(r).filter(([, v]) => Array.isArray(v)).map(([k, v]) => ({ k, v }))
      );
      const flat = rows.map((r) =>
        Object.fromEntries(Object.entries(r).filter(([, v]) => !Array.isArray(v)))
      );
      return [
        `## ${name}`,
        "",
        table(flat),
        "",
        ...nested.flatMap(({ k, v }) => [`${k}:`, "", table(v as Record<string, unknown>[]), ""]),
        `Run ${mm.date} with \`${mm.command}\` on ${mm.machine.cores} cores, ${mm.machine.memory_gib} GiB, ` +
        `${mm.machine.os}, Deno ${mm.machine.deno}, nats-server ${mm.machine.nats_server}` +
        (mm.machine.load ? `, load average ${mm.machine.load.join(", ")} at its end.` : "."),
        "",
      ].join("\n");
    },
  );
  const text = [
    "# Benchmarks",
    "",
    "Written by `deno task bench` (bench/main.ts): a fresh nats-server (JetStream, temp store) and",
    "master on this machine, simulated peels from `bench/fleet.ts` (each with its own connection, running",
    "the peel's real command loop). The floor is a bare NATS client sending the same peels one request",
    "each and collecting the replies, in the same run. Times are medians (ping_fanout: of 9 runs",
    "after warm-up runs of each path, unless `--runs` says otherwise). Past 15,000 peels, more",
    "connections than one nats-server may open here, ping_fanout runs on a two-server cluster",
    "(`servers`); `ping_fanout_secured` runs on a server in operator mode with mutual TLS, both paths",
    "on the same authenticated, encrypted connections.",
    "",
    ...sections,
    findings.trim(),
    "",
    `${START}${JSON.stringify(old)}${END}`,
    "",
  ].join("\n");
  await Deno.writeTextFile(path, text);
}
