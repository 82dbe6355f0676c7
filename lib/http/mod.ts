/**
 * The daemons' HTTP endpoints for operators and monitoring: liveness, readiness with its
 * checks, and Prometheus metrics.
 * @module
 */
export * from "./health_server.ts";
export * from "./readiness.ts";
export * from "./checks.ts";
