/**
 * The process's one metrics registry, and constructors that register into it, written out in the
 * Prometheus text exposition format 0.0.4. Metrics are module-level: a daemon exposes what its
 * code imports, and a hot path costs one increment. Written here rather than taken from
 * prom-client, whose Node modules cost every peel about 2 MiB of resident memory.
 * @module
 */

/** A metric's type, as `# TYPE` names it. */
export type MetricType = "counter" | "gauge" | "histogram";

/** What the registry knows of a metric. */
export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  /** Its sample lines, each ending in a newline. */
  samples(): string;
}

/** A metric registered under a name already taken, or given a label it does not have. */
export class MetricError extends TypeError {
  /** Build the error. */
  constructor(message: string) {
    super(message);
    this.name = "MetricError";
  }
}

const escapeHelp = (s: string) => s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
const escapeLabel = (s: string) => escapeHelp(s).replaceAll('"', '\\"');

function formatValue(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** A sample line: `name{a="x",b="y"} value`. */
function sample(name: string, labels: [string, string][], value: number): string {
  const l = labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
  return `${name}${l ? `{${l}}` : ""} ${formatValue(value)}\n`;
}

/** The metrics of this process. */
export class Registry {
  /** The `content-type` of {@linkcode Registry.metrics}. */
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";
  readonly #metrics = new Map<string, Metric>();

  /** Add `metric`; its name must be new. */
  register(metric: Metric): void {
    if (this.#metrics.has(metric.name)) {
      throw new MetricError(`Cannot register metric "${metric.name}": the name is taken`);
    }
    this.#metrics.set(metric.name, metric);
  }

  /** Drop metric `name`, if registered. */
  remove(name: string): void {
    this.#metrics.delete(name);
  }

  /** Every registered metric. */
  list(): Metric[] {
    return [...this.#metrics.values()];
  }

  /** Every metric in the text exposition format. */
  metrics(): string {
    let out = "";
    for (const m of this.#metrics.values()) {
      out += `# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.type}\n${m.samples()}`;
    }
    return out;
  }
}

/** Every metric of this process, as `/metrics` serves it. */
export const registry: Registry = new Registry();

/** Options of a counter. */
export interface CounterOptions<L extends string> {
  name: string;
  help: string;
  /** Label names; without any, the counter is one series, 0 until incremented. */
  labelNames?: readonly L[];
}

/** A monotonic count, one series per combination of label values. */
export class Counter<L extends string = never> implements Metric {
  readonly type = "counter";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly #series = new Map<string, { labels: [string, string][]; value: number }>();

  /** Register counter `opts.name` in {@linkcode registry}. */
  constructor(opts: CounterOptions<L>) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    if (!this.labelNames.length) this.#series.set("[]", { labels: [], value: 0 });
    registry.register(this);
  }

  /** Add `value` (1 by default) to the series of `labels`. */
  inc(labels: Partial<Record<L, string | number>> = {}, value = 1): void {
    for (const k of Object.keys(labels)) {
      if (!this.labelNames.includes(k as L)) {
        throw new MetricError(`Metric "${this.name}" has no label "${k}"`);
      }
    }
    const pairs = this.labelNames.map((k): [string, string] => [k, String(labels[k] ?? "")]);
    const key = JSON.stringify(pairs);
    const s = this.#series.get(key);
    if (s) s.value += value;
    else this.#series.set(key, { labels: pairs, value });
  }

  /** The series of label values `values`, in the order of `labelNames`. */
  labels(...values: string[]): { inc(value?: number): void } {
    const labels: Partial<Record<L, string>> = {};
    this.labelNames.forEach((k, i) => labels[k] = values[i]);
    return { inc: (value = 1) => this.inc(labels, value) };
  }

  /** {@inheritDoc Metric.samples} */
  samples(): string {
    let out = "";
    for (const s of this.#series.values()) out += sample(this.name, s.labels, s.value);
    return out;
  }
}

/** A counter in {@linkcode registry}. */
export function counter<L extends string = never>(opts: CounterOptions<L>): Counter<L> {
  return new Counter(opts);
}

/** Options of a histogram. */
export interface HistogramOptions {
  name: string;
  help: string;
  /** Upper bounds of the buckets, ascending; `+Inf` is added. */
  buckets: readonly number[];
}

/** Observed values counted in buckets, with their sum and count. */
export class Histogram implements Metric {
  readonly type = "histogram";
  readonly labelNames: readonly string[] = [];
  readonly name: string;
  readonly help: string;
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  /** Register histogram `opts.name` in {@linkcode registry}. */
  constructor(opts: HistogramOptions) {
    this.name = opts.name;
    this.help = opts.help;
    this.#bounds = opts.buckets;
    this.#counts = opts.buckets.map(() => 0);
    registry.register(this);
  }

  /** Count `value`. */
  observe(value: number): void {
    const i = this.#bounds.findIndex((b) => value <= b);
    if (i >= 0) this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  /** {@inheritDoc Metric.samples} */
  samples(): string {
    let out = "";
    let below = 0;
    this.#bounds.forEach((b, i) => {
      below += this.#counts[i]!;
      out += sample(`${this.name}_bucket`, [["le", formatValue(b)]], below);
    });
    out += sample(`${this.name}_bucket`, [["le", "+Inf"]], this.#count);
    return out + sample(`${this.name}_sum`, [], this.#sum) +
      sample(`${this.name}_count`, [], this.#count);
  }
}

/** A histogram in {@linkcode registry}. */
export function histogram(opts: HistogramOptions): Histogram {
  return new Histogram(opts);
}

/** Register a metric of one series whose value `read()` gives when `/metrics` is served. */
export function sampled(type: "counter" | "gauge", name: string, help: string, read: () => number) {
  registry.register({ name, help, type, labelNames: [], samples: () => sample(name, [], read()) });
}

/**
 * A gauge read when scraped: the sum of the sources attached to it, so that what it measures
 * (peels indexed, jobs watched) is counted where it already is instead of mirrored.
 */
export class SampledGauge {
  readonly #sources = new Set<() => number>();

  /** Register gauge `name`. */
  constructor(name: string, help: string) {
    sampled("gauge", name, help, () => {
      let sum = 0;
      for (const read of this.#sources) sum += read();
      return sum;
    });
  }

  /** Count `read()` in the gauge until the returned function detaches it. */
  attach(read: () => number): () => void {
    this.#sources.add(read);
    return () => this.#sources.delete(read);
  }
}

/** Distinct function names kept as label values per process; more become `other`. */
export const MAX_FUNCTIONS = 256;

/**
 * Label values from a set that callers choose (function names): the first `max` distinct
 * values are kept, later ones become `other`, so that no request can grow the series unbounded.
 */
export function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return "other";
    seen.add(value);
    return value;
  };
}
