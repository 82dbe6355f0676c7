/**
 * The message bus: connecting to NATS, subject names, the MessagePack codec, the declared KV
 * buckets and streams, and their backup and restore.
 * @module
 */
export * from "./connect.ts";
export * from "./subjects.ts";
export * from "./codec.ts";
export * from "./storage.ts";
export * from "./serve.ts";
export * from "./acked_publisher.ts";
export * from "./errors.ts";
export * from "./backup.ts";
