/**
 * A run's renderer: the templates of one state run or settings compile, over one tree, with the
 * run's host, rendered by the process's {@linkcode TemplatePool}.
 * @module
 */
import type { TemplateHost } from "./host.ts";
import type { TemplateContext } from "./protocol.ts";
import { TemplateError } from "./template_error.ts";
import { RENDER_TIMEOUT_MS, type TemplatePool, templatePool, type TreeRef } from "./sandbox.ts";

/** The key a tree is kept under in the worker: the SHA-256 of its paths and texts. */
async function treeKey(files: ReadonlyMap<string, string>): Promise<string> {
  const entries = [...files].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(entries)),
  );
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Renders the templates of one tree for one run, with the run's host, in the worker of a
 * {@linkcode TemplatePool} (the process's by default). {@linkcode TemplateRenderer.close} (or
 * `using`) ends the run: its renders not yet done fail.
 */
export class TemplateRenderer implements Disposable {
  #files: () => ReadonlyMap<string, string>;
  #tree?: Promise<TreeRef>;
  readonly #host?: TemplateHost;
  readonly #timeoutMs: number;
  readonly #pool: TemplatePool;
  #closed = false;

  /**
   * A renderer over the tree `files` returns (called once, at the first template). `host` runs
   * the templates' commands and host-file reads (without it, those fail); a render still running
   * after `timeoutMs` (host calls included) ends the worker and fails.
   */
  constructor(
    files: () => ReadonlyMap<string, string>,
    opts: { host?: TemplateHost; timeoutMs?: number; pool?: TemplatePool } = {},
  ) {
    this.#files = files;
    this.#host = opts.host;
    this.#timeoutMs = opts.timeoutMs ?? RENDER_TIMEOUT_MS;
    this.#pool = opts.pool ?? templatePool();
  }

  /** Render `text`, read from `file`; rejects with a {@linkcode TemplateError}. */
  async render(text: string, file: string, context: TemplateContext): Promise<string> {
    // Without `{{`, `{%` or `{#` nunjucks would return the text as it is.
    if (!/\{[{%#]/.test(text)) return text;
    this.#tree ??= (async () => {
      const files = this.#files();
      return { key: await treeKey(files), files };
    })();
    const tree = await this.#tree;
    if (this.#closed) throw new TemplateError("the renderer was closed", file);
    return await this.#pool.render({
      run: this,
      tree,
      text,
      file,
      context,
      host: this.#host,
      timeoutMs: this.#timeoutMs,
    });
  }

  /** End the run: its renders not yet done fail. */
  close(): void {
    this.#closed = true;
    this.#pool.cancel(this, "the renderer was closed");
  }

  /** Same as {@linkcode TemplateRenderer.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
