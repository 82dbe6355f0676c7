/**
 * A last line of defence for daemons: an exception or rejection nothing handled (a library
 * throwing from a deferred callback, say) is logged instead of ending the process, so one bad
 * input cannot take a master or peel down.
 * @module
 */
import type { Logger } from "./logger.ts";

/** Log and absorb unhandled errors and rejections for the rest of the process's life. */
export function keepRunning(log: Logger): void {
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log.error("unhandled rejection", { error: e.reason });
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    log.error("uncaught exception", { error: e.error ?? e.message });
  });
}
