/**
 * Config files of the master, the peel and the CLI: their validators, loading with errors that
 * name the file and field, durations, and the Deno permissions each process needs.
 * @module
 */
export * from "./duration.ts";
export * from "./load.ts";
export * from "./nats.ts";
export * from "./listen.ts";
export * from "./master.ts";
export * from "./retention.ts";
export * from "./peel.ts";
export * from "./basket.ts";
export * from "./cli.ts";
export * from "./permissions.ts";
export * from "./planned.ts";
export * from "./meanings.ts";
export * from "./daemon_args.ts";
