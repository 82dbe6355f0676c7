/**
 * Timing shared by hot paths: one interval for many deadlines.
 * @module
 */
export * from "./sweeper.ts";
