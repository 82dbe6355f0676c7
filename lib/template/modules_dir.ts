/**
 * Where the template worker's modules live. Deno loads a worker's modules with its parent's
 * permissions, so a process that renders needs to read these directories (and nothing else for
 * it): the template layer and the libraries it uses (YAML, the grains view, globs and addresses).
 * Kept apart from the renderer so that permission code can name them without loading nunjucks.
 * @module
 */

/** The directories of the template worker's modules. */
export const TEMPLATE_MODULES: readonly string[] = [
  "../template/",
  "../yaml/",
  "../grains/",
  "../target/",
]
  .map((dir) => new URL(dir, import.meta.url).pathname.replace(/\/$/, ""));
