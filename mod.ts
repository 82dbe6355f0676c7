/**
 * Zester's shared library for outside tooling: connecting to the bus, subject names, storage
 * declarations, job messages, config validators and target expressions.
 *
 * @example
 * ```ts
 * import { compileTarget } from "@zester/zester";
 * compileTarget("web-*").matches({ id: "web-01", facts: {} }); // true
 * ```
 * @module
 */
export * from "./lib/bus/mod.ts";
export * from "./lib/job/mod.ts";
export * from "./lib/config/mod.ts";
export * from "./lib/target/mod.ts";
export { Logger, type LogLevel } from "./lib/log/mod.ts";
export { SchemaError } from "./lib/schema/mod.ts";
