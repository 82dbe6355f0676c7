/**
 * The basket (Salt's mine): data each peel publishes about itself into the `basket` bucket under
 * `<peel-id>.<name>`, for the CLI, templates and other peels to read.
 *
 * @example
 * ```ts
 * import { basketKey } from "./mod.ts";
 * basketKey("web-01", "network.ip_addrs"); // "web-01.network.ip_addrs"
 * ```
 * @module
 */
export * from "./key.ts";
export * from "./read.ts";
