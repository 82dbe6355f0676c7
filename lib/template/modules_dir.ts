/**
 * Where the template worker's modules live. Deno loads a worker's modules with its parent's
 * permissions, so a process that renders needs to read this directory (and nothing else for
 * it). Kept apart from the renderer so that permission code can name it without loading
 * nunjucks.
 * @module
 */

/** The directory of the template worker's modules. */
export const TEMPLATE_MODULES = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
