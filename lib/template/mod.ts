/**
 * Templates: Jinja-compatible rendering of state files with the context Salt users expect.
 * @module
 */
export * from "./render.ts";
