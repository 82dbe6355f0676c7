/**
 * Structured logging: one JSON object per line on stderr (`time`, `level`, `msg`, then fields
 * such as `peel_id` and `jid`), or `key=value` text when `log_format: text`.
 *
 * @example
 * ```ts
 * import { Logger } from "./mod.ts";
 * const log = new Logger({ level: "info", fields: { component: "peel", peel_id: "web-01" } });
 * log.info("job done", { jid: "2hPx1FNsSgJMqVn5bLSTXeBQMpO", duration_ms: 12 });
 * ```
 * @module
 */
export {
  LOG_LEVELS,
  type LogFields,
  type LogFormat,
  Logger,
  type LogLevel,
  type LogSink,
} from "./logger.ts";
export { keepRunning } from "./guard.ts";
