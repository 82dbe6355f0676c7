/**
 * How the CLI prints: formats, text rendering and tables.
 * @module
 */
export * from "./format.ts";
export * from "./table.ts";
export * from "./text.ts";
export * from "./states.ts";
export * from "./returns.ts";
export * from "./live.ts";
