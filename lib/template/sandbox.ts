/**
 * Templates render in a Worker with no permissions: the second wall behind the safe lookups. A
 * template that got JavaScript anyway could read no file, run nothing, reach no host and touch
 * neither the broker nor NATS, which only the host holds. The worker gets each tree from the host
 * in memory, so it needs no read permission. The commands, host files and basket entries templates
 * use are host calls: the host checks each and runs it through the {@linkcode TemplateHost} of the
 * run whose render made it (the broker, under its policy; NATS for the basket).
 *
 * A process keeps one worker ({@linkcode templatePool}): starting one costs about a second of CPU
 * and 17 MiB, more than a state run's renders. It renders one request at a time, so it holds one
 * run's context at a time; each tree is sent once and kept under a key (its content's SHA-256) for
 * later runs, a few at most. The worker ends when idle, and after a render that fails it (a
 * timeout, a crash, a message that breaks the protocol), which fails that render only: the renders
 * queued behind it go to a new worker.
 * @module
 */
import { runCall, type TemplateHost } from "./host.ts";
import {
  type CallAnswer,
  type HostMessage,
  parseWorkerMessage,
  ProtocolError,
  type TemplateContext,
  type WorkerMessage,
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

/** How long one render may take before the worker is ended: a template can loop forever. */
export const RENDER_TIMEOUT_MS = 60_000;

/** How long the worker outlives its last render, so that an idle process does not hold it. */
export const IDLE_MS = 30_000;

/** How many trees the worker keeps for later runs. */
export const KEPT_TREES = 4;

/** A tree as the pool sends it: file texts by path, under a key that names its content. */
export interface TreeRef {
  key: string;
  files: ReadonlyMap<string, string>;
}

/** One render, as a run asks it of the pool. */
export interface RenderRequest {
  /** The run the render belongs to: {@linkcode TemplatePool.cancel} ends its renders. */
  run: object;
  tree: TreeRef;
  text: string;
  file: string;
  context: TemplateContext;
  /** Runs the render's host calls; without it, they fail. */
  host?: TemplateHost;
  timeoutMs: number;
}

interface Queued extends RenderRequest {
  resolve(output: string): void;
  reject(e: Error): void;
}

interface Running {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
  /** The keys of the trees the worker holds, least recently used first. */
  trees: string[];
  /** Loaded, with its channel: a render's time limit starts then, not at the worker's start. */
  ready: boolean;
}

/**
 * One template worker shared by the runs of a process: renders requests in order, one at a time,
 * starting the worker at the first and ending it after `idleMs` without any.
 */
export class TemplatePool implements Disposable {
  #running?: Running;
  #queue: Queued[] = [];
  #current?: { id: number; request: Queued; timer?: ReturnType<typeof setTimeout> };
  #calling = false;
  #idle?: ReturnType<typeof setTimeout>;
  #next = 0;
  #starts = 0;
  readonly #idleMs: number;

  /** A pool whose worker ends after `idleMs` without a render. */
  constructor(opts: { idleMs?: number } = {}) {
    this.#idleMs = opts.idleMs ?? IDLE_MS;
  }

  /** How many workers this pool has started. */
  get starts(): number {
    return this.#starts;
  }

  /** Whether a worker is running. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Render `request`; rejects with a {@linkcode TemplateError}. */
  render(request: RenderRequest): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...request, resolve, reject });
      this.#dispatch();
    });
  }

  /** Fail the renders of `run` with `reason`: those queued at once, a running one when it ends. */
  cancel(run: object, reason: string): void {
    const fail = (q: Queued) => q.reject(new TemplateError(reason, q.file));
    for (const q of this.#queue.filter((q) => q.run === run)) fail(q);
    this.#queue = this.#queue.filter((q) => q.run !== run);
    const current = this.#current?.request;
    if (current?.run === run) {
      current.host = undefined;
      current.resolve = current.reject = () => fail(current);
    }
  }

  /** End the worker; every render fails. */
  close(): void {
    const queued = this.#queue;
    this.#queue = [];
    this.#fail("the template pool was closed");
    for (const q of queued) q.reject(new TemplateError("the template pool was closed", q.file));
  }

  /** Same as {@linkcode TemplatePool.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #dispatch(): void {
    if (this.#current) return;
    clearTimeout(this.#idle);
    const request = this.#queue.shift();
    if (!request) {
      if (this.#running) {
        this.#idle = setTimeout(() => this.#stop(), this.#idleMs);
        Deno.unrefTimer(this.#idle as unknown as number);
      }
      return;
    }
    const running = this.#running ??= this.#start();
    const { key, files } = request.tree;
    const at = running.trees.indexOf(key);
    if (at >= 0) running.trees.splice(at, 1);
    else {
      const drop = running.trees.splice(0, Math.max(0, running.trees.length + 1 - KEPT_TREES));
      running.worker.postMessage({ kind: "tree", key, files, drop } satisfies HostMessage);
    }
    running.trees.push(key);
    const id = ++this.#next;
    this.#current = { id, request, timer: running.ready ? this.#limit(request) : undefined };
    const { text, file, context } = request;
    running.worker.postMessage(
      { kind: "render", id, tree: key, text, file, context } satisfies HostMessage,
    );
  }

  /** The time limit of `request`, once it runs in a loaded worker. */
  #limit(request: Queued): ReturnType<typeof setTimeout> {
    return setTimeout(
      () => this.#fail(`rendering took longer than ${request.timeoutMs} ms`),
      request.timeoutMs,
    );
  }

  #start(): Running {
    this.#starts++;
    const worker = startTemplateWorker();
    worker.onmessage = (e) => this.#receive(worker, e.data);
    worker.onerror = (e) => {
      // Handled here: unhandled, a worker's error would end this process.
      e.preventDefault();
      if (worker === this.#running?.worker) this.#fail(`the template worker failed: ${e.message}`);
    };
    worker.onmessageerror = () => {
      if (worker === this.#running?.worker) {
        this.#fail("the template worker sent an unreadable message");
      }
    };
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    worker.postMessage(
      { kind: "channel", channel: { port: port2, signal } } satisfies HostMessage,
      [
        port2,
      ],
    );
    return { worker, port: port1, signal: new Int32Array(signal), trees: [], ready: false };
  }

  /** Run a host call for the current render and wake the worker with the answer. */
  async #call(
    running: Running,
    host: TemplateHost | undefined,
    msg: Extract<WorkerMessage, { kind: "call" }>,
  ): Promise<void> {
    let answer: CallAnswer;
    try {
      answer = { ok: true, value: await runCall(host, msg.fn, msg.args) };
    } catch (e) {
      answer = { ok: false, error: (e as Error).message };
    }
    // A worker stopped meanwhile (and perhaps replaced) waits for nothing.
    if (running !== this.#running) return;
    this.#calling = false;
    running.port.postMessage(answer);
    Atomics.store(running.signal, 0, 1);
    Atomics.notify(running.signal, 0);
  }

  #receive(worker: Worker, data: unknown): void {
    const running = this.#running;
    if (worker !== running?.worker) return;
    try {
      const msg = parseWorkerMessage(data);
      const current = this.#current;
      if (msg.kind === "ready") {
        running.ready = true;
        if (current) current.timer ??= this.#limit(current.request);
        return;
      }
      // Only the render running may answer or call: no render reaches another run's host.
      if (msg.id !== current?.id) {
        throw new ProtocolError(
          `The template worker answered request ${msg.id}, not the current one`,
        );
      }
      const { request } = current;
      if (msg.kind === "call") {
        // The worker waits for each answer: a second call at once breaks the protocol.
        if (this.#calling) throw new ProtocolError("The template worker made two calls at once");
        this.#calling = true;
        void this.#call(running, request.host, msg);
        return;
      }
      if (msg.kind === "failed" && msg.file !== request.file && !request.tree.files.has(msg.file)) {
        throw new ProtocolError(`The template worker blamed "${msg.file}", not in the tree`);
      }
      clearTimeout(current.timer);
      this.#current = undefined;
      if (msg.kind === "rendered") request.resolve(msg.output);
      else request.reject(new TemplateError(msg.reason, msg.file, msg.line));
      this.#dispatch();
    } catch (e) {
      this.#fail((e as Error).message);
    }
  }

  /** End the worker and fail the render it was on with `reason`; the queue goes on. */
  #fail(reason: string): void {
    const current = this.#current;
    this.#current = undefined;
    this.#stop();
    if (current) {
      clearTimeout(current.timer);
      current.request.reject(new TemplateError(reason, current.request.file));
    }
    this.#dispatch();
  }

  #stop(): void {
    clearTimeout(this.#idle);
    this.#running?.worker.terminate();
    this.#running?.port.close();
    this.#running = undefined;
    this.#calling = false;
  }
}

let shared: TemplatePool | undefined;

/** The process's template pool, which its state runs and settings compiles share. */
export function templatePool(): TemplatePool {
  return shared ??= new TemplatePool();
}
