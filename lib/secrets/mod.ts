/**
 * Secrets: box keys of the master and the peels, and sealing values to exactly one peel.
 * @module
 */
export * from "./box_key.ts";
