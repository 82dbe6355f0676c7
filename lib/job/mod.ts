/**
 * Jobs: ids, the wire messages of the job path and their validators, and status rules.
 * @module
 */
export * from "./ksuid.ts";
export * from "./types.ts";
export * from "./stored_return.ts";
