/**
 * Jobs: ids, the wire messages of the job path and their validators, status rules, and how jobs
 * and returns are stored.
 * @module
 */
export * from "./ksuid.ts";
export * from "./types.ts";
export * from "./stored_return.ts";
export * from "./job_store.ts";
export * from "./signatures.ts";
export * from "./target_resolve.ts";
