/**
 * The peel's schedule: entries as operators write them, checked one by one, and the cron
 * expressions they may use.
 * @module
 */
export * from "./cron.ts";
export * from "./entry.ts";
