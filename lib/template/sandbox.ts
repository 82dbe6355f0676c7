/**
 * Templates render in a Worker with no permissions: the second wall behind the safe lookups. A
 * template that got JavaScript anyway could read no file, run nothing, reach no host and touch
 * neither the broker nor NATS, which only the host holds. One worker serves a state run and ends
 * with it; it gets the state tree from the host in memory, so it needs no read permission.
 * @module
 */
import {
  type HostMessage,
  parseWorkerMessage,
  ProtocolError,
  type TemplateContext,
} from "./protocol.ts";
import { TemplateError } from "./template_error.ts";

const WORKER = new URL("./worker.ts", import.meta.url);

export { TEMPLATE_MODULES } from "./modules_dir.ts";

/**
 * Start `module` (the template worker by default) as a module worker with no permissions. Needs
 * Deno's `worker-options` unstable feature, which `deno.json` enables.
 */
export function startTemplateWorker(module: URL = WORKER): Worker {
  return new Worker(module, { type: "module", deno: { permissions: "none" } });
}

interface Pending {
  file: string;
  resolve(output: string): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** How long one render may take before the worker is ended: a template can loop forever. */
export const RENDER_TIMEOUT_MS = 60_000;

/**
 * Renders the templates of one state tree in a template worker, started at the first template
 * and ended by {@linkcode TemplateRenderer.close} (or `using`).
 */
export class TemplateRenderer implements Disposable {
  #files: () => ReadonlyMap<string, string>;
  #tree?: ReadonlyMap<string, string>;
  #worker?: Worker;
  #pending = new Map<number, Pending>();
  #next = 0;
  readonly #timeoutMs: number;

  /**
   * A renderer over the tree `files` returns (called once, when the worker starts); a render
   * still running after `timeoutMs` ends the worker and fails.
   */
  constructor(files: () => ReadonlyMap<string, string>, timeoutMs = RENDER_TIMEOUT_MS) {
    this.#files = files;
    this.#timeoutMs = timeoutMs;
  }

  /** Render `text`, read from `file`; rejects with a {@linkcode TemplateError}. */
  render(text: string, file: string, context: TemplateContext): Promise<string> {
    // Without `{{`, `{%` or `{#` nunjucks would return the text as it is.
    if (!/\{[{%#]/.test(text)) return Promise.resolve(text);
    const worker = this.#worker ??= this.#start();
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.#stop(`rendering took longer than ${this.#timeoutMs} ms`),
        this.#timeoutMs,
      );
      this.#pending.set(id, { file, resolve, reject, timer });
      worker.postMessage({ kind: "render", id, text, file, context } satisfies HostMessage);
    });
  }

  /** End the worker; renders still running fail. */
  close(): void {
    this.#stop("the renderer was closed");
  }

  /** Same as {@linkcode TemplateRenderer.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #start(): Worker {
    const worker = startTemplateWorker();
    worker.onmessage = (e) => this.#receive(e.data);
    worker.onerror = (e) => {
      // Handled here: unhandled, a worker's error would end this process.
      e.preventDefault();
      this.#stop(`the template worker failed: ${e.message}`);
    };
    worker.onmessageerror = () => this.#stop("the template worker sent an unreadable message");
    this.#tree = this.#files();
    worker.postMessage({ kind: "tree", files: this.#tree } satisfies HostMessage);
    return worker;
  }

  #receive(data: unknown): void {
    try {
      const msg = parseWorkerMessage(data);
      const p = this.#pending.get(msg.id);
      if (!p) throw new ProtocolError(`The template worker answered unknown request ${msg.id}`);
      if (msg.kind === "failed" && msg.file !== p.file && !this.#tree?.has(msg.file)) {
        throw new ProtocolError(`The template worker blamed "${msg.file}", not in the tree`);
      }
      this.#pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.kind === "rendered") p.resolve(msg.output);
      else p.reject(new TemplateError(msg.reason, msg.file, msg.line));
    } catch (e) {
      this.#stop((e as Error).message);
    }
  }

  #stop(reason: string): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new TemplateError(reason, p.file));
    }
    this.#pending.clear();
  }
}
