/**
 * The process's one metrics registry, and constructors that register into it. Metrics are
 * module-level: a daemon exposes what its code imports, and a hot path costs one increment.
 * @module
 */
import {
  Counter,
  type CounterConfiguration,
  Gauge,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from "prom-client";

/** Every metric of this process, as `/metrics` serves it. */
export const registry: Registry = new Registry();

type Options<C> = Omit<C, "registers" | "collect" | "aggregator" | "enableExemplars">;

/** A counter in {@linkcode registry}. */
export function counter<L extends string = never>(
  opts: Options<CounterConfiguration<L>>,
): Counter<L> {
  return new Counter({ ...opts, registers: [registry] });
}

/** A histogram in {@linkcode registry}. */
export function histogram<L extends string = never>(
  opts: Options<HistogramConfiguration<L>>,
): Histogram<L> {
  return new Histogram({ ...opts, registers: [registry] });
}

/**
 * A gauge read when scraped: the sum of the sources attached to it, so that what it measures
 * (peels indexed, jobs watched) is counted where it already is instead of mirrored.
 */
export class SampledGauge {
  readonly #sources = new Set<() => number>();

  /** Register gauge `name`. */
  constructor(name: string, help: string) {
    const sources = this.#sources;
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        let sum = 0;
        for (const read of sources) sum += read();
        this.set(sum);
      },
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
