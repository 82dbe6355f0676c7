/**
 * The Zester version every component reports (`test.version`, `/healthz`).
 * @module
 */

/** This build's version; `deno.json` has the same (a test checks it). */
export const VERSION = "0.1.0";
