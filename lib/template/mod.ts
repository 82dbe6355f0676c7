/**
 * Templates: Jinja-compatible rendering of state files with the context Salt users expect, in a
 * worker without permissions, reaching no JavaScript.
 * @module
 */
export type { CommandOptions, CommandResult, TemplateHost } from "./host.ts";
export * from "./sandbox.ts";
export * from "./renderer.ts";
export * from "./template_error.ts";
export type { TemplateContext } from "./protocol.ts";
export * from "./salt.ts";
