/**
 * Prometheus metrics: the process's registry (served at `/metrics` in the text exposition
 * format 0.0.4), process and NATS connection metrics. Every metric is listed in
 * `docs/metrics.md`.
 * @module
 */
import "./process.ts";
export * from "./registry.ts";
export * from "./bus.ts";
