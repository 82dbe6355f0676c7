/**
 * Reading metrics in tests: the table of `docs/metrics.md`, and a strict parser of the
 * Prometheus text exposition format 0.0.4 that throws on any line the format does not allow.
 * @module
 */

/** A metric as the docs' table lists it. */
export interface DocumentedMetric {
  name: string;
  type: string;
  /** Label names, comma-separated. */
  labels: string;
  /** `master`, `peel` or `both`. */
  where: string;
}

/** The rows of `docs/metrics.md`'s metric table. */
export async function documentedMetrics(): Promise<DocumentedMetric[]> {
  const text = await Deno.readTextFile(new URL("../../docs/metrics.md", import.meta.url));
  const rows: DocumentedMetric[] = [];
  for (const line of text.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const name = /^`([a-z_]+)`$/.exec(cells[0] ?? "")?.[1];
    if (!name || cells.length !== 5) continue;
    const labels = [...cells[2]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).join(",");
    rows.push({ name, type: cells[1]!, labels, where: cells[3]! });
  }
  return rows;
}

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: `# HELP` and `# TYPE` by metric name, and every sample. */
export interface Exposition {
  help: Map<string, string>;
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`;
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL},?)*)\\})? ([^ ]+)(?: -?\\d+)?$`,
);
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function unescape(v: string, quotes: boolean): string {
  return v.replace(quotes ? /\\([\\"n])/g : /\\([\\n])/g, (_, c) => c === "n" ? "\n" : c);
}

function number(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const v = Number(text);
  if (text === "" || Number.isNaN(v)) throw new SyntaxError(`Bad value in "${line}"`);
  return v;
}

/** Parse `text`; throws `SyntaxError` naming the first line the format does not allow. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { help: new Map(), types: new Map(), samples: [] };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (m) {
      out.help.set(m[1]!, unescape(m[2]!, false));
      continue;
    }
    m = new RegExp(`^# TYPE (${NAME}) (\\w+)$`).exec(line);
    if (m) {
      if (!TYPES.has(m[2]!)) throw new SyntaxError(`Unknown type in "${line}"`);
      out.types.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith("#")) continue;
    m = SAMPLE.exec(line);
    if (!m) throw new SyntaxError(`Not an exposition line: "${line}"`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(new RegExp(LABEL, "g"))) {
      labels[l[1]!] = unescape(l[2]!, true);
    }
    out.samples.push({ name: m[1]!, labels, value: number(m[m.length - 1]!, line) });
  }
  return out;
}

/** The value of the sample `name` with exactly `labels`, or 0 when there is none. */
export function sampleValue(
  e: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  const s = e.samples.find((s) =>
    s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want
  );
  return s?.value ?? 0;
}
