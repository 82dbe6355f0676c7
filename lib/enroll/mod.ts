/**
 * Peel enrollment: the records in `enrollments` and their state machine, and what peels,
 * masters and the admin CLI send each other about it.
 * @module
 */
export * from "./record.ts";
export * from "./store.ts";
export * from "./api.ts";
